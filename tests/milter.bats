#!/usr/bin/env bats
# The milter plugin against real milters from Debian, each started once
# for this file in the foreground on 127.$QPT_NET.90.x: OpenDKIM signing
# (the signature verified with python3-dkim, its key given to it
# directly: no DNS), clamav-milter over a clamd whose only signature is
# the EICAR file's hash, OpenDMARC with its resolver pointed (in a mount
# namespace of its own) at a dnsmasq on 127.$QPT_NET.91.1, and for the
# replies and changes no packaged milter makes, tests/milter-tool.py on
# python3-milter (Sendmail's libmilter). The failure paths: a milter that
# is down, one that never answers, one too slow.

load helper

PY=/usr/bin/python3
EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'

# wait_port IP PORT PID: until something listens there (10 s at most)
wait_port() {
  local i
  for i in $(seq 200); do
    kill -0 "$3" 2> /dev/null || return 1
    $PY -c "import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1)" "$1" "$2" 2> /dev/null && return 0
    sleep 0.05
  done
  return 1
}

# start NAME IP CMD...: CMD in the background (its output in $MD/NAME.out),
# its pid in $MD/NAME.pid
start() {
  local name=$1
  shift 2
  "$@" > "$MD/$name.out" 2>&1 3>&- &
  echo $! > "$MD/$name.pid"
}

setup_file() {
  export MD NET TOOLPORT DKPORT CLPORT DMPORT SILENTPORT
  MD=$(mktemp -d /tmp/qp-milter.XXXXXX)
  chmod 755 "$MD"
  NET=127.$QPT_NET.90
  # fixed ports: the addresses are this file's alone, and the test chains
  # (which name them) are built once and kept
  TOOLPORT=8891 DKPORT=8892 CLPORT=8893 DMPORT=8894 SILENTPORT=8895

  # the test milter
  start tool "$NET.1" $PY "$BATS_TEST_DIRNAME/milter-tool.py" "inet:$TOOLPORT@$NET.1" "$MD/tool.log"

  # OpenDKIM: signs mail from sender.example with a key made here
  opendkim-genkey -b 1024 -D "$MD" -d sender.example -s test
  cat > "$MD/opendkim.conf" <<EOF
Syslog no
Mode s
Domain sender.example
Selector test
KeyFile $MD/test.private
RequireSafeKeys false
Socket inet:$DKPORT@$NET.2
InternalHosts 192.0.2.0/24
PidFile $MD/opendkim.pidfile
EOF
  start opendkim "$NET.2" opendkim -f -x "$MD/opendkim.conf"

  # clamd on a Unix socket with the EICAR signature only, clamav-milter on it
  mkdir -p "$MD/db"
  printf '%s' "$EICAR" > "$MD/eicar"
  echo "$(md5sum < "$MD/eicar" | cut -d' ' -f1):68:Qp-Test-Eicar" > "$MD/db/test.hdb"
  printf 'Foreground yes\nLocalSocket %s/clamd.sock\nDatabaseDirectory %s/db\nLogFile %s/clamd.log\n' \
    "$MD" "$MD" "$MD" > "$MD/clamd.conf"
  start clamd - clamd -c "$MD/clamd.conf"
  cat > "$MD/clamav-milter.conf" <<EOF
Foreground yes
MilterSocket inet:$CLPORT@$NET.3
ClamdSocket unix:$MD/clamd.sock
OnInfected Reject
AddHeader Replace
LogFile $MD/clamav-milter.log
LogInfected Basic
PidFile $MD/clamav-milter.pidfile
TemporaryDirectory $MD
EOF

  # OpenDMARC: its resolver (the system's, from /etc/resolv.conf) sees a
  # resolv.conf of its own naming the test's dnsmasq (needs root: mount
  # namespace)
  if [ "$(id -u)" -eq 0 ]; then
    cat > "$MD/dns.conf" <<'EOF'
txt-record=_dmarc.reject.example,"v=DMARC1; p=reject"
txt-record=_dmarc.none.example,"v=DMARC1; p=none"
txt-record=reject.example,"v=spf1 -all"
txt-record=none.example,"v=spf1 -all"
EOF
    echo "nameserver 127.$QPT_NET.91.1" > "$MD/resolv.conf"
    start dnsmasq "127.$QPT_NET.91.1" dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
      --listen-address="127.$QPT_NET.91.1" --port 53 --conf-file="$MD/dns.conf" --log-facility=-
    cat > "$MD/opendmarc.conf" <<EOF
Socket inet:$DMPORT@$NET.4
AuthservID test.example
RejectFailures true
SPFSelfValidate true
PublicSuffixList /usr/share/publicsuffix/public_suffix_list.dat
Syslog false
FailureReports false
PidFile $MD/opendmarc.pidfile
EOF
    start opendmarc "$NET.4" unshare -m --propagation private sh -c \
      'mount --bind "$1/resolv.conf" /etc/resolv.conf && exec opendmarc -f -c "$1/opendmarc.conf"' sh "$MD"
  fi

  # a milter that takes the connection and never says a word
  start silent "$NET.5" $PY -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(50)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' "$NET.5" "$SILENTPORT"

  # milters that break the protocol after a correct negotiation: a reply
  # announcing 2 GB, a header change at connect
  cat > "$MD/bad-milter.py" <<'PY'
import socket, struct, sys
ip, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((ip, port)); s.listen(50)
def get(c, n):
    b = b''
    while len(b) < n:
        x = c.recv(n - len(b))
        if not x: raise EOFError
        b += x
    return b
def pkt(c):
    return get(c, struct.unpack('>I', get(c, 4))[0])
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
    try:
        p = pkt(c)
        # the MTA's negotiation, checked strictly: version 6, every action
        # and step we offer
        if p[:1] != b'O' or len(p) != 13 or struct.unpack('>III', p[1:]) != (6, 0xff, 0x1df7ff):
            print('bad OPTNEG', p.hex(), flush=True); c.close(); continue
        c.sendall(struct.pack('>I', 13) + b'O' + struct.pack('>III', 6, 0xff, 0))
        while True:
            p = pkt(c)
            if p[:1] == b'C': break
        c.sendall(struct.pack('>I', 0x7fffffff) + b'c' if mode == 'huge' else struct.pack('>I', 5) + b'hX\0y\0')
    except EOFError:
        pass
PY
  start bad-huge "$NET.7" $PY "$MD/bad-milter.py" "$NET.7" 8896 huge
  start bad-early "$NET.7" $PY "$MD/bad-milter.py" "$NET.7" 8897 early

  # clamav-milter wants clamd up first
  local i
  for i in $(seq 200); do [ -S "$MD/clamd.sock" ] && break; kill -0 "$(cat "$MD/clamd.pid")" || break; sleep 0.05; done
  start clamav-milter "$NET.3" clamav-milter -c "$MD/clamav-milter.conf"

  wait_port "$NET.1" "$TOOLPORT" "$(cat "$MD/tool.pid")" || { cat "$MD/tool.out" >&2; return 1; }
  wait_port "$NET.2" "$DKPORT" "$(cat "$MD/opendkim.pid")" || { cat "$MD/opendkim.out" >&2; return 1; }
  wait_port "$NET.3" "$CLPORT" "$(cat "$MD/clamav-milter.pid")" || { cat "$MD/clamav-milter.out" "$MD/clamd.out" >&2; return 1; }
  wait_port "$NET.5" "$SILENTPORT" "$(cat "$MD/silent.pid")" || return 1
  wait_port "$NET.7" 8896 "$(cat "$MD/bad-huge.pid")" || return 1
  wait_port "$NET.7" 8897 "$(cat "$MD/bad-early.pid")" || return 1
  if [ "$(id -u)" -eq 0 ]; then
    wait_port "$NET.4" "$DMPORT" "$(cat "$MD/opendmarc.pid")" || { cat "$MD/opendmarc.out" >&2; return 1; }
  fi
}

teardown_file() {
  local f
  for f in "$MD"/*.pid; do kill "$(cat "$f")" 2> /dev/null || true; done
  rm -rf "$MD"
}

setup() {
  mkcfg
}

# chain NAME MILTER-LINES...: the milter lines, rcpt_ok, the queue
chain() {
  local name=$1
  shift
  { printf '%s\n' "$@"; printf 'rcpt_ok\nqueue/qmail-queue\n'; } | build_chain "milter-$name"
}

final() { tr -d '\r' < "$OUT" | grep -v '^250-' | tail -2 | head -1; }
msg() { cat "$FAKEQ_DIR/1.msg"; }
env_of() { tr '\0' '\n' < "$FAKEQ_DIR/1.env"; }

# a message from alice@sender.example to bob@example.com with this Subject
message() {
  printf 'EHLO client.example\r\nMAIL FROM:<alice@sender.example> SIZE=200\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n'
  printf 'From: Alice <alice@sender.example>\r\nTo: bob@example.com\r\nSubject: %s\r\n' "$1"
  printf 'Date: Sun, 06 Dec 2026 06:00:00 +0000\r\nMessage-ID: <1@sender.example>\r\nX-Change: old\r\nX-Drop: x\r\n\r\n'
  printf 'hello\r\nworld\r\n.\r\nQUIT\r\n'
}

@test "milter: OpenDKIM signs, the signature verifies with python3-dkim; clamav-milter after it adds its header" {
  QP=$(chain dkim-clam "milter inet:$NET.2:$DKPORT" "milter inet:$NET.3:$CLPORT")
  message hi > "$IN"
  smtp "$QP"
  [ "$(queued)" = 1 ]
  msg | head -1 | grep -q '^DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; d=sender.example;'
  grep -q '^X-Virus-Status: Clean$' "$FAKEQ_DIR/1.msg"
  $PY - "$FAKEQ_DIR/1.msg" "$MD/test.txt" <<'PY'
import re, sys
sys.modules['dns'] = None  # no dnspython: the key comes from dnsfunc
import dkim
rec = ''.join(re.findall(r'"([^"]*)"', open(sys.argv[2]).read())).encode()
msg = open(sys.argv[1], 'rb').read().replace(b'\n', b'\r\n')
ok = dkim.verify(msg, dnsfunc=lambda name, timeout=5: rec if name == b'test._domainkey.sender.example.' else None)
sys.exit(0 if ok else 1)
PY
  # a changed body no longer verifies: the check can fail
  sed -i 's/^world$/World/' "$FAKEQ_DIR/1.msg"
  ! $PY -c 'import re, sys
sys.modules["dns"] = None
import dkim
rec = "".join(re.findall(r"\"([^\"]*)\"", open(sys.argv[2]).read())).encode()
msg = open(sys.argv[1], "rb").read().replace(b"\n", b"\r\n")
sys.exit(0 if dkim.verify(msg, dnsfunc=lambda n, timeout=5: rec) else 1)' "$FAKEQ_DIR/1.msg" "$MD/test.txt" || false
}

@test "milter: clamav-milter rejects the EICAR attachment, nothing is queued" {
  QP=$(chain clam "milter inet:$NET.3:$CLPORT")
  att=$(printf '%s' "$EICAR" | base64 -w 0)
  {
    printf 'EHLO client.example\r\nMAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n'
    printf 'Subject: files\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="BB"\r\n\r\n'
    printf -- '--BB\r\nContent-Type: text/plain\r\n\r\nhello\r\n--BB\r\nContent-Type: application/octet-stream\r\n'
    printf 'Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="t.com"\r\n\r\n%s\r\n--BB--\r\n.\r\nQUIT\r\n' "$att"
  } > "$IN"
  smtp "$QP"
  [ "$(final)" = "552 5.7.1 Command rejected" ]
  nothing_queued
  grep -q 'milter: inet:.*: reject' "$ERR"
}

@test "milter: OpenDMARC rejects p=reject with its own reply and marks p=none" {
  [ "$(id -u)" -eq 0 ] || skip "OpenDMARC's resolver is pointed at the test's DNS in a mount namespace: needs root"
  QP=$(chain dmarc "milter inet:$NET.4:$DMPORT")
  {
    printf 'EHLO client.example\r\n'
    for d in reject none; do
      printf 'MAIL FROM:<alice@%s.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nFrom: <alice@%s.example>\r\n' $d $d
      printf 'To: bob@example.com\r\nSubject: hi\r\nDate: Sun, 06 Dec 2026 06:00:00 +0000\r\nMessage-ID: <1@x>\r\n\r\nhello\r\n.\r\n'
    done
    printf 'QUIT\r\n'
  } > "$IN"
  smtp "$QP"
  [ "$(codes)" = "220 250 250 250 354 550 250 250 354 250 221" ]
  tr -d '\r' < "$OUT" | grep -qx '550 5.7.1 rejected by DMARC policy for reject.example'
  [ "$(queued)" = 1 ]
  grep -q '^Authentication-Results: test.example; dmarc=fail (p=none dis=none) header.from=none.example$' "$FAKEQ_DIR/1.msg"
}

@test "milter: every stage reaches the milter with Postfix's macros, header fields and a CRLF body" {
  QP=$(chain tool "milter inet:$NET.1:$TOOLPORT command_timeout 1s content_timeout 5s")
  : > "$MD/tool.log"
  message hi > "$IN"
  smtp "$QP"
  [ "$(queued)" = 1 ]
  grep -qx 'connect \[192.0.2.1\] 192.0.2.1 j=test.example client_addr=192.0.2.1 _=unknown \[192.0.2.1\]' "$MD/tool.log"
  grep -qx 'helo client.example' "$MD/tool.log"
  grep -Eqx 'mail <alice@sender.example> SIZE=200 i=[0-9]+\.1 mail_addr=alice@sender.example' "$MD/tool.log"
  grep -qx 'rcpt <bob@example.com> rcpt_addr=bob@example.com' "$MD/tool.log"
  grep -qx 'data' "$MD/tool.log"
  grep -q "^header Received 'from \[192.0.2.1\] (HELO client.example) (192.0.2.1)\\\\n\\\\tby test.example" "$MD/tool.log"
  grep -qx "header Subject 'hi'" "$MD/tool.log"
  grep -qx 'eoh' "$MD/tool.log"
  grep -qx "body 14 b'hello\\\\r\\\\nworld\\\\r\\\\n'" "$MD/tool.log"
  grep -Eqx 'eom i=[0-9]+\.1' "$MD/tool.log"
}

@test "milter: a plugin before it that ends the connect and mail hooks (OK) does not keep the milter out" {
  QP=$(build_chain milter-after-ok <<EOF
tests/return_code connect OK
tests/return_code:2 mail OK
milter inet:$NET.1:$TOOLPORT command_timeout 1s content_timeout 5s
rcpt_ok
queue/qmail-queue
EOF
)
  : > "$MD/tool.log"
  printf 'EHLO client.example\r\nMAIL FROM:<alice@sender.example> SIZE=200\r\nRCPT TO:<reject@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: addheader\r\n\r\nx\r\n.\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  [ "$(codes)" = "220 250 250 550 250 354 250 221" ]
  [ "$(queued)" = 1 ]
  grep -q '^connect ' "$MD/tool.log"
  grep -Eqx 'mail <alice@sender.example> i=[0-9]+\.1 mail_addr=alice@sender.example' "$MD/tool.log"
  grep -q '^X-Milter-Tool: added' "$FAKEQ_DIR/1.msg"
}

@test "milter: recipients a plugin before it accepted (OK) reach it at DATA, and one it refuses refuses the message" {
  QP=$(build_chain milter-after-rcpt-ok <<EOF
rcpt_ok
milter inet:$NET.1:$TOOLPORT command_timeout 1s content_timeout 5s
queue/qmail-queue
EOF
)
  : > "$MD/tool.log"
  printf 'EHLO client.example\r\nMAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: addheader\r\n\r\nx\r\n.\r\n' > "$IN"
  printf 'MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.com>\r\nRCPT TO:<reject@example.com>\r\nDATA\r\nQUIT\r\n' >> "$IN"
  smtp "$QP"
  [ "$(codes)" = "220 250 250 250 354 250 250 250 250 554 221" ]
  [ "$(queued)" = 1 ]
  grep -q '^X-Milter-Tool: added' "$FAKEQ_DIR/1.msg"
  grep -qx 'rcpt <bob@example.com> rcpt_addr=bob@example.com' "$MD/tool.log"
  tr -d '\r' < "$OUT" | grep -qx '554 5.7.1 Command rejected'
}

@test "milter: reject, tempfail and a reply of the milter's own refuse one recipient each; discard takes the message" {
  QP=$(chain tool "milter inet:$NET.1:$TOOLPORT command_timeout 1s content_timeout 5s")
  transcript "$QP" <<'EOF'
EHLO client.example
MAIL FROM:<alice@sender.example>
RCPT TO:<reject@example.com>
RCPT TO:<tempfail@example.com>
RCPT TO:<custom@example.com>
RCPT TO:<bob@example.com>
RCPT TO:<discard@example.com>
DATA
Subject: hi

hello
.
QUIT
--
~ 220 test\.example ESMTP .*
250-test.example Hi [192.0.2.1] [192.0.2.1]
@keywords
250-SIZE
250 ENHANCEDSTATUSCODES
~ 250 2\.1\.0 .*
550 5.7.1 Command rejected
450 4.7.1 Service unavailable - try again later
554-5.7.0 no thanks
554 5.7.0 second line
~ 250 2\.1\.5 <bob@example\.com>.*
~ 250 2\.1\.5 <discard@example\.com>.*
354 go ahead
250 2.0.0 Message discarded
~ 221 2\.0\.0 .*
EOF
  nothing_queued
}

@test "milter: a 421 from the milter ends the session" {
  QP=$(chain tool "milter inet:$NET.1:$TOOLPORT command_timeout 1s content_timeout 5s")
  printf 'EHLO client.example\r\nMAIL FROM:<alice@sender.example>\r\nRCPT TO:<shutdown@example.com>\r\nRCPT TO:<bob@example.com>\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  [ "$(codes)" = "220 250 250 421" ]
  tr -d '\r' < "$OUT" | grep -qx '421 4.7.0 going away'
}

@test "milter: header fields added, inserted on top, changed and deleted; recipients added and deleted; sender and body replaced" {
  QP=$(chain tool "milter inet:$NET.1:$TOOLPORT command_timeout 1s content_timeout 5s")
  message "addheader chgheader addrcpt delrcpt chgfrom replbody" > "$IN"
  smtp "$QP"
  [ "$(queued)" = 1 ]
  [ "$(msg | head -1)" = "X-Top: first" ]
  msg | grep -qx 'X-Milter-Tool: added'
  msg | grep -A1 '^X-Milter-Tool' | tail -1 | grep -qx $'\tfolded'
  msg | grep -qx 'X-Change: changed'
  ! msg | grep -q '^X-Change: old' || false
  ! msg | grep -q '^X-Drop' || false
  [ "$(msg | sed '1,/^$/d')" = $'replaced line one\nline two' ]
  [ "$(env_of | paste -sd' ')" = "Fnew@sender.example Tadded@example.com " ]
}

@test "milter: quarantine is logged and noted; a message rejected at its end leaves the milter ready for the next" {
  QP=$(chain tool "milter inet:$NET.1:$TOOLPORT command_timeout 1s content_timeout 5s")
  {
    printf 'EHLO client.example\r\nMAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: reject\r\n\r\nx\r\n.\r\n'
    printf 'MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.com>\r\nRSET\r\n'
    printf 'MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: quarantine progress\r\n\r\nx\r\n.\r\nQUIT\r\n'
  } > "$IN"
  : > "$MD/tool.log"
  smtp "$QP"
  [ "$(codes)" = "220 250 250 250 354 552 250 250 250 250 250 354 250 221" ]
  [ "$(queued)" = 1 ]
  grep -q 'milter: inet:.*: quarantine: held for review' "$ERR"
  grep -qx 'abort' "$MD/tool.log"
  [ "$(grep -c '^eom' "$MD/tool.log")" = 2 ]
}

@test "milter: a milter that is down gets default_action: tempfail (default) or reject, from MAIL on" {
  QP=$(chain down "milter inet:$NET.6:$TOOLPORT")
  printf 'EHLO client.example\r\nMAIL FROM:<alice@sender.example>\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  [ "$(codes)" = "220 250 450 221" ]
  tr -d '\r' < "$OUT" | grep -qx "450 4.7.1 Service unavailable - try again later"
  grep -q "milter: inet:$NET.6:$TOOLPORT: cannot connect; default_action tempfail" "$ERR"
  QP=$(chain down-reject "milter unix:$BATS_TEST_TMPDIR/nosock default_action reject")
  smtp "$QP"
  [ "$(codes)" = "220 250 550 221" ]
  tr -d '\r' < "$OUT" | grep -qx '550 5.5.0 Service unavailable'
}

@test "milter: a milter that never answers or is too slow gets default_action within its timeout, never a hang" {
  # never a word: default_action accept, the message is queued
  QP=$(chain silent "milter inet:$NET.5:$SILENTPORT connect_timeout 300ms default_action accept")
  message hi > "$IN"
  start=$(date +%s%N)
  smtp "$QP"
  [ $(( ($(date +%s%N) - start) / 1000000 )) -lt 2500 ]
  [ "$(queued)" = 1 ]
  grep -q 'cannot read from the milter (timed out); default_action accept' "$ERR"
  # slow at MAIL (the test milter sleeps 3 s there; command_timeout 1s)
  QP=$(chain tool "milter inet:$NET.1:$TOOLPORT command_timeout 1s content_timeout 5s")
  printf 'EHLO client.example\r\nMAIL FROM:<slow@sender.example>\r\nMAIL FROM:<alice@sender.example>\r\nQUIT\r\n' > "$IN"
  start=$(date +%s%N)
  smtp "$QP"
  [ $(( ($(date +%s%N) - start) / 1000000 )) -lt 2500 ]
  [ "$(codes)" = "220 250 450 450 221" ]  # and stays so for the session
  grep -q '(timed out); default_action tempfail' "$ERR"
}

@test "milter: a milter that breaks the protocol gets default_action: a 2 GB packet, a change before the end of the message" {
  QP=$(chain bad "milter inet:$NET.7:8896" "milter inet:$NET.7:8897 default_action reject")
  printf 'EHLO client.example\r\nMAIL FROM:<alice@sender.example>\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  [ "$(codes)" = "220 250 450 221" ]
  grep -q "milter: inet:$NET.7:8896: a reply packet of a bad length; default_action tempfail" "$ERR"
  grep -q "milter: inet:$NET.7:8897: a reply out of place or not negotiated; default_action reject" "$ERR"
  ! grep -q 'bad OPTNEG' "$MD/bad-huge.out" || false
}

@test "milter: bad arguments stop the build" {
  run build_chain milter-bad <<< "milter inet:127.0.0.1:1 default_action maybe"
  assert_failure
  assert_output --partial 'default_action takes accept, tempfail or reject, not maybe'
}

@test "milter: after STARTTLS, HELO carries Postfix's TLS macros; MAIL carries the AUTH macros, {auth_author} from AUTH=" {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=test.example \
    -keyout "$BATS_TEST_TMPDIR/k" -out "$BATS_TEST_TMPDIR/c" 2> /dev/null
  mkdir -p "$CFG/ssl"
  cp "$BATS_TEST_TMPDIR/c" "$CFG/ssl/qpsmtpd-server.crt"
  cp "$BATS_TEST_TMPDIR/k" "$CFG/ssl/qpsmtpd-server.key"
  chmod a+r "$CFG/ssl/qpsmtpd-server.key"
  echo 'alice@sender.example:secret' > "$CFG/flat_auth_pw"
  QP=$(chain tls-auth tls auth/auth_flat_file "milter inet:$NET.1:$TOOLPORT command_timeout 1s content_timeout 5s")
  : > "$MD/tool.log"
  SRVLOG=$BATS_TEST_TMPDIR/server.log
  start_server "$QP"
  run timeout 20 swaks --server "127.0.0.1:$PORT" --tls --helo client.example --auth PLAIN \
    --auth-user alice@sender.example --auth-password secret --from alice@sender.example --to bob@example.com \
    --quit-after RCPT
  stop_server
  assert_success
  # the EHLO before STARTTLS has none of them, the one after has them all
  grep -qx 'helo client.example' "$MD/tool.log"
  grep -Eqx 'helo client.example tls_version=TLSv1\.2 cipher=ECDHE-ECDSA-[A-Z0-9-]+ cipher_bits=(128|256)' "$MD/tool.log"
  grep -Eq '^mail <alice@sender\.example> .*auth_type=PLAIN auth_authen=alice@sender\.example$' "$MD/tool.log" ||
    { cat "$MD/tool.log" >&2; false; }
  # AUTH= from an authenticated client is {auth_author} (Python's smtplib)
  : > "$MD/tool.log"
  start_server "$QP"
  run timeout 20 python3 -c '
import smtplib, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
c = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.example")
c.starttls(context=ctx); c.login("alice@sender.example", "secret")
print(c.mail("alice@sender.example", ["AUTH=boss+2Bx@sender.example"]))
print(c.rcpt("bob@example.com")); c.rset(); c.quit()' "$PORT"
  stop_server
  assert_success
  assert_line --partial '(250,'
  grep -Eq '^mail <alice@sender\.example> AUTH=boss\+2Bx@sender\.example .*auth_authen=alice@sender\.example auth_author=boss\+x@sender\.example$' "$MD/tool.log" ||
    { cat "$MD/tool.log" >&2; false; }
}
