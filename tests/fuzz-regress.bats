#!/usr/bin/env bats
# The fuzz harnesses (fuzz/fuzz_*.c) as regression tests: make fuzz-regress
# builds each without libFuzzer, with ASan and UBSan, and runs it over its
# seed corpus (fuzz/corpus/NAME/) and over fuzz/regress/NAME/, where an
# input that once made a harness fail is kept after the fix. Fuzzing
# itself is make fuzz.

load helper

setup() {
  command -v clang > /dev/null || skip "no clang"
}

@test "every fuzz harness passes over its seed corpus and the inputs that once failed" {
  # -j2: the harnesses' objects (clang -O0 with ASan) are the suite's
  # longest build
  run flock "$TB/.lock" make -s -j2 -C "$ROOT" fuzz-regress
  assert_success
  local h n
  for h in "$ROOT"/fuzz/fuzz_*.c; do
    h=$(basename "$h" .c)
    n=$(ls "$ROOT/fuzz/corpus/${h#fuzz_}" | wc -l)
    [ -d "$ROOT/fuzz/regress/${h#fuzz_}" ] && n=$((n + $(ls "$ROOT/fuzz/regress/${h#fuzz_}" | wc -l)))
    [ "$n" -gt 0 ]
    assert_line "fuzz/bin/regress/$h: $n inputs ok"
  done
  assert_line --partial "fuzz_control: "
  assert_line --partial "fuzz_postdrop: "
}

@test "the regression runner names the input that made a harness abort or overread" {
  local d=$BATS_TEST_TMPDIR
  mkdir -p "$d/in"
  printf 'fine' > "$d/in/a-fine"
  printf 'boom' > "$d/in/b-boom"
  printf 'over' > "$d/over"
  cat > "$d/h.c" <<'C'
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
  if (n == 4 && !memcmp(d, "boom", 4)) abort();
  if (n == 4 && !memcmp(d, "over", 4)) return d[n];
  return 0;
}
C
  clang -g -O0 -fsanitize=address,undefined -o "$d/h" "$d/h.c" "$ROOT/fuzz/regress_main.c"
  run "$d/h" "$d/in/a-fine"
  assert_success
  assert_output --partial "1 inputs ok"
  run "$d/h" "$d/in"
  assert_failure
  assert_output --partial "fuzz-regress: failed on $d/in/b-boom"
  run "$d/h" "$d/in/a-fine" "$d/over"
  assert_failure
  assert_output --partial "heap-buffer-overflow"
  assert_output --partial "fuzz-regress: failed on $d/over"
  run "$d/h" "$d/missing"
  assert_failure
}
