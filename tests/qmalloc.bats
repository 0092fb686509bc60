#!/usr/bin/env bats
# qmalloc.c, the allocator of the static musl build: the normal cases
# (sizes, alignment, reuse of freed blocks, realloc, calloc, overflow,
# growth past the static arena) and the misuses it must stop by aborting
# rather than hand out corrupted memory. Built here with musl-gcc, as the
# daemon is; glibc builds (make sanitize, make hardened) do not use it.

setup_file() {
  command -v musl-gcc > /dev/null || skip "musl-gcc not installed"
  musl-gcc -static -O1 -Wall -Wextra -Werror -Wno-use-after-free -Wno-free-nonheap-object \
    -Wno-alloc-size-larger-than -o "$BATS_FILE_TMPDIR/qmt" tests/unit/qmalloc_test.c qmalloc.c
}

@test "allocator: every size is usable and aligned, freed blocks are reused, realloc and calloc keep their promises" {
  run "$BATS_FILE_TMPDIR/qmt"
  [ "$status" -eq 0 ]
  [ "$output" = ok ]
}

misuse() {
  run "$BATS_FILE_TMPDIR/qmt" "$1"
  [ "$status" -eq 134 ]                  # SIGABRT
  [[ "$output" != *"not stopped"* ]]
}

@test "heap attack: a double free aborts the process" { misuse double-free; }
@test "heap attack: freeing a pointer into the middle of a block aborts" { misuse bad-pointer; }
@test "heap attack: a use-after-free that overwrites a free-list link aborts at the next allocation" { misuse uaf-link; }
@test "heap attack: realloc of a freed block aborts" { misuse realloc-freed; }
