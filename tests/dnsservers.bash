# DNS servers for tests, on a loopback address of their own, port 53
# (libowfat's resolver only speaks to port 53). Load with `load dnsservers`
# after helper; each start_* records a pid in $BATS_FILE_TMPDIR, and
# stop_dns_servers kills them by pid.
#
#   start_dnsmasq IP CONF [ARG...]   dnsmasq serving the records of CONF only
#   start_rbldnsd IP ZONESPEC...     rbldnsd with those zones
#   start_silent IP                  reads queries, never answers
#   start_truncating IP              answers every query "truncated, ask
#                                    over TCP" with nothing on TCP port 53:
#                                    every lookup fails at once, where a
#                                    silent or SERVFAIL server costs the
#                                    resolver's retries (up to 14 s)

_dns_wait() {   # _dns_wait FILE PATTERN: up to 5 s
  local i
  for i in $(seq 50); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  cat "$1" >&2
  return 1
}

start_dnsmasq() {
  local ip=$1 conf=$2 log=$BATS_FILE_TMPDIR/dnsmasq-$1.log
  shift 2
  dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
    --listen-address="$ip" --port 53 --conf-file="$conf" "$@" \
    --log-facility=- > "$log" 2>&1 3>&- &
  echo $! >> "$BATS_FILE_TMPDIR/dns.pids"
  _dns_wait "$log" 'started'
}

start_rbldnsd() {
  local ip=$1 log=$BATS_FILE_TMPDIR/rbldnsd-$1.log
  shift
  rbldnsd -n -f -b "$ip/53" "$@" > "$log" 2>&1 3>&- &
  echo $! >> "$BATS_FILE_TMPDIR/dns.pids"
  _dns_wait "$log" 'started'
}

start_silent() {
  local log=$BATS_FILE_TMPDIR/silent-$1.log
  python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
print("listening", flush=True)
while True:
    s.recvfrom(4096)
' "$1" > "$log" 2>&1 3>&- &
  echo $! >> "$BATS_FILE_TMPDIR/dns.pids"
  _dns_wait "$log" 'listening'
}

start_truncating() {
  local log=$BATS_FILE_TMPDIR/truncating-$1.log
  python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
print("listening", flush=True)
while True:
    q, peer = s.recvfrom(4096)
    if len(q) > 12:
        s.sendto(q[:2] + struct.pack(">HHHHH", 0x8380, 1, 0, 0, 0) + q[12:], peer)
' "$1" > "$log" 2>&1 3>&- &
  echo $! >> "$BATS_FILE_TMPDIR/dns.pids"
  _dns_wait "$log" 'listening'
}

stop_dns_servers() {
  local p
  [ -f "$BATS_FILE_TMPDIR/dns.pids" ] || return 0
  while read -r p; do kill "$p" 2>/dev/null || true; done < "$BATS_FILE_TMPDIR/dns.pids"
  rm -f "$BATS_FILE_TMPDIR/dns.pids"
}
