#!/usr/bin/env bats
# rspamd against a real rspamd (Debian's) started once for this file on
# 127.$QPT_NET.88.1 with a minimal configuration of its own: no module
# that looks anything up (its resolver points at 127.$QPT_NET.88.3, where
# nothing listens), no Redis, a three-entry TLD list (the full one takes
# rspamd a minute to compile), GTUBE on, and one Lua rule: a message's
# X-Test-Score adds that many points, X-Test-Action: soft asks for a soft
# reject, and every message gets an X-Test-Seen field (through rspamd's
# milter add_headers) saying what rspamd was told of the envelope.

load helper
load scanners

RSADDR=127.$QPT_NET.88.1

setup_file() {
  export RSDIR
  RSDIR=$(mktemp -d /tmp/qp-rspamd.XXXXXX)
  mkdir -p "$RSDIR/db"
  printf 'com\norg\nexample\n' > "$RSDIR/tld.dat"
  cat > "$RSDIR/rspamd.conf" <<EOF
options {
  pidfile = "$RSDIR/rspamd.pid";
  dbdir = "$RSDIR/db";
  hs_cache_dir = "$RSDIR/db";
  url_tld = "$RSDIR/tld.dat";
  filters = "";
  gtube_patterns = "all";
  dns { nameserver = ["127.$QPT_NET.88.3:53"]; timeout = 0.2s; retransmits = 1; }
}
logging { type = "file"; filename = "$RSDIR/rspamd.log"; level = "notice"; }
worker "normal" { bind_socket = "$RSADDR:11333"; count = 1; task_timeout = 5s; }
actions { reject = 15; rewrite_subject = 10; "add header" = 6; greylist = 4; subject = "[rspamd] %s"; }
lua = "$RSDIR/rules.lua";
EOF
  cat > "$RSDIR/rules.lua" <<'EOF'
rspamd_config:register_symbol({
  name = 'QP_TEST_SCORE', score = 1.0,
  callback = function(task)
    local v = task:get_header('X-Test-Score')
    if v and tonumber(v) then task:insert_result('QP_TEST_SCORE', tonumber(v)) end
    if task:get_header('X-Test-Action') == 'soft' then task:set_pre_result('soft reject', 'come back later') end
    local rcpts = {}
    for _, r in ipairs(task:get_recipients('smtp') or {}) do table.insert(rcpts, r.addr) end
    local from = task:get_from('smtp')
    task:set_milter_reply({ add_headers = { ['X-Test-Seen'] = string.format('from=%s rcpt=%s ip=%s helo=%s user=%s',
      from and from[1] and from[1].addr or '', table.concat(rcpts, ','), tostring(task:get_ip()),
      task:get_helo() or '', task:get_user() or '') } })
  end
})
EOF
  chown -R _rspamd "$RSDIR/db"
  chmod -R a+rX "$RSDIR"
  rspamd -f -u _rspamd -g _rspamd -c "$RSDIR/rspamd.conf" > "$RSDIR/out" 2>&1 3>&- &
  echo $! > "$RSDIR/pid"
  for _ in $(seq 300); do
    kill -0 "$(cat "$RSDIR/pid")" 2> /dev/null || break
    (exec 3<> "/dev/tcp/$RSADDR/11333") 2> /dev/null && return 0
    sleep 0.1
  done
  echo "rspamd did not start: $(tail -5 "$RSDIR/out" "$RSDIR/rspamd.log")" >&2
  return 1
}

teardown_file() {
  local pid i
  pid=$(cat "$RSDIR/pid")
  kill "$pid" 2> /dev/null || true
  for i in $(seq 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
  rm -rf "$RSDIR"
}

setup() {
  mkcfg
  SLOWPID=
}

teardown() {
  if [ -n "$SLOWPID" ]; then kill "$SLOWPID" 2> /dev/null || true; fi
}

rs_chain() {
  build_chain "rs-$1" <<EOF
rcpt_ok
rspamd rspamd_socket $RSADDR:11333 timeout 5 $2
queue/qmail-queue
EOF
}

@test "rspamd: GTUBE is rejected with rspamd's message and not queued" {
  QP=$(rs_chain default "")
  BODY="$GTUBE" message carol@example.com
  smtp "$QP"
  assert_equal "$(final)" "552 5.7.1 Gtube pattern"
  [ "$(queued)" = 0 ]
  grep -q 'rspamd: deny, reject 15.00 15.00' "$ERR"
}

@test "rspamd: a clean message is queued with the score, the symbols and what rspamd was told" {
  QP=$(rs_chain default "")
  HDRS=$'X-Test-Score: 2.5\r\nX-Rspamd-Score: 0.00 / 99.00\r\n' BODY="just a note" message carol@example.com dave@example.com
  smtp "$QP"
  [ "$(queued)" = 1 ]
  f=$(msgfile)
  grep -qx 'X-Rspamd-Score: 2.50 / 15.00' "$f"
  [ "$(grep -c '^X-Rspamd-Score:' "$f")" = 1 ]
  grep -qx 'X-Rspamd-Symbols: QP_TEST_SCORE(2.50)' "$f"
  grep -qx 'X-Test-Seen: from=alice@sender.example rcpt=carol@example.com,dave@example.com ip=192.0.2.1 helo=c.example user=' "$f"
  ! grep -q '^X-Spam:' "$f" || false
  grep -q 'rspamd: pass, no action 2.50 15.00' "$ERR"
}

@test "rspamd: greylist and soft reject give 452, add header X-Spam, rewrite subject rspamd's Subject" {
  QP=$(rs_chain default "")
  HDRS=$'X-Test-Score: 5\r\n' BODY="x" message carol@example.com
  smtp "$QP"
  assert_equal "$(final)" "452 4.7.1 Greylisted, try again later"
  HDRS=$'X-Test-Action: soft\r\n' BODY="x" message carol@example.com
  smtp "$QP"
  assert_equal "$(final)" "452 4.7.1 come back later"
  [ "$(queued)" = 0 ]
  HDRS=$'X-Test-Score: 7\r\n' BODY="x" message carol@example.com
  smtp "$QP"
  grep -qx 'X-Spam: Yes' "$(msgfile)"
  grep -qx 'Subject: hello' "$(msgfile)"
  rm -f "$FAKEQ_DIR"/*
  HDRS=$'X-Test-Score: 11\r\n' BODY="x" message carol@example.com
  smtp "$QP"
  assert_equal "$(grep '^Subject:' "$(msgfile)")" 'Subject: [rspamd] hello'
  [ "$(grep -c '^Subject:' "$(msgfile)")" = 1 ]
  grep -qx 'X-Spam: Yes' "$(msgfile)"
}

@test "rspamd: reject no, greylist no, and a score of our own (reject 6, reject_type temp)" {
  QP=$(rs_chain lax "reject no greylist no")
  BODY="$GTUBE" message carol@example.com
  smtp "$QP"
  [ "$(queued)" = 1 ]
  grep -qx 'X-Spam: Yes' "$(msgfile)"
  rm -f "$FAKEQ_DIR"/*
  HDRS=$'X-Test-Score: 5\r\n' BODY="x" message carol@example.com
  smtp "$QP"
  [ "$(queued)" = 1 ]
  QP=$(rs_chain six "reject 6 reject_type temp")
  HDRS=$'X-Test-Score: 7\r\n' BODY="x" message carol@example.com
  smtp "$QP"
  assert_equal "$(final)" "452 4.7.1 Spam message rejected, try again later"
}

@test "rspamd down: on_error pass queues unscanned, on_error defer says 452" {
  QP=$(build_chain rs-down <<EOF
rcpt_ok
rspamd rspamd_socket 127.$QPT_NET.88.2:11333
queue/qmail-queue
EOF
)
  BODY="$GTUBE" message carol@example.com
  smtp "$QP"
  [ "$(queued)" = 1 ]
  ! grep -q '^X-Rspamd' "$(msgfile)" || false
  grep -q 'rspamd: pass, not scanned, cannot connect to rspamd' "$ERR"
  rm -f "$FAKEQ_DIR"/*
  QP=$(build_chain rs-down-defer <<EOF
rcpt_ok
rspamd rspamd_socket 127.$QPT_NET.88.2:11333 on_error defer
queue/qmail-queue
EOF
)
  smtp "$QP"
  assert_equal "$(final)" "452 4.3.0 spam scanner unavailable, try again later"
  [ "$(queued)" = 0 ]
}

@test "rspamd: an rspamd that never answers costs the timeout, not a hang" {
  silent_server 127.$QPT_NET.88.2 11334
  QP=$(build_chain rs-slow <<EOF
rcpt_ok
rspamd rspamd_socket 127.$QPT_NET.88.2:11334 timeout 1 on_error defer
queue/qmail-queue
EOF
)
  BODY="x" message carol@example.com
  start=$(date +%s%N)
  smtp "$QP"
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  assert_equal "$(final)" "452 4.3.0 spam scanner unavailable, try again later"
  grep -q 'rspamd timed out' "$ERR"
  [ "$ms" -lt 5000 ]
}

@test "bad rspamd arguments fail the build" {
  run build_chain rs-bad <<< 'rspamd reject maybe'
  assert_failure
  assert_output --partial 'reject takes action, no or a score'
  run build_chain rs-bad2 <<< 'rspamd greylist perhaps'
  assert_failure
  assert_output --partial 'takes yes or no: greylist'
}
