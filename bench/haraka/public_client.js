// The benchmark's clients connect from 127.0.0.1, which Haraka treats as a
// private address: dnsbl (dns-list), helo.checks and spf then skip their
// checks. This plugin, first in the chain, marks the client as public so
// that they run, as for a client on the Internet.
exports.hook_connect_init = (next, connection) => {
  connection.remote.is_private = false
  connection.remote.is_local = false
  next()
}
