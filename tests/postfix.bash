# A private Postfix instance for the tests, loaded with `load postfix`.
# Everything lives under one directory; nothing listens except, when asked,
# smtpd on a loopback port; nothing is sent anywhere: mail for the test
# domain goes through aliases into Maildirs, mail for any other domain is
# bounced by the error transport, and DNS is off.
#
#   pf_setup DIR [SMTPD_PORT]   writes DIR/etc/main.cf and master.cf
#   pf_start DIR                starts it (postfix -c DIR/etc start)
#   pf_stop DIR                 stops it and waits until its master is gone
#   pf_wait_mail MAILDIR N      waits (bounded) for N messages in MAILDIR/new
#
# Recipients bob, carol and dave@test.example are delivered to
# DIR/mail/bob/, DIR/mail/carol/, DIR/mail/dave/ (Maildirs, owned by nobody).

pf_setup() {
  local d=$1 port=${2:-}
  mkdir -p "$d/etc" "$d/spool" "$d/data" "$d/mail"
  chown nobody "$d/mail"
  chown postfix "$d/data"
  chmod 755 "$d"
  cat > "$d/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $d/spool
data_directory = $d/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.test.example
mydomain = test.example
myorigin = test.example
mydestination = test.example
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
default_transport = error:no mail leaves the test instance
relay_transport = error:no mail leaves the test instance
disable_dns_lookups = yes
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
alias_maps = inline:{ bob=$d/mail/bob/, carol=$d/mail/carol/, dave=$d/mail/dave/ }
alias_database =
local_recipient_maps = \$alias_maps
default_privs = nobody
biff = no
maillog_file = $d/maillog
maillog_file_prefixes = $d
message_size_limit = 104857600
mailbox_size_limit = 0
smtpd_banner = \$myhostname ESMTP test instance
smtpd_recipient_restrictions = permit_mynetworks, reject
local_header_rewrite_clients =
EOF
  cat > "$d/etc/master.cf" <<'EOF'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
  if [ -n "$port" ]; then
    echo "127.0.0.1:$port inet n - n - - smtpd" >> "$d/etc/master.cf"
  fi
}

pf_start() {
  postfix -c "$1/etc" start > "$1/start.log" 2>&1 || { cat "$1/start.log"; return 1; }
}

pf_stop() {
  local d=$1 pid i
  pid=$(sed -n '1s/ //gp' "$d/spool/pid/master.pid" 2>/dev/null || true)
  postfix -c "$d/etc" stop > /dev/null 2>&1 || true
  [ -n "$pid" ] || return 0
  for i in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

pf_wait_mail() {
  local m=$1 n=$2 i
  for i in $(seq 150); do
    [ "$(ls "$m/new" 2>/dev/null | wc -l)" -ge "$n" ] && return 0
    sleep 0.1
  done
  echo "no mail in $m after 15 s"
  return 1
}

# a free TCP port on 127.0.0.1
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
