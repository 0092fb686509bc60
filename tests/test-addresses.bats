#!/usr/bin/env bats
# tests/run runs three test files at once, so two files must never start
# servers on the same loopback address: each file that binds addresses
# 127.$QPT_NET.N.x has its N to itself. (plugins-session.bats only points
# DNSCACHEIP at 127.$QPT_NET.61.4, where nothing listens.)

load helper

@test "no two test files use the same 127.\$QPT_NET.N block" {
  cd "$BATS_TEST_DIRNAME"
  run bash -c "grep -o '127\\.\\\$QPT_NET\\.[0-9]*\\.' *.bats *.bash | grep -v -e '^plugins-session.bats:' -e '^test-addresses.bats:' \
    | sed 's/:127\\.\\\$QPT_NET\\./ /; s/\\.\$//' | sort -u | awk '{ n[\$2]++; f[\$2] = f[\$2] \" \" \$1 }
      END { for (k in n) if (n[k] > 1) print \"127.\$QPT_NET.\" k \".x:\" f[k] }'"
  assert_success
  assert_output ''
}
