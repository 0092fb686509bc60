#!/usr/bin/env bats
# spamassassin against a real spamd (Debian's spamd) started once for this
# file on 127.0.0.1 with local rules only (-L, its own rules directory: the
# GTUBE pattern, a word worth 8 points, required_score 5) and per-user
# preferences (-x --virtual-config-dir): bob@example.com requires 20.

load helper
load scanners
load dnsservers

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

setup_file() {
  export SADIR SAPORT
  SADIR=$(mktemp -d /tmp/qp-spamd.XXXXXX)
  mkdir -p "$SADIR/rules" "$SADIR/users/bob@example.com"
  echo 'loadplugin Mail::SpamAssassin::Plugin::Check' > "$SADIR/rules/init.pre"
  cat > "$SADIR/rules/local.cf" <<'CF'
required_score 5
use_bayes 0
report_safe 0
body_part_scan_size 0
body GTUBE_TEST /XJS\*C4JDBQADN1\.NSBN3\*2IDNEN\*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL\*C\.34X/
score GTUBE_TEST 1000
body CHEAP_WATCHES /\bcheapwatches\b/
score CHEAP_WATCHES 8
add_header spam Flag _YESNOCAPS_
add_header all Status "_YESNO_, score=_SCORE_ required=_REQD_ tests=_TESTS_ autolearn=_AUTOLEARN_ version=_VERSION_"
add_header all Level _STARS(*)_
CF
  echo 'required_score 20' > "$SADIR/users/bob@example.com/user_prefs"
  chmod -R a+rX "$SADIR"
  for _ in 1 2 3; do
    SAPORT=$(free_port)
    spamd -C "$SADIR/rules" --siteconfigpath "$SADIR/rules" -L -x --virtual-config-dir="$SADIR/users/%u" \
      -u nobody --listen="127.0.0.1:$SAPORT" -m 2 --syslog=stderr > "$SADIR/log" 2>&1 3>&- &
    echo $! > "$SADIR/pid"
    for _ in $(seq 300); do
      kill -0 "$(cat "$SADIR/pid")" 2> /dev/null || break
      python3 -c "import socket; socket.create_connection(('127.0.0.1', $SAPORT), 1)" 2> /dev/null && return 0
      sleep 0.1
    done
    kill "$(cat "$SADIR/pid")" 2> /dev/null || true
  done
  echo "spamd did not start: $(tail -5 "$SADIR/log")" >&2
  return 1
}

teardown_file() {
  stop_dns_servers
  kill "$(cat "$SADIR/pid")" 2> /dev/null || true
  rm -rf "$SADIR"
}

setup() {
  mkcfg
  SLOWPID=
}

teardown() {
  if [ -n "$SLOWPID" ]; then kill "$SLOWPID" 2> /dev/null || true; fi
}

sa_chain() {
  build_chain "sa-$1" <<EOF
rcpt_ok
spamassassin spamd_socket 127.0.0.1:$SAPORT $2
queue/qmail-queue
EOF
}

@test "spamassassin: GTUBE is rejected at reject 12 and not queued" {
  QP=$(sa_chain reject12 "reject 12")
  BODY="$GTUBE" message carol@example.com
  smtp "$QP"
  [ "$(final)" = "552 5.6.1 spam score exceeded threshold" ]
  [ "$(queued)" = 0 ]
  grep -q 'spamassassin: deny, Spam, Yes 100[0-9].[0-9] 5.0, user carol@example.com' "$ERR"
}

@test "spamassassin: ham is queued with spamd's X-Spam-Status and X-Spam-Level" {
  QP=$(sa_chain reject12 "reject 12")
  BODY="just a note" message carol@example.com
  smtp "$QP"
  [ "$(queued)" = 1 ]
  grep -q '^X-Spam-Status: No, score=[-0-9.]* required=5.0' "$(msgfile)"
  grep -q '^X-Spam-Level: ' "$(msgfile)"
  ! grep -q '^X-Spam-Flag' "$(msgfile)" || false
  grep -q '^just a note$' "$(msgfile)"
}

@test "spamassassin: reject userprefs takes the recipient's required_score from spamd" {
  QP=$(sa_chain userprefs "reject userprefs")
  BODY="buy cheapwatches now" message carol@example.com
  smtp "$QP"
  [ "$(final)" = "552 5.6.1 spam score exceeded threshold" ]
  [ "$(queued)" = 0 ]
  BODY="buy cheapwatches now" message bob@example.com
  smtp "$QP"
  [ "$(queued)" = 1 ]
  grep -q '^X-Spam-Status: No, score=8.0 required=20.0' "$(msgfile)"
  grep -q 'pass, Ham, No 8.0 20.0, user bob@example.com' "$ERR"
}

@test "spamassassin: several recipients use spamd_user and get X-Spam-User" {
  QP=$(sa_chain multi "reject userprefs spamd_user scanner")
  BODY="buy cheapwatches now" message bob@example.com carol@example.com
  smtp "$QP"
  [ "$(final)" = "552 5.6.1 spam score exceeded threshold" ]
  grep -q 'user scanner$' "$ERR"
  QP=$(sa_chain multi0 "spamd_user scanner")
  smtp "$QP"
  grep -q '^X-Spam-User: scanner, 2 recipients$' "$(msgfile)"
}

@test "spamassassin: a recipient's spamassassin_reject_threshold (aliases) wins, the highest of several" {
  QP=$(build_chain sa-aliases <<EOF
aliases
rcpt_ok
spamassassin spamd_socket 127.0.0.1:$SAPORT reject 5
queue/qmail-queue
EOF
)
  printf 'tolerant@example.com: carol@example.com (spamassassin_reject_threshold=30)\nstrict@example.com: dave@example.com (spamassassin_reject_threshold=6)\n' > "$CFG/aliases"
  BODY="buy cheapwatches now" message tolerant@example.com
  smtp "$QP"
  [ "$(queued)" = 1 ]
  grep -q '^X-Spam-Flag: YES' "$(msgfile)"
  BODY="buy cheapwatches now" message strict@example.com
  smtp "$QP"
  [ "$(final)" = "552 5.6.1 spam score exceeded threshold" ]
  BODY="buy cheapwatches now" message strict@example.com tolerant@example.com
  smtp "$QP"
  [ "$(queued)" = 2 ]
}

@test "spamassassin: a client's spamassassin_reject_threshold (client_options) applies" {
  QP=$(build_chain sa-copt <<EOF
client_options
rcpt_ok
spamassassin spamd_socket 127.0.0.1:$SAPORT
queue/qmail-queue
EOF
)
  echo '192.0.2.1 spamassassin_reject_threshold=7' > "$CFG/client_options"
  BODY="buy cheapwatches now" message carol@example.com
  smtp "$QP"
  [ "$(final)" = "552 5.6.1 spam score exceeded threshold" ]
  smtp "$QP" TCPREMOTEIP=198.51.100.1
  [ "$(queued)" = 1 ]
}

@test "spamassassin: munge_subject_threshold prefixes the Subject with subject_prefix" {
  QP=$(sa_chain munge "munge_subject_threshold 5")
  echo '[SPAM]' > "$CFG/subject_prefix"
  BODY="buy cheapwatches now" message carol@example.com
  smtp "$QP"
  [ "$(queued)" = 1 ]
  [ "$(grep -c '^Subject:' "$(msgfile)")" = 1 ]
  grep -q '^Subject: \[SPAM\] hello$' "$(msgfile)"
  BODY="a note" message carol@example.com
  rm -f "$FAKEQ_DIR"/*
  smtp "$QP"
  grep -q '^Subject: hello$' "$(msgfile)"
}

@test "spamassassin: Perl's headers none adds no X-Spam field, the score still rejects; subject_prefix as an argument wins over the file" {
  QP=$(sa_chain noheaders "reject 12 headers none munge_subject_threshold 5 subject_prefix [SA]")
  echo '[FILE]' > "$CFG/subject_prefix"
  BODY="buy cheapwatches now" message carol@example.com
  smtp "$QP"
  [ "$(queued)" = 1 ]
  ! grep -q '^X-Spam-' "$(msgfile)" || false
  grep -q '^Subject: \[SA\] hello$' "$(msgfile)"
  grep -q 'spamassassin: pass, Spam, Yes 8.0 5.0, user carol@example.com' "$ERR"
  BODY="$GTUBE" message carol@example.com
  smtp "$QP"
  [ "$(final)" = "552 5.6.1 spam score exceeded threshold" ]
}

@test "spamassassin: spamd_socket with a host name (Perl's spamd.host:port) is looked up through the resolver; localhost needs no lookup" {
  local ip=127.$QPT_NET.87.1
  echo 'address=/spamd.test/127.0.0.1' > "$BATS_TEST_TMPDIR/dns.conf"
  start_dnsmasq "$ip" "$BATS_TEST_TMPDIR/dns.conf"
  QP=$(sa_chain byname "spamd_socket spamd.test:$SAPORT")
  BODY="just a note" message carol@example.com
  smtp "$QP" DNSCACHEIP=$ip
  [ "$(queued)" = 1 ]
  grep -q '^X-Spam-Status: No, score=' "$(msgfile)"
  rm -f "$FAKEQ_DIR"/*
  QP=$(sa_chain nxname "spamd_socket nospamd.test:$SAPORT")
  smtp "$QP" DNSCACHEIP=$ip
  grep -q 'spamassassin: .*cannot connect to spamd' "$ERR"
  ! grep -q '^X-Spam-Status' "$(msgfile)" || false
  rm -f "$FAKEQ_DIR"/*
  QP=$(sa_chain localhost "spamd_socket localhost:$SAPORT")
  smtp "$QP" DNSCACHEIP=127.0.0.2
  grep -q '^X-Spam-Status: No, score=' "$(msgfile)"
}

@test "spamassassin: X-Spam fields the client sent are renamed, not trusted" {
  QP=$(sa_chain reject12 "reject 12")
  HDRS=$'X-Spam-Status: No, score=-100 forged\r\nX-Spam-Flag: NO\r\n' BODY="buy cheapwatches now" message carol@example.com
  smtp "$QP"
  [ "$(grep -c '^X-Spam-Status:' "$(msgfile)")" = 1 ]
  grep -q '^X-Spam-Status: Yes, score=8.0' "$(msgfile)"
  grep -q '^X-Old-Spam-Status: No, score=-100 forged' "$(msgfile)"
  grep -q '^X-Old-Spam-Flag: NO' "$(msgfile)"
  grep -q '^X-Spam-Flag: YES' "$(msgfile)"
}

@test "spamassassin: a message from the spool file is streamed whole (GTUBE at the end of 300 kB)" {
  QP=$(sa_chain big "reject 12 size_limit 1000000")
  echo 1000 > "$CFG/size_threshold"
  BODY="$(head -c 300000 /dev/zero | tr '\0' 'a' | fold -w 70 | sed 's/$/\r/')"$'\n'"$GTUBE" message carol@example.com
  smtp "$QP"
  [ "$(final)" = "552 5.6.1 spam score exceeded threshold" ]
}

@test "spamassassin: messages over size_limit are not scanned" {
  QP=$(sa_chain small "reject 12 size_limit 50")
  BODY="$GTUBE" message carol@example.com
  smtp "$QP"
  [ "$(queued)" = 1 ]
  ! grep -q '^X-Spam' "$(msgfile)" || false
  grep -q 'spamassassin: skip, too large' "$ERR"
}

@test "spamassassin: spamd down passes the mail, or answers 452 with on_error defer" {
  port=$(free_port)
  QP=$(build_chain sa-down <<EOF
rcpt_ok
spamassassin spamd_socket 127.0.0.1:$port reject 12
queue/qmail-queue
EOF
)
  BODY="$GTUBE" message carol@example.com
  smtp "$QP"
  [ "$(queued)" = 1 ]
  grep -q 'spamassassin: pass, not scanned, cannot connect to spamd' "$ERR"
  QP=$(build_chain sa-down-defer <<EOF
rcpt_ok
spamassassin spamd_socket 127.0.0.1:$port reject 12 on_error defer
queue/qmail-queue
EOF
)
  rm -f "$FAKEQ_DIR"/*
  smtp "$QP"
  [ "$(final)" = "452 4.3.0 spam scanner unavailable, try again later" ]
  [ "$(queued)" = 0 ]
}

@test "spamassassin: a spamd that never answers costs the timeout, not a hang" {
  port=$(free_port)
  silent_server 127.0.0.1 "$port"
  QP=$(build_chain sa-slow <<EOF
rcpt_ok
spamassassin spamd_socket 127.0.0.1:$port reject 12 timeout 1 on_error defer
queue/qmail-queue
EOF
)
  BODY="$GTUBE" message carol@example.com
  start=$(date +%s%N)
  smtp "$QP"
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  [ "$(final)" = "452 4.3.0 spam scanner unavailable, try again later" ]
  grep -q 'spamd timed out' "$ERR"
  [ "$ms" -lt 5000 ]
}

@test "spamassassin: a rejected spam lowers karma, and karma refuses the client's next connection" {
  QP=$(build_chain sa-karma <<EOF
karma db_dir $BATS_TEST_TMPDIR
rcpt_ok
spamassassin spamd_socket 127.0.0.1:$SAPORT reject 12
queue/qmail-queue
EOF
)
  BODY="$GTUBE" message carol@example.com
  smtp "$QP"
  [ "$(final)" = "552 5.6.1 spam score exceeded threshold" ]
  grep -q 'karma: negative, sent to the penalty box' "$ERR"
  smtp "$QP"
  [[ "$(tr -d '\r' < "$OUT" | head -1)" == "550 5.7.1 You were naughty."* ]]
}

@test "spamassassin: bad arguments fail the build" {
  run build_chain sa-bad <<'EOF'
spamassassin spamd_socket spamd.example.com
EOF
  [ "$status" -ne 0 ]
  run build_chain sa-bad <<'EOF'
spamassassin headers some
EOF
  [ "$status" -ne 0 ]
  run build_chain sa-bad <<'EOF'
spamassassin reject lots
EOF
  [ "$status" -ne 0 ]
}
