#!/usr/bin/env bats
# virus/clamdscan against a real clamd (Debian's clamav-daemon) started
# once for this file, in the foreground, on a Unix socket and on
# 127.0.0.1, with a signature database the test makes: the MD5 hash
# signature (.hdb) of the EICAR test file. Nothing is downloaded.

load helper

EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

setup_file() {
  export CLDIR CLPORT
  CLDIR=$(mktemp -d /tmp/qp-clamd.XXXXXX)
  mkdir -p "$CLDIR/db"
  chmod 755 "$CLDIR"    # the sessions may be nobody (helper.bash)
  printf '%s' "$EICAR" > "$CLDIR/eicar"
  echo "$(md5sum < "$CLDIR/eicar" | cut -d' ' -f1):68:Qp-Test-Eicar" > "$CLDIR/db/test.hdb"
  for _ in 1 2 3; do
    CLPORT=$(free_port)
    cat > "$CLDIR/clamd.conf" <<EOF
Foreground yes
LocalSocket $CLDIR/sock
LocalSocketMode 666
TCPSocket $CLPORT
TCPAddr 127.0.0.1
DatabaseDirectory $CLDIR/db
LogFile $CLDIR/log
EOF
    clamd -c "$CLDIR/clamd.conf" > "$CLDIR/out" 2>&1 3>&- &
    echo $! > "$CLDIR/pid"
    for _ in $(seq 200); do
      kill -0 "$(cat "$CLDIR/pid")" 2> /dev/null || break
      [ -S "$CLDIR/sock" ] && python3 -c "import socket; socket.create_connection(('127.0.0.1', $CLPORT), 1)" 2> /dev/null && return 0
      sleep 0.05
    done
    kill "$(cat "$CLDIR/pid")" 2> /dev/null || true
    rm -f "$CLDIR/sock"
  done
  echo "clamd did not start: $(tail -5 "$CLDIR/out" "$CLDIR/log")" >&2
  return 1
}

teardown_file() {
  kill "$(cat "$CLDIR/pid")" 2> /dev/null || true
  rm -rf "$CLDIR"
}

setup() {
  mkcfg
}

clam_chain() {
  build_chain "clam-$1" <<EOF
rcpt_ok
virus/clamdscan $2
queue/qmail-queue
EOF
}

# message WITH_EICAR [FILLER_BYTES]: a multipart message, the EICAR file
# attached (base64) when WITH_EICAR is 1, after FILLER_BYTES of text
message() {
  local att
  att=$(printf '%s' "$EICAR" | base64 -w 0)
  {
    printf 'EHLO c.example\r\nMAIL FROM:<alice@sender.example>\r\nRCPT TO:<carol@example.com>\r\nDATA\r\n'
    printf 'Subject: files\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="BB"\r\n\r\n'
    printf -- '--BB\r\nContent-Type: text/plain\r\n\r\nhello\r\n'
    if [ "${2:-0}" -gt 0 ]; then { head -c "$2" /dev/zero | tr '\0' 'a' | fold -w 70; echo; } | sed 's/$/\r/'; fi
    if [ "$1" = 1 ]; then
      printf -- '--BB\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n'
      printf 'Content-Disposition: attachment; filename="t.com"\r\n\r\n%s\r\n' "$att"
    fi
    printf -- '--BB--\r\n.\r\nQUIT\r\n'
  } > "$IN"
}

final() { tr -d '\r' < "$OUT" | grep -v '^250-' | tail -2 | head -1; }
msgfile() { ls "$FAKEQ_DIR"/*.msg | head -1; }

@test "clamdscan: the EICAR attachment is rejected with the virus's name and not queued" {
  QP=$(clam_chain unix "clamd_socket $CLDIR/sock")
  message 1
  smtp "$QP"
  [ "$(final)" = "552 5.7.1 Virus found: Qp-Test-Eicar.UNOFFICIAL" ]
  [ "$(queued)" = 0 ]
  grep -q 'virus/clamdscan: virus found: Qp-Test-Eicar.UNOFFICIAL' "$ERR"
}

@test "clamdscan: a clean message is queued with X-Virus-Checked" {
  QP=$(clam_chain unix "clamd_socket $CLDIR/sock")
  message 0
  smtp "$QP"
  [ "$(queued)" = 1 ]
  grep -q '^X-Virus-Checked: Checked by ClamAV on test.example$' "$(msgfile)"
}

@test "clamdscan: over TCP (clamd_port), deny_viruses no marks the message and queues it" {
  QP=$(clam_chain tcp-mark "clamd_port $CLPORT deny_viruses no")
  message 1
  smtp "$QP"
  [ "$(queued)" = 1 ]
  grep -q '^X-Virus-Found: Yes$' "$(msgfile)"
  grep -q '^X-Virus-Details: Qp-Test-Eicar.UNOFFICIAL$' "$(msgfile)"
  ! grep -q '^X-Virus-Checked' "$(msgfile)" || false
}

@test "clamdscan: a message from the spool file is sent in chunks (virus after 400 kB)" {
  QP=$(clam_chain big "clamd_socket 127.0.0.1:$CLPORT max_size 1024")
  echo 1000 > "$CFG/size_threshold"
  message 1 400000
  smtp "$QP"
  [ "$(final)" = "552 5.7.1 Virus found: Qp-Test-Eicar.UNOFFICIAL" ]
}

@test "clamdscan: messages over max_size and, with scan_all 0, single-part ones are not scanned" {
  QP=$(clam_chain small "clamd_socket $CLDIR/sock max_size 1")
  message 1 2000
  smtp "$QP"
  [ "$(queued)" = 1 ]
  grep -q 'skip, too large' "$ERR"
  QP=$(clam_chain single "clamd_socket $CLDIR/sock scan_all 0")
  printf 'EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@example.com>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n' > "$IN"
  smtp "$QP"
  grep -q 'skip, not multipart' "$ERR"
}

@test "clamdscan: clamd down is a 4xx, or a pass with on_error pass" {
  port=$(free_port)
  QP=$(clam_chain down "clamd_socket 127.0.0.1:$port")
  message 1
  smtp "$QP"
  [ "$(final)" = "452 4.3.0 virus scanner unavailable, try again later" ]
  [ "$(queued)" = 0 ]
  QP=$(clam_chain down-pass "clamd_socket $BATS_TEST_TMPDIR/nosock on_error pass")
  smtp "$QP"
  [ "$(queued)" = 1 ]
  grep -q 'pass, not scanned, cannot connect to clamd' "$ERR"
}

@test "clamdscan: Perl's clamd_host with clamd_port (an address, or localhost) reaches clamd over TCP; defer_on_error 1 defers, 0 passes" {
  QP=$(clam_chain host "clamd_host 127.0.0.1 clamd_port $CLPORT")
  message 1
  smtp "$QP"
  [ "$(final)" = "552 5.7.1 Virus found: Qp-Test-Eicar.UNOFFICIAL" ]
  QP=$(clam_chain localhost "clamd_port $CLPORT clamd_host localhost")
  smtp "$QP" DNSCACHEIP=127.0.0.2
  [ "$(final)" = "552 5.7.1 Virus found: Qp-Test-Eicar.UNOFFICIAL" ]
  port=$(free_port)
  QP=$(clam_chain defer1 "clamd_host 127.0.0.1 clamd_port $port defer_on_error 1")
  smtp "$QP"
  [ "$(final)" = "452 4.3.0 virus scanner unavailable, try again later" ]
  QP=$(clam_chain defer0 "clamd_host 127.0.0.1 clamd_port $port defer_on_error 0")
  smtp "$QP"
  [ "$(queued)" = 1 ]
  grep -q "pass, not scanned, cannot connect to clamd at 127.0.0.1:$port" "$ERR"
  run build_chain clam-badhost <<< 'virus/clamdscan clamd_host 127.0.0.1:3310'
  assert_failure
}

@test "clamdscan: a virus lowers karma, and karma refuses the client's next connection" {
  QP=$(build_chain clam-karma <<EOF
karma db_dir $BATS_TEST_TMPDIR
rcpt_ok
virus/clamdscan clamd_socket $CLDIR/sock
queue/qmail-queue
EOF
)
  message 1
  smtp "$QP"
  [ "$(final)" = "552 5.7.1 Virus found: Qp-Test-Eicar.UNOFFICIAL" ]
  smtp "$QP"
  [[ "$(tr -d '\r' < "$OUT" | head -1)" == "550 5.7.1 You were naughty."* ]]
}
