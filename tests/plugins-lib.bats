#!/usr/bin/env bats
# plugins/lib/ (and plugins/tests/lib/) hold code the plugins share, built
# into the plugins archive: the plugins file cannot name it as a plugin.

load helper

@test "a helper under plugins/lib/ named as a plugin fails the build, naming the file and line" {
  D=$BATS_TEST_TMPDIR/p
  mkdir -p "$D"
  printf 'relay\nlib/badlist\n' > "$D/plugins"
  run bash -c 'cd "$1" && ./make-plugintab "$2"' _ "$ROOT" "$D/plugins"
  [ "$status" -ne 0 ]
  [ "$output" = "$D/plugins:2: \"lib/badlist\" is not a plugin (lib/ holds the plugins' helpers)" ]
  printf 'tests/lib/hookcode\n' > "$D/plugins"
  run bash -c 'cd "$1" && ./make-plugintab "$2"' _ "$ROOT" "$D/plugins"
  [ "$status" -ne 0 ]
  [[ "$output" == *'"tests/lib/hookcode" is not a plugin'* ]]
}
