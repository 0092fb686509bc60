#!/usr/bin/env bats
# The Debian package: built from the tree with dpkg-buildpackage (reusing
# the objects tests/run built: -nc in a copy of the tree), checked by
# lintian, installed with dpkg -i, sessions through the installed units'
# commands, a chain rebuilt with qpsmtpd-build, and dpkg --purge at the end.
# There is no systemd as PID 1 here: systemd-socket-activate --accept
# --inetd listens instead of the .socket unit and runs what the @.service
# unit says (ExecStart, User, Group, WorkingDirectory, Environment), with
# the session's standard error in a log file as the journal would have it.
# Addresses: 127.$QPT_NET.84.1 (port 25's unit), 127.$QPT_NET.85.1 (587's
# and 465's).

load helper

PKG=qpsmtpd-c
UNITS=/lib/systemd/system

setup_file() {
  [ "$(id -u)" -eq 0 ] || skip "installs a package: needs root"
  [ -z "${QPSMTPD_SANITIZE:-}${QPSMTPD_HARDENED:-}" ] || skip "the package is the musl build"
  command -v dpkg-buildpackage > /dev/null || skip "dpkg-dev is missing"
  if dpkg-query -W -f='${Status}' "$PKG" 2> /dev/null | grep -q 'ok installed'; then
    echo "$PKG is installed already: not touching it" >&2
    return 1
  fi
  local b=$BATS_FILE_TMPDIR/build
  mkdir -p "$b/src"
  # the tree as tests/run built it, times kept, without the tests' own builds
  # (under the lock the test chains' makes take)
  mkdir -p "$TB"
  flock "$TB/.lock" tar -C "$ROOT" --exclude=./tests/bin --exclude=./.git --exclude=./bench/.work --exclude=./fuzz/bin \
    --exclude=./config --exclude=./debian/"$PKG" --exclude=./debian/.debhelper -cf - . | tar -C "$b/src" -xf -
  (cd "$b/src" && env -u CC_CMD -u LD_CMD DEB_BUILD_OPTIONS="nocheck noautodbgsym" \
    dpkg-buildpackage -b -us -uc -nc) > "$b/build.log" 2>&1 || { tail -n 30 "$b/build.log" >&2; return 1; }
  DEB=$(ls "$b"/"$PKG"_*.deb)
  # the sessions' user and /etc/qpsmtpd/plugins may be there before (Perl
  # qpsmtpd's package makes both): the plugins file is put back at the end
  [ ! -e /etc/qpsmtpd/plugins ] || cp -p /etc/qpsmtpd/plugins "$BATS_FILE_TMPDIR/plugins.before"
  dpkg -i "$DEB" > "$b/install.log" 2>&1 || { cat "$b/install.log" >&2; dpkg --purge "$PKG" > /dev/null 2>&1; return 1; }
  export DEB
  # what this file puts in /etc/qpsmtpd for the sessions, removed at the end
  # (only what it made: a site's own certificate or password file is kept)
  if [ -e /etc/qpsmtpd/ssl ] || [ -e /etc/qpsmtpd/flat_auth_pw ]; then
    echo "/etc/qpsmtpd/ssl or flat_auth_pw exists already: not touching it" >&2
    return 1
  fi
  touch "$BATS_FILE_TMPDIR/made-etc"
  install -d -m 755 /etc/qpsmtpd/ssl
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost -days 2 \
    -keyout /etc/qpsmtpd/ssl/qpsmtpd-server.key -out /etc/qpsmtpd/ssl/qpsmtpd-server.crt 2> /dev/null
  chgrp qpsmtpd /etc/qpsmtpd/ssl/qpsmtpd-server.key
  chmod 640 /etc/qpsmtpd/ssl/qpsmtpd-server.key
  echo 'alice@example.com:s3cret' > /etc/qpsmtpd/flat_auth_pw
  chgrp qpsmtpd /etc/qpsmtpd/flat_auth_pw
  chmod 640 /etc/qpsmtpd/flat_auth_pw
}

teardown_file() {
  [ "$(id -u)" -eq 0 ] || return 0
  [ ! -e "$BATS_FILE_TMPDIR/made-etc" ] || rm -rf /etc/qpsmtpd/ssl /etc/qpsmtpd/flat_auth_pw
  if [ -e "$BATS_FILE_TMPDIR/plugins.before" ]; then cp -p "$BATS_FILE_TMPDIR/plugins.before" /etc/qpsmtpd/plugins
  else rm -f /etc/qpsmtpd/plugins; fi
  dpkg --purge "$PKG" > /dev/null 2>&1 || true
}

setup() {
  SRVLOG=$BATS_TEST_TMPDIR/session.log
  SRVPID=
  Q=$BATS_TEST_TMPDIR/q
  mkdir -p "$Q"
  chmod 1777 "$BATS_TEST_TMPDIR" "$Q"
  # the site's control files the MX unit reads first (QPSMTPD_CONFIG: the
  # unit sets none), then ./config, which is /etc/qpsmtpd
  CFG=$BATS_TEST_TMPDIR/cfg
  mkdir -p "$CFG"
  echo mx.example > "$CFG/me"
  echo example.com > "$CFG/rcpthosts"
  echo 6 > "$CFG/loglevel"
  chmod -R a+rX "$CFG"
}

teardown() {
  stop_server
}

# unit_value UNIT KEY: the values of KEY= in an installed unit, one a line
unit_value() {
  sed -n "s/^$2=//p" "$UNITS/$1"
}

# serve UNIT ADDR [VAR=value...]: systemd-socket-activate on ADDR:PORT (a
# free port; sets PORT) running what the service unit UNIT says, as its
# User and Group, in its WorkingDirectory, with its Environment, systemd's
# PATH and the given variables (the test's queue)
serve() {
  local unit=$1 addr=$2 user group wd exe envs=() e
  shift 2
  user=$(unit_value "$unit" User)
  group=$(unit_value "$unit" Group)
  wd=$(unit_value "$unit" WorkingDirectory)
  exe=$(unit_value "$unit" ExecStart)
  [ "$(unit_value "$unit" StandardError)" = journal ]
  [ -n "$user" ] && [ -n "$group" ] && [ -n "$wd" ] && [ -x "$exe" ]
  for e in $(unit_value "$unit" Environment) PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"; do
    envs+=(-E "$e")
  done
  listen_retry "Listening on $addr:" - systemd-socket-activate --accept --inetd -l "$addr:@PORT@" "${envs[@]}" \
    setpriv --reuid="$user" --regid="$group" --init-groups env -C "$wd" "$exe"
}

@test "package: lintian finds no error" {
  command -v lintian > /dev/null || skip "lintian is missing"
  run lintian "$DEB"
  [ "$status" -lt 2 ]
  refute_output --regexp '^E:'
}

@test "package: installs the binaries, qpsmtpd-build, the units, the man pages and the sample configuration" {
  run /usr/sbin/qpsmtpd -V
  assert_success
  assert_output "$(echo 'qpsmtpd 0.1'; grep -v -e '^#' -e '^$' "$ROOT/control/plugins")"
  run /usr/sbin/qpsmtpd-submission -V
  assert_success
  assert_line 'auth/auth_flat_file'
  assert_line 'relay only'
  for u in qpsmtpd qpsmtpd-submission qpsmtpd-smtps; do
    [ "$(unit_value "$u.socket" Accept)" = yes ]
    [ -r "$UNITS/$u@.service" ]
  done
  [ "$(unit_value qpsmtpd.socket ListenStream)" = 25 ]
  [ "$(unit_value qpsmtpd-submission.socket ListenStream)" = 587 ]
  [ "$(unit_value qpsmtpd-smtps.socket ListenStream)" = 465 ]
  [ -x /usr/sbin/qpsmtpd-build ]
  # systemd's own reading of the units (no PID 1 needed)
  run systemd-analyze verify "$UNITS"/qpsmtpd{,-submission,-smtps}.socket "$UNITS"/qpsmtpd{,-submission,-smtps}@.service
  assert_success
  assert_output ''
  man -w qpsmtpd qpsmtpd-build qpsmtpd-submission > /dev/null
  [ "$(cat /etc/qpsmtpd/submission/tls_before_auth)" = 1 ]
  [ "$(readlink /var/lib/qpsmtpd/config)" = /etc/qpsmtpd ]
  id qpsmtpd
  # not enabled nor started on installation: port 25 is another MTA's until
  # the administrator switches
  [ ! -e /etc/systemd/system/sockets.target.wants/qpsmtpd.socket ]
}

@test "package: port 25's unit receives mail, the session runs as qpsmtpd and logs to stderr, not to the client" {
  serve qpsmtpd@.service "127.$QPT_NET.84.1" QPSMTPD_CONFIG="$CFG" QMAILQUEUE="$FAKEQ" FAKEQ_DIR="$Q"
  run timeout 20 swaks --server "127.$QPT_NET.84.1:$PORT" --local-interface "127.$QPT_NET.84.2" --helo client.example \
    --from alice@sender.example --to bob@example.com
  assert_success
  assert_output --partial '<-  220 mx.example ESMTP'
  assert_output --regexp '<-  250 2\.0\.0 Queued'
  refute_output --partial 'info ('
  [ "$(stat -c %U "$Q/1.msg")" = qpsmtpd ]
  # the client's address from the socket: systemd sets no TCPREMOTEIP
  grep -q "^Received: from \[127\.$QPT_NET\.84\.2\] (HELO client.example) (127\.$QPT_NET\.84\.2)" "$Q/1.msg"
  grep -q 'info (rcpt) rcpt_ok: pass' "$SRVLOG"
  # not a relay
  run timeout 20 swaks --server "127.$QPT_NET.84.1:$PORT" --local-interface "127.$QPT_NET.84.2" --from a@sender.example --to bob@elsewhere.example
  assert_output --regexp '<\*\* +550 5\.7\.1'
}

@test "package: port 587's unit: AUTH only after STARTTLS, then mail is queued; no AUTH, no recipient" {
  serve qpsmtpd-submission@.service "127.$QPT_NET.85.1" QMAILQUEUE="$FAKEQ" FAKEQ_DIR="$Q"
  # no TLS: no AUTH offered (tls_before_auth in /etc/qpsmtpd/submission)
  run timeout 20 swaks --server "127.$QPT_NET.85.1:$PORT" --local-interface "127.$QPT_NET.85.2" --from alice@example.com --to bob@elsewhere.example \
    --auth PLAIN --auth-user alice@example.com --auth-password s3cret
  assert_failure
  refute_output --partial '235 '
  # no AUTH: every recipient refused
  run timeout 20 swaks --server "127.$QPT_NET.85.1:$PORT" --local-interface "127.$QPT_NET.85.2" --tls --from alice@example.com --to bob@elsewhere.example
  assert_output --regexp '<~?\*+ +550 5\.7\.1 Relaying denied'
  [ ! -e "$Q/1.msg" ]
  run timeout 20 swaks --server "127.$QPT_NET.85.1:$PORT" --local-interface "127.$QPT_NET.85.2" --tls --from alice@example.com --to bob@elsewhere.example \
    --auth PLAIN --auth-user alice@example.com --auth-password s3cret
  assert_success
  assert_output --regexp '<~  235 2\.7\.0'
  assert_output --regexp '<~  250 2\.0\.0 Queued!'
  grep -q 'with ESMTPSA' "$Q/1.msg"
}

@test "package: port 465's unit: the submission chain under implicit TLS" {
  serve qpsmtpd-smtps@.service "127.$QPT_NET.85.1" QMAILQUEUE="$FAKEQ" FAKEQ_DIR="$Q"
  run timeout 20 swaks --server "127.$QPT_NET.85.1:$PORT" --local-interface "127.$QPT_NET.85.2" --tls-on-connect --from alice@example.com \
    --to bob@elsewhere.example --auth PLAIN --auth-user alice@example.com --auth-password s3cret
  assert_success
  assert_output --regexp '<~  250 2\.0\.0 Queued!'
}

@test "package: qpsmtpd-build relinks /etc/qpsmtpd/plugins byte for byte, swaps a new chain in by rename, keeps the old one on a bad file" {
  local ino
  cp "$ROOT/control/plugins" /etc/qpsmtpd/plugins
  cp -p /usr/sbin/qpsmtpd "$BATS_TEST_TMPDIR/shipped"
  # the unchanged chain: the shipped binary again
  run /usr/sbin/qpsmtpd-build /etc/qpsmtpd/plugins
  assert_success
  cmp /usr/sbin/qpsmtpd "$BATS_TEST_TMPDIR/shipped"
  # a bad argument: refused, the binary stays
  sed 's/^count_unrecognized_commands 4$/count_unrecognized_commands x/' "$ROOT/control/plugins" > /etc/qpsmtpd/plugins
  run /usr/sbin/qpsmtpd-build /etc/qpsmtpd/plugins
  assert_failure 100
  assert_output --partial 'count_unrecognized_commands'
  cmp /usr/sbin/qpsmtpd "$BATS_TEST_TMPDIR/shipped"
  # an unknown plugin
  echo no_such_plugin >> /etc/qpsmtpd/plugins
  run /usr/sbin/qpsmtpd-build /etc/qpsmtpd/plugins
  assert_failure 100
  cmp /usr/sbin/qpsmtpd "$BATS_TEST_TMPDIR/shipped"
  # a new queue: Maildir; the next session runs it, nothing restarted
  mkdir -p "$BATS_TEST_TMPDIR/Maildir"/{tmp,new,cur}
  chown -R qpsmtpd "$BATS_TEST_TMPDIR/Maildir"
  sed "s|^queue/qmail-queue\$|queue/maildir $BATS_TEST_TMPDIR/Maildir|" "$ROOT/control/plugins" > /etc/qpsmtpd/plugins
  serve qpsmtpd@.service "127.$QPT_NET.84.1" QPSMTPD_CONFIG="$CFG" QMAILQUEUE="$FAKEQ" FAKEQ_DIR="$Q"
  ino=$(stat -c %i /usr/sbin/qpsmtpd)
  run /usr/sbin/qpsmtpd-build
  assert_success
  [ "$(stat -c %i /usr/sbin/qpsmtpd)" != "$ino" ]
  [ -z "$(ls -A /usr/sbin | grep '^\.qpsmtpd')" ]
  run /usr/sbin/qpsmtpd -V
  assert_line "queue/maildir $BATS_TEST_TMPDIR/Maildir"
  run timeout 20 swaks --server "127.$QPT_NET.84.1:$PORT" --local-interface "127.$QPT_NET.84.2" --from alice@sender.example --to bob@example.com
  assert_output --regexp '<-  250 2\.0\.0 Queued'
  [ "$(ls "$BATS_TEST_TMPDIR/Maildir/new" | wc -l)" -eq 1 ]
  [ ! -e "$Q/1.msg" ]
}

@test "make install: PREFIX and DESTDIR, installed paths inside the files, configuration kept; make uninstall removes the rest" {
  local d=$BATS_TEST_TMPDIR/root
  mkdir -p "$d/etc/qpsmtpd"
  echo 'badmailfrom' > "$d/etc/qpsmtpd/plugins"
  run flock "$TB/.lock" make -s -C "$ROOT" install DESTDIR="$d" PREFIX=/opt/qp
  assert_success
  cmp "$ROOT/qpsmtpd" "$d/opt/qp/sbin/qpsmtpd"
  cmp "$ROOT/qpsmtpd-submission" "$d/opt/qp/sbin/qpsmtpd-submission"
  [ -x "$d/opt/qp/sbin/qpsmtpd-build" ]
  [ -r "$d/opt/qp/share/man/man8/qpsmtpd.8" ]
  grep -qx 'LIB=/opt/qp/lib/qpsmtpd' "$d/opt/qp/sbin/qpsmtpd-build"
  grep -qx 'ExecStart=/opt/qp/sbin/qpsmtpd-submission' "$d/opt/qp/lib/systemd/system/qpsmtpd-smtps@.service"
  grep -q "^LD_CMD='$(head -n 1 "$ROOT/conf-ld")'\$" "$d/opt/qp/lib/qpsmtpd/build.conf"
  [ "$(readlink "$d/var/lib/qpsmtpd/config")" = /etc/qpsmtpd ]
  [ "$(readlink "$d/opt/qp/share/qpsmtpd/service/qpsmtpd-submission/qpsmtpd-submission")" = /opt/qp/sbin/qpsmtpd-submission ]
  # the site's plugins file stays; the missing ones come from the sample
  [ "$(cat "$d/etc/qpsmtpd/plugins")" = badmailfrom ]
  cmp "$ROOT/control/plugins-submission" "$d/etc/qpsmtpd/plugins-submission"
  [ "$(cat "$d/etc/qpsmtpd/submission/tls_before_auth")" = 1 ]
  run flock "$TB/.lock" make -s -C "$ROOT" uninstall DESTDIR="$d" PREFIX=/opt/qp
  assert_success
  run bash -c 'find "$1" -type f | sort' find "$d"
  assert_output "$(printf '%s\n' "$d/etc/qpsmtpd/plugins" "$d/etc/qpsmtpd/plugins-submission" \
    "$d/etc/qpsmtpd/loglevel" "$d/etc/qpsmtpd/submission/tls_before_auth" | sort)"
}

@test "run-submission: tcpserver on config/SUBMISSIONPORT with ./qpsmtpd-submission, AUTH only over TLS (config/submission/tls_before_auth made)" {
  local user=nobody svc
  id qpsmtpd > /dev/null 2>&1 && user=qpsmtpd
  svc=$BATS_TEST_TMPDIR/svc
  mkdir -p "$svc/config/ssl"
  chmod 755 "$svc"
  cp "$ROOT/run" "$ROOT/run-submission" "$ROOT/qpsmtpd-submission" "$svc/"
  echo "127.$QPT_NET.85.1" > "$svc/config/IP"
  echo mx.example > "$svc/config/me"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost -days 2 \
    -keyout "$svc/config/ssl/qpsmtpd-server.key" -out "$svc/config/ssl/qpsmtpd-server.crt" 2> /dev/null
  echo 'alice@example.com:s3cret' > "$svc/config/flat_auth_pw"
  chgrp "$(id -g "$user")" "$svc/config/ssl/qpsmtpd-server.key" "$svc/config/flat_auth_pw"
  chmod 640 "$svc/config/ssl/qpsmtpd-server.key" "$svc/config/flat_auth_pw"
  listen_retry 'tcpserver: status: 0/' "$svc/config/SUBMISSIONPORT" \
    env -i PATH=/usr/bin:/bin QMAILQUEUE="$FAKEQ" FAKEQ_DIR="$Q" "$svc/run-submission"
  [ "$(cat "$svc/config/submission/tls_before_auth")" = 1 ]
  run timeout 20 swaks --server "127.$QPT_NET.85.1:$PORT" --local-interface "127.$QPT_NET.85.2" --from alice@example.com \
    --to bob@elsewhere.example --auth PLAIN --auth-user alice@example.com --auth-password s3cret
  assert_failure
  refute_output --partial '235 '
  run timeout 20 swaks --server "127.$QPT_NET.85.1:$PORT" --local-interface "127.$QPT_NET.85.2" --tls --from alice@example.com \
    --to bob@elsewhere.example --auth PLAIN --auth-user alice@example.com --auth-password s3cret
  assert_success
  assert_output --regexp '<~  250 2\.0\.0 Queued!'
  [ "$(stat -c %U "$Q/1.msg")" = "$user" ]
}
