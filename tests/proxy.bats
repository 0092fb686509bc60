#!/usr/bin/env bats
# The PROXY protocol (HAProxy's specification, v1 and v2) from the
# addresses in proxyclients: transcripts with the header written by hand,
# then a real haproxy in TCP mode (send-proxy, send-proxy-v2) in front of
# tcpserver, spoken to by swaks from another loopback address.

load helper

setup() {
  mkcfg
  SRVPID=
  HAPID=
}

teardown() {
  stop_server
  if [ -n "${HAPID:-}" ]; then kill "$HAPID" 2> /dev/null || true; wait "$HAPID" 2> /dev/null || true; fi
}

proxy_chain() {
  printf 'relay\nrcpt_ok\nqueue/qmail-queue\n' | build_chain proxy
}

# send HEADER-BYTES (printf format) then one message from 192.0.2.1, the
# balancer; the replies in $output
via_proxy() {
  local header=$1
  shift
  { printf "$header"; printf 'EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: t\r\n\r\nhi\r\n.\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP" "$@"
  run codes
}

@test "a v1 header from a listed balancer makes its client the session's: Received, log and the relay plugin see 198.51.100.7" {
  QP=$(proxy_chain)
  echo '192.0.2.0/24' > "$CFG/proxyclients"
  echo '198.51.100.7' > "$CFG/relayclients"
  via_proxy 'PROXY TCP4 198.51.100.7 203.0.113.25 40123 25\r\n'
  assert_output '220 250 250 250 354 250 221'
  grep -q '^Received: from \[198.51.100.7\] (HELO c.example) (198.51.100.7)$' "$FAKEQ_DIR/1.msg"
  grep -q 'PROXY v1 from 192.0.2.1: client 198.51.100.7:40123, server 203.0.113.25:25' "$ERR"
  # relayclients lists the real client: relaying to anywhere is allowed
  { printf 'PROXY TCP4 198.51.100.7 203.0.113.25 40123 25\r\n'; printf 'HELO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@elsewhere.example>\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP"
  run codes
  assert_output '220 250 250 250 221'
}

@test "a v2 header (TCP over IPv4 and over IPv6, with TLVs) is read exactly, and the client's first command after it is intact" {
  QP=$(proxy_chain)
  echo '192.0.2.1' > "$CFG/proxyclients"
  # v2, PROXY, TCP4, 12 bytes of addresses plus a 5-byte TLV (type 0x01, ALPN "smtp" minus one)
  via_proxy '\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x11\xc6\x33\x64\x07\xcb\x00\x71\x19\x9c\x7b\x00\x19\x01\x00\x02hi'
  assert_output '220 250 250 250 354 250 221'
  grep -q '^Received: from \[198.51.100.7\] ' "$FAKEQ_DIR/1.msg"
  grep -q 'client 198.51.100.7:40059, server 203.0.113.25:25' "$ERR"
  rm -f "$FAKEQ_DIR"/*
  # TCP6: 2001:db8::7b:0 (libowfat's fmt_ip6 printed it as 2001:db8::)
  via_proxy '\r\n\r\n\0\r\nQUIT\n\x21\x21\x00\x24\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\x7b\0\0\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01\x9c\x7b\x00\x19'
  assert_output '220 250 250 250 354 250 221'
  grep -q '^Received: from \[2001:db8::7b:0\] ' "$FAKEQ_DIR/1.msg"
}

@test "UNKNOWN (v1) and LOCAL (v2) keep the balancer's own addresses" {
  QP=$(proxy_chain)
  echo '192.0.2.1' > "$CFG/proxyclients"
  via_proxy 'PROXY UNKNOWN\r\n'
  assert_output '220 250 250 250 354 250 221'
  grep -q '^Received: from \[192.0.2.1\] ' "$FAKEQ_DIR/1.msg"
  rm -f "$FAKEQ_DIR"/*
  via_proxy '\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00'
  assert_output '220 250 250 250 354 250 221'
  grep -q '^Received: from \[192.0.2.1\] ' "$FAKEQ_DIR/1.msg"
}

@test "a listed balancer that sends no header, a malformed one or one that ends early gets 421 before any greeting; nothing is queued" {
  QP=$(proxy_chain)
  echo '192.0.2.1' > "$CFG/proxyclients"
  local h
  for h in '' 'PROXY TCP4 198.51.100.7 203.0.113.25 40123\r\n' 'PROXY TCP4 198.51.100.7 203.0.113.25 40123 65536\r\n' \
           'PROXY TCP6 198.51.100.7 203.0.113.25 1 2\r\n' 'PROXY TCP4  198.51.100.7 203.0.113.25 1 2\r\n' \
           'PROXY TCP4 198.51.100.7 203.0.113.25 01 2\r\n' 'PROXY TCP4 198.51.100.7 203.0.113.25 1 2\n' \
           'PROXY TCP6 2001:db8::12345 ::1 1 2\r\n' '\r\n\r\n\0\r\nQUIT\n\x21\x12\x00\x0c' 'EHLO c.example\r\n'; do
    via_proxy "$h"
    echo "header [$h]: $output"
    [ "$output" = 421 ]
    run grep '^421' "$OUT"
    assert_output $'421 4.7.0 Bad PROXY protocol header, closing connection\r'
  done
  [ "$(queued)" -eq 0 ]
  grep -q 'PROXY header from 192.0.2.1: malformed' "$ERR"
}

@test "a PROXY line from an address not listed is never taken as one: the session keeps its address and the line is refused" {
  QP=$(proxy_chain)
  echo '10.0.0.0/8' > "$CFG/proxyclients"
  via_proxy 'PROXY TCP4 198.51.100.7 203.0.113.25 40123 25\r\n'
  assert_output '220 500 250 250 250 354 250 221'
  grep -q '^Received: from \[192.0.2.1\] ' "$FAKEQ_DIR/1.msg"
  refute grep -q 198.51.100.7 "$FAKEQ_DIR/1.msg"
  # and without proxyclients at all
  rm -f "$CFG/proxyclients" "$FAKEQ_DIR"/*
  via_proxy 'PROXY TCP4 198.51.100.7 203.0.113.25 40123 25\r\n'
  assert_output '220 500 250 250 250 354 250 221'
}

@test "RELAYCLIENT set for the balancer by its tcprules is dropped for the clients behind it" {
  QP=$(proxy_chain)
  echo '192.0.2.1' > "$CFG/proxyclients"
  { printf 'PROXY TCP4 198.51.100.7 203.0.113.25 40123 25\r\n'; printf 'HELO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@elsewhere.example>\r\nQUIT\r\n'; } > "$IN"
  smtp "$QP" RELAYCLIENT=
  run codes
  assert_output '220 250 250 550 221'
  grep -q 'RELAYCLIENT was set for the balancer 192.0.2.1, not for its clients: dropped' "$ERR"
  # the same session without the header: RELAYCLIENT relays
  rm -f "$CFG/proxyclients"
  printf 'HELO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@elsewhere.example>\r\nQUIT\r\n' > "$IN"
  smtp "$QP" RELAYCLIENT=
  run codes
  assert_output '220 250 250 250 221'
}

@test "a listed balancer that says nothing gets 421 4.4.2 after timeoutproxy seconds, not the command deadline" {
  QP=$(proxy_chain)
  echo '127.0.0.1' > "$CFG/proxyclients"
  echo 1 > "$CFG/timeoutproxy"
  start_server "$QP"
  run timeout 20 python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t = time.time()
d = b""
while True:
    b = s.recv(4096)
    if not b: break
    d += b
print(d.decode().strip(), round(time.time() - t))' "$PORT"
  assert_output '421 4.4.2 No PROXY protocol header in time, closing connection 1'
}

@test "behind a real haproxy (send-proxy and send-proxy-v2), swaks from 127.0.0.55 is seen as 127.0.0.55" {
  command -v haproxy
  QP=$(proxy_chain)
  echo '127.0.0.1' > "$CFG/proxyclients"
  echo '127.0.0.55' > "$CFG/relayclients"
  start_server "$QP"
  local v front
  for v in send-proxy send-proxy-v2; do
    front=$(free_port)
    cat > "$BATS_TEST_TMPDIR/haproxy.cfg" <<CFG
global
  log stderr format raw local0 info
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend smtp
  bind 127.0.0.1:$front
  default_backend qp
backend qp
  server qp1 127.0.0.1:$PORT $v
CFG
    haproxy -f "$BATS_TEST_TMPDIR/haproxy.cfg" -db > "$BATS_TEST_TMPDIR/haproxy-$v.log" 2>&1 3>&- &
    HAPID=$!
    for _ in $(seq 50); do python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$front" 2> /dev/null && break; sleep 0.1; done
    rm -f "$FAKEQ_DIR"/*
    run timeout 20 swaks --server "127.0.0.1:$front" --local-interface 127.0.0.55 --helo client.example \
      --from alice@sender.example --to someone@elsewhere.example
    assert_output --partial '<-  250 '
    [ "$(queued)" -eq 1 ]
    grep -q '^Received: from \[127.0.0.55\] (HELO client.example) (127.0.0.55)$' "$FAKEQ_DIR/1.msg"
    kill "$HAPID"; wait "$HAPID" 2> /dev/null || true
    HAPID=
  done
  grep -q "PROXY v1 from 127.0.0.1: client 127.0.0.55:" "$SRVLOG"
  grep -q "PROXY v2 from 127.0.0.1: client 127.0.0.55:" "$SRVLOG"
}
