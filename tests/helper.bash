# Common set-up for the bats files: load with `load helper`.
#
#   build_chain NAME < plugins-lines   builds a binary with that chain, prints
#                                      its path; tests/bin/qp-NAME links to it
#   mkcfg                              a control dir in $CFG (me, rcpthosts)
#   smtp BIN [VAR=value...]            runs BIN with $IN as the client's bytes;
#                                      replies in $OUT, log in $ERR, exit code in $RC
#   codes                              the reply codes in $OUT, one per reply
#   queued                             how many messages the fake queue stored

bats_require_minimum_version 1.5.0
# Everything at file level here runs again for every test (bats sources the
# file in each test's process), and a process costs milliseconds of CPU on
# a small VM: so no command substitution and no external command here.
# bats-support and bats-assert are sourced file by file, as their load.bash
# lists them: load.bash itself runs dirname once per file, 15 processes a
# test.
for lib in bats-support bats-assert; do
  while IFS= read -r line; do
    [[ $line =~ (src/[a-z_]+\.bash) ]] && source "/usr/lib/bats/$lib/${BASH_REMATCH[1]}"
  done < "/usr/lib/bats/$lib/load.bash"
done
unset lib line
# Debian's programs, not ones a developer's PATH finds first (a pyenv
# python3 is a shell script that starts a dozen processes)
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

ROOT=${BATS_TEST_DIRNAME%/*}
TB=$ROOT/tests/bin
FAKEQ=$TB/fake-qmail-queue

# qpsmtpd never reads client input as root: started as root it becomes the
# user in UID and GID (as daemontools' envuidgid sets them) or refuses. When
# the tests run as root, every session is given nobody's ids ("${QPIDS[@]}"
# in each env -i), and the test's directories are open to that user.
QPIDS=()
# QPT_NET: the second octet of the 127.x.y.z addresses that the DNS test
# servers bind (port 53, as libowfat's resolver asks nothing else), so that
# two suites can run at once (CI runs the plain and the sanitizer suites
# side by side)
QPT_NET=${QPT_NET:-53}
if [ "$EUID" -eq 0 ]; then
  while IFS=: read -r pw_name _ pw_uid pw_gid _; do
    [ "$pw_name" = nobody ] && QPIDS=(UID="$pw_uid" GID="$pw_gid") && break
  done < /etc/passwd
  unset pw_name pw_uid pw_gid
  if [ ! -e "$BATS_RUN_TMPDIR/.open" ]; then
    chmod a+x "$BATS_RUN_TMPDIR" 2> /dev/null || true
    : > "$BATS_RUN_TMPDIR/.open"
  fi
fi

# One make per distinct chain and build per bats run: the binary lives in
# tests/bin/chains/HASH, HASH of the plugins text and the build commands, so
# two tests (or two names) with the same chain share it, and a run with other
# compile commands (make sanitize, make hardened) never links a stale object.
# The first call in a run always asks make, which rebuilds what changed; the
# sources do not change during a run, so later calls with the same chain skip
# it. A chain with $include always goes to make (an included file may change).
build_chain() {
  local name=$1 text sum dir
  text=$(cat; echo .)
  text=${text%.}
  sum=$(printf '%s\n' "${CC_CMD-}" "${LD_CMD-}" "${FORTIFY-unset}" "$text" | sha1sum)
  sum=${sum%% *}
  dir=$TB/chains/$sum
  if [ -e "$BATS_RUN_TMPDIR/chain-$sum" ] && [ -x "$dir/qpsmtpd" ] && [[ $text != *'$include'* ]]; then
    ln -sfn "chains/$sum/qpsmtpd" "$TB/qp-$name"
    echo "$dir/qpsmtpd"
    return 0
  fi
  mkdir -p "$dir"
  printf '%s' "$text" > "$dir/plugins.new"
  if cmp -s "$dir/plugins.new" "$dir/plugins"; then rm -f "$dir/plugins.new"; else mv "$dir/plugins.new" "$dir/plugins"; fi
  (cd "$ROOT" && flock "$TB/.lock" make -s BIN="$dir/qpsmtpd" PLUGINS="$dir/plugins" >/dev/null) || return 1
  : > "$BATS_RUN_TMPDIR/chain-$sum"
  ln -sfn "chains/$sum/qpsmtpd" "$TB/qp-$name"
  echo "$dir/qpsmtpd"
}

default_chain() {
  build_chain default < "$ROOT/control/plugins"
}

mkcfg() {
  CFG=$BATS_TEST_TMPDIR/cfg
  FAKEQ_DIR=$BATS_TEST_TMPDIR/q
  IN=$BATS_TEST_TMPDIR/in
  OUT=$BATS_TEST_TMPDIR/out
  ERR=$BATS_TEST_TMPDIR/err
  mkdir -p "$CFG" "$FAKEQ_DIR"
  if [ ${#QPIDS[@]} -gt 0 ]; then umask 0; chmod 1777 "$BATS_TEST_TMPDIR" "$FAKEQ_DIR"; fi
  echo test.example > "$CFG/me"
  echo example.com > "$CFG/rcpthosts"
  echo 6 > "$CFG/loglevel"
}

smtp() {
  local bin=$1
  shift
  RC=0
  # away from the checkout, so a developer's ./config is never read
  cd "$BATS_TEST_TMPDIR" || return 1
  env -i "${QPIDS[@]}" PATH=/usr/bin:/bin TCPREMOTEIP=192.0.2.1 TCPREMOTEPORT=40000 TCPLOCALIP=192.0.2.2 \
    TCPLOCALPORT=25 QPSMTPD_CONFIG="$CFG" QMAILQUEUE="$FAKEQ" FAKEQ_DIR="$FAKEQ_DIR" \
    ${ASAN_OPTIONS:+ASAN_OPTIONS="$ASAN_OPTIONS"} "$@" \
    timeout 60 "$bin" < "$IN" > "$OUT" 2> "$ERR" || RC=$?
  cd - > /dev/null || return 1
}

codes() {
  tr -d '\r' < "$OUT" | sed -n 's/^\([0-9][0-9][0-9]\) .*/\1/p' | paste -sd' ' -
}

queued() {
  ls "$FAKEQ_DIR" | grep -c '\.msg$' || true
}

# a complete transaction up to and including DATA's 354
envelope() {
  printf 'EHLO client.example\r\nMAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n'
}

# qmail-queue queued nothing: it never ran, or it was started at DATA and
# abandoned, and then failed on its input; never an "ok", never a message
nothing_queued() {
  [ "$(queued)" -eq 0 ] || return 1
  [ ! -e "$FAKEQ_DIR/log" ] || ! grep -Eq '^[0-9]+ ok$' "$FAKEQ_DIR/log"
}

# ---------------------------------------------------------------- transcripts
#
#   transcript BIN [VAR=value...] <<'EOF'
#   EHLO client.example        the client's lines, each sent with CRLF,
#   QUIT                       up to a line "--"
#   --
#   220 test.example ESMTP ... then every line the server sends, in order,
#   ~ 250-test\.example .*     each compared whole and byte for byte, CRLF
#   221 2.0.0 ...              included; a line "~ ERE" matches an extended
#   EOF                        regular expression against the whole line
#
#   expect_replies <<'EOF'     the same check of $OUT alone, after smtp, for
#   ...                        input that text lines cannot carry (bare LF,
#   EOF                        NUL, long lines: made with printf)
#
# An expected line "@keywords" stands for the EHLO keywords every chain
# offers between the greeting line and SIZE (EHLO_KEYWORDS below): a new
# one is added here, not in every transcript. On a difference both fail
# with a unified diff of the expected and the received lines (a line
# without its CRLF is shown with "<no CRLF>").
EHLO_KEYWORDS=(250-PIPELINING 250-8BITMIME 250-SMTPUTF8 250-CHUNKING)

transcript() {
  local bin=$1 line
  shift
  while IFS= read -r line; do
    [ "$line" = -- ] && break
    printf '%s\r\n' "$line"
  done > "$IN"
  smtp "$bin" "$@"
  expect_replies
}

expect_replies() {
  local -a want got raw
  local i l d
  mapfile -t raw
  for l in ${raw[@]+"${raw[@]}"}; do
    if [ "$l" = @keywords ]; then want+=("${EHLO_KEYWORDS[@]}"); else want+=("$l"); fi
  done
  mapfile -t got < "$OUT"
  for i in "${!got[@]}"; do
    l=${got[i]}
    if [[ $l == *$'\r' ]]; then got[i]=${l%$'\r'}; else got[i]="$l<no CRLF>"; fi
  done
  # a last line with CR but no LF
  if [ -s "$OUT" ] && [ -n "$(tail -c 1 "$OUT" | tr -d '\n')" ] && [[ ${got[-1]} != *'<no CRLF>' ]]; then
    got[-1]="${got[-1]}<no CRLF>"
  fi
  # an expected pattern that matches shows as the line it matched
  for i in "${!want[@]}"; do
    [[ ${want[i]} == '~ '* ]] || continue
    [ "$i" -lt "${#got[@]}" ] || continue
    [[ ${got[i]} =~ ^(${want[i]#\~ })$ ]] && want[i]=${got[i]}
  done
  d=$(diff -u --label expected --label received \
    <([ ${#want[@]} -eq 0 ] || printf '%s\n' "${want[@]}") \
    <([ ${#got[@]} -eq 0 ] || printf '%s\n' "${got[@]}")) && return 0
  printf '%s\n' "the server's replies differ from the transcript (- expected, + received):" "$d" >&2
  return 1
}

# ---------------------------------------------------------------- tcpserver
#
#   free_port                         a free TCP port on 127.0.0.1
#   start_server BIN [VAR=value...] [-- WRAPPER...]
#                                     tcpserver on 127.0.0.1:$PORT running
#                                     [WRAPPER...] BIN in ${SRVDIR:-the test's
#                                     temporary directory} with a clean
#                                     environment plus the test's ones, the
#                                     array SRV_ENV and VAR=value...; its log
#                                     and the daemon's in $SRVLOG (default
#                                     server.log in the test's directory);
#                                     pid in $SRVPID
#   stop_server                       kills it and the sessions it runs, by pid
#   listen_retry READY PORTFILE CMD...  another server on a free port (see there)
#   wait_sessions N                   until N sessions have ended (10 s at most)

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A port taken between free_port and the bind is retried with another.
start_server() {
  local bin=$1 i vars=() wrap=()
  shift
  while [ $# -gt 0 ] && [ "$1" != -- ]; do vars+=("$1"); shift; done
  [ "${1:-}" = -- ] && { shift; wrap=("$@"); }
  : "${SRVLOG:=$BATS_TEST_TMPDIR/server.log}"
  listen_retry 'tcpserver: status: 0/' - env -i -C "${SRVDIR:-$BATS_TEST_TMPDIR}" "${QPIDS[@]}" PATH=/usr/bin:/bin \
    QPSMTPD_CONFIG="$CFG" QMAILQUEUE="$FAKEQ" FAKEQ_DIR="$FAKEQ_DIR" ${SRV_ENV[@]+"${SRV_ENV[@]}"} ${vars[@]+"${vars[@]}"} \
    tcpserver -v -R -H -l0 127.0.0.1 @PORT@ ${wrap[@]+"${wrap[@]}"} "$bin"
}

# listen_retry READY PORTFILE COMMAND...: runs COMMAND in the background
# (SRVPID; its output in $SRVLOG) on a free port, PORT, which replaces
# @PORT@ in COMMAND's arguments and is written to PORTFILE (unless it is
# -), until a line of the log matches READY (10 s at most); a port taken
# meanwhile is retried with another. For servers other than start_server's
# tcpserver: a service's run script, systemd-socket-activate.
listen_retry() {
  local ready=$1 portfile=$2 i cmd
  shift 2
  for _ in 1 2 3 4 5; do
    PORT=$(free_port)
    [ "$portfile" = - ] || echo "$PORT" > "$portfile"
    cmd=("${@//@PORT@/$PORT}")
    "${cmd[@]}" > "$SRVLOG" 2>&1 3>&- &
    SRVPID=$!
    for i in $(seq 200); do
      grep -q -e "$ready" "$SRVLOG" && return 0
      kill -0 "$SRVPID" 2> /dev/null || break
      sleep 0.05
    done
    stop_server
  done
  echo "did not start: $(cat "$SRVLOG")" >&2
  return 1
}

stop_server() {
  local kids
  [ -n "${SRVPID:-}" ] || return 0
  kids=$(ps -o pid= --ppid "$SRVPID" 2> /dev/null || true)
  # shellcheck disable=SC2086
  kill "$SRVPID" $kids 2> /dev/null || true
  wait "$SRVPID" 2> /dev/null || true
  SRVPID=
}

wait_sessions() {
  local i
  for i in $(seq 200); do
    [ "$(grep -c 'tcpserver: end ' "$SRVLOG")" -ge "$1" ] && return 0
    sleep 0.05
  done
  echo "fewer than $1 sessions ended" >&2
  return 1
}

# ---------------------------------------------------------------- .debs
#
#   unpack_deb PKG DIR               unpacks (dpkg -x) the .deb of PKG that
#                                    tests/run keeps in tests/bin/debs into
#                                    DIR; fails saying so when it is missing
#
# For programs whose Debian packages conflict with installed ones (exim4
# with postfix, ucspi-tcp-ipv6 with ucspi-tcp): never installed, they run
# from the test's own directory.
unpack_deb() {
  local deb
  deb=$(compgen -G "$TB/debs/${1}_*.deb" | sort -V | tail -n 1)
  if [ -z "$deb" ]; then
    echo "no .deb of $1 in $TB/debs: tests/run --deps downloads it (apt-get download $1), and did not or could not (no network?)" >&2
    return 1
  fi
  mkdir -p "$2" && dpkg -x "$deb" "$2"
}
