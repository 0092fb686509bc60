#!/usr/bin/env bats
# The plugins file as the build reads it (make-plugintab): what it accepts,
# and the errors, each naming the file and line.

load helper

setup() {
  D=$BATS_TEST_TMPDIR/p
  mkdir -p "$D"
}

# gen FILE: runs make-plugintab from the source tree; output and errors in
# $output
gen() {
  run bash -c 'cd "$1" && ./make-plugintab "$2"' _ "$ROOT" "$1"
}

# the plugins of a generated table, one "name argc" a line
chain_of() {
  sed -n 's/^  { &plugin_[^,]*, "\([^"]*\)", \([0-9]*\), .*/\1 \2/p'
}

@test "a plugins file that includes itself fails the build, naming the file and line" {
  printf 'relay\n$include plugins\nrcpt_ok\n' > "$D/plugins"
  run make -s -C "$ROOT" BIN="$TB/qp-ptab-loop" PLUGINS="$D/plugins"
  assert_failure
  assert_output --partial "$D/plugins:2: \$include loop: $D/plugins is already being read"
  [ ! -e "$TB/qp-ptab-loop" ]
}

@test "an include loop through two files and an over-deep nesting are refused" {
  printf 'relay\n$include b\n' > "$D/a"
  printf '# b\n\n$include a\n' > "$D/b"
  gen "$D/a"
  assert_failure
  assert_output "$D/b:3: \$include loop: $D/a is already being read"
  for i in 1 2 3 4 5 6 7 8 9; do printf '$include n%d\n' $((i + 1)) > "$D/n$i"; done
  echo relay > "$D/n10"
  gen "$D/n1"
  assert_failure
  assert_output --partial "$D/n8:1: \$include nested too deeply (the limit is 8 files): $D/n9"
  rm "$D/n1" "$D/n2"
  gen "$D/n3"
  assert_success
  [ "$(chain_of <<< "$output")" = "relay 0" ]
}

@test "an \$include that cannot be read fails the build instead of building a shorter chain" {
  printf 'relay\n$include missing\nrcpt_ok\n' > "$D/plugins"
  run make -s -C "$ROOT" BIN="$TB/qp-ptab-missing" PLUGINS="$D/plugins"
  assert_failure
  assert_output --partial "$D/plugins:2: \$include: cannot read $D/missing: No such file or directory"
  [ ! -e "$TB/qp-ptab-missing" ]
}

@test "an over-long line is refused with its file and line" {
  { echo relay; echo '# fine'; printf 'rcpt_ok %5000s\n' x; } > "$D/plugins"
  gen "$D/plugins"
  assert_failure
  assert_output "$D/plugins:3: line too long (the limit is 4096 bytes)"
}

@test "control and 8-bit bytes in a plugin line are refused, in comments they are not" {
  printf '$include inc\n' > "$D/plugins"
  printf '# caf\xc3\xa9 \x01 in a comment\nrelay caf\xc3\xa9\n' > "$D/inc"
  gen "$D/plugins"
  assert_failure
  assert_output "$D/inc:2: unsafe characters in plugins line"
  printf 'relay\nrcpt_ok a\x01b\n' > "$D/inc"
  gen "$D/plugins"
  assert_output "$D/inc:2: unsafe characters in plugins line"
  printf '# caf\xc3\xa9 \x01\nrelay\r\n' > "$D/inc"
  gen "$D/plugins"
  assert_success
  [ "$(chain_of <<< "$output")" = "relay 0" ]
}

@test "an unknown plugin or a bad name in an included file names that file and line" {
  printf 'relay\n$include sub/more\n' > "$D/plugins"
  mkdir "$D/sub"
  printf 'rcpt_ok\n\nno_such_plugin x\n' > "$D/sub/more"
  gen "$D/plugins"
  assert_failure
  assert_output "$D/sub/more:3: unknown plugin \"no_such_plugin\" (there is no plugins/no_such_plugin.c)"
  printf 'rcpt_ok\nrcpt.ok\n' > "$D/sub/more"
  gen "$D/plugins"
  assert_output "$D/sub/more:2: bad plugin name \"rcpt.ok\""
}

@test "more than 128 arguments on a line are refused" {
  { printf 'relay'; printf ' a%.0s' $(seq 128); echo; } > "$D/plugins"
  gen "$D/plugins"
  assert_success
  [ "$(chain_of <<< "$output")" = "relay 128" ]
  { printf 'relay'; printf ' a%.0s' $(seq 129); echo; } > "$D/plugins"
  gen "$D/plugins"
  assert_failure
  assert_output "$D/plugins:1: too many arguments (the limit is 128)"
}

@test "\$include of a directory reads its files in name order, without dot files" {
  mkdir "$D/d"
  echo rcpt_ok > "$D/d/20-rcpt"
  echo relay > "$D/d/10-relay"
  echo no_such_plugin > "$D/d/.hidden"
  mkdir "$D/d/subdir"
  printf 'tls\n$include d/\nqueue/qmail-queue\n' > "$D/plugins"
  gen "$D/plugins"
  assert_success
  [ "$(chain_of <<< "$output" | paste -sd,)" = "tls 0,relay 0,rcpt_ok 0,queue/qmail-queue 0" ]
}

@test "tabs separate arguments, and backslashes, quotes and ?? reach the plugin as written" {
  mkcfg
  bin=$(printf 'tests/return_code\trcpt DENY\t\tno \\\\x\\n "q" ??/ ??= a\\ # comment\r\nrcpt_ok\n' | build_chain ptab-args)
  run "$bin" -V
  assert_success
  assert_line 'tests/return_code rcpt DENY no \\x\n "q" ??/ ??= a\'
  printf 'HELO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\nQUIT\r\n' > "$IN"
  smtp "$bin"
  tr -d '\r' < "$OUT" | grep -Fx '550 5.7.1 no \\x\n "q" ??/ ??= a\'
}
