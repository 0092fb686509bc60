# Helpers for the tests of plugins that ask a daemon (spamassassin,
# rspamd, rcpt_callahead), loaded with `load scanners` after helper.

GTUBE='XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'

# message RCPT... : a transaction with the body in $BODY and headers in $HDRS
message() {
  {
    printf 'EHLO c.example\r\nMAIL FROM:<alice@sender.example>\r\n'
    for r in "$@"; do printf 'RCPT TO:<%s>\r\n' "$r"; done
    printf 'DATA\r\n%sSubject: hello\r\n\r\n%s\r\n.\r\nQUIT\r\n' "${HDRS:-}" "$BODY"
  } > "$IN"
}

# the reply to the message's final dot
final() { tr -d '\r' < "$OUT" | grep -v '^250-' | tail -2 | head -1; }
msgfile() { ls "$FAKEQ_DIR"/*.msg | head -1; }

# silent_server ADDR PORT: a server that accepts a connection and never
# says a word (SLOWPID; the test's teardown kills it), up when this returns
silent_server() {
  python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('$1', $2)); s.listen(5)
c = s.accept(); time.sleep(30)" 3>&- &
  SLOWPID=$!
  for _ in $(seq 50); do (exec 3<> "/dev/tcp/$1/$2") 2> /dev/null && break; sleep 0.1; done
}
