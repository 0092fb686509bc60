#!/usr/bin/env bats
# The DNS plugins against real DNS servers on loopback: a dnsmasq on
# 127.53.6.1 (A, AAAA, MX, TXT and PTR records from tests/dns/dnsmasq.conf,
# forwarding bl.test to rbldnsd) and an rbldnsd on 127.53.6.2 (the DNSBL,
# RHSBL and whitelist zones in tests/dns/*.zone). 127.53.6.3 is a server
# that reads queries and never answers; nothing listens on 127.53.6.4. The
# daemon only ever sees DNSCACHEIP pointing at one of these.

load helper

DNSMASQ_IP=127.53.6.1
RBLDNSD_IP=127.53.6.2
SILENT_IP=127.53.6.3
DEAD_IP=127.53.6.4

wait_for() {   # wait_for FILE PATTERN: up to 5 s
  local i
  for i in $(seq 50); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  cat "$1" >&2
  return 1
}

setup_file() {
  local d=$BATS_FILE_TMPDIR dir=$BATS_TEST_DIRNAME/dns
  rbldnsd -n -f -b $RBLDNSD_IP/53 \
    dnsbl.bl.test:ip4set:"$dir/dnsbl.zone" dnsbl2.bl.test:ip4set:"$dir/dnsbl.zone" \
    rhsbl.bl.test:dnset:"$dir/rhsbl.zone" white.bl.test:ip4set:"$dir/white.zone" \
    > "$d/rbldnsd.log" 2>&1 &
  echo $! > "$d/rbldnsd.pid"
  dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
    --listen-address=$DNSMASQ_IP --port 53 --conf-file="$dir/dnsmasq.conf" \
    --log-facility=- > "$d/dnsmasq.log" 2>&1 &
  echo $! > "$d/dnsmasq.pid"
  python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
print("listening", flush=True)
while True:
    s.recvfrom(4096)
' $SILENT_IP > "$d/silent.log" 2>&1 &
  echo $! > "$d/silent.pid"
  wait_for "$d/rbldnsd.log" 'started'
  wait_for "$d/dnsmasq.log" 'started'
  wait_for "$d/silent.log" 'listening'
}

teardown_file() {
  local p
  for p in rbldnsd dnsmasq silent; do
    [ -f "$BATS_FILE_TMPDIR/$p.pid" ] && kill "$(cat "$BATS_FILE_TMPDIR/$p.pid")" 2>/dev/null
  done
  return 0
}

setup() {
  mkcfg
}

# dsmtp BIN [VAR=value...]: smtp with DNSCACHEIP at the dnsmasq unless given
dsmtp() {
  local bin=$1
  shift
  smtp "$bin" DNSCACHEIP=$DNSMASQ_IP "$@"
}

replies() { tr -d '\r' < "$OUT" | grep -v '^250-'; }

# the reply to the Nth command after the greeting (EHLO's lines count once)
nth() { replies | sed -n "$(($1 + 1))p"; }

rcpt_session() {   # EHLO, MAIL, RCPT rcpt, QUIT
  printf 'EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<%s>\r\nQUIT\r\n' "${1:-bob@example.com}" > "$IN"
}

mail_session() {   # EHLO host, MAIL sender, RCPT, QUIT
  printf 'EHLO %s\r\nMAIL FROM:<%s>\r\nRCPT TO:<bob@example.com>\r\nQUIT\r\n' "${2:-c.example}" "$1" > "$IN"
}

# ---------------------------------------------------------------- dnsbl

dnsbl_chain() {
  build_chain dns-dnsbl <<EOF
dnsbl timeout 3 $*
rcpt_ok
dnsbl timeout 3 $*
rcpt_ok
EOF
}

@test "dnsbl: a listed client is refused at RCPT with the list's TXT text" {
  QP=$(dnsbl_chain)
  echo dnsbl.bl.test > "$CFG/dnsbl_zones"
  rcpt_session
  dsmtp "$QP"
  assert_equal "$(nth 3)" "550 5.7.1 Listed in the test list, see http://bl.test/?192.0.2.1"
  grep -q 'dnsbl: fail' "$ERR"
}

@test "dnsbl: an unlisted client passes" {
  QP=$(dnsbl_chain)
  echo dnsbl.bl.test > "$CFG/dnsbl_zones"
  rcpt_session
  dsmtp "$QP" TCPREMOTEIP=192.0.2.2
  assert_equal "$(nth 3)" "250 2.1.5 <bob@example.com>, recipient ok"
  grep -q 'dnsbl: pass' "$ERR"
}
