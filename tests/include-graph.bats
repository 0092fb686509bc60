#!/usr/bin/env bats
# The source tree's shape (dev/check-includes): each module's headers
# include no cycle, and no header holds a function body.

load helper

@test "the include graph of the project's modules has no cycle, and headers hold no code" {
  cd "$ROOT"
  run dev/check-includes
  [ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "check-includes finds a cycle and a function body in a header" {
  d=$BATS_TEST_TMPDIR/tree
  mkdir -p "$d"
  printf '#include "b.h"\nint a(void);\n' > "$d/a.h"
  printf '#include "a.h"\nint b(void);\n' > "$d/b.h"
  printf '#include "a.h"\nint a(void)\n{\n  return 0;\n}\n' > "$d/a.c"
  printf 'static int c(void)\n{\n  return 1;\n}\n' > "$d/c.h"
  cd "$d"
  run "$ROOT/dev/check-includes"
  [ "$status" -eq 1 ]
  [[ "$output" == *"include cycle among a, b"* ]]
  [[ "$output" == *"c.h: a function body in a header"* ]]
}
