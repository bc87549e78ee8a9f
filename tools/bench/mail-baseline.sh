#!/usr/bin/env bash
# The baseline of `post-bench email`: a private Postfix delivering over LMTP to a private
# Dovecot, both from Debian's packages (tools/install-deps), on loopback ports, with every
# configuration, queue, mailbox, socket and log inside DIR. The system's /etc/postfix and
# /etc/dovecot are neither read for settings nor changed, and no system service is started.
#
#   mail-baseline.sh start DIR SMTP_PORT IMAP_PORT LMTP_PORT AUTH_PORT PASSWD_FILE
#   mail-baseline.sh stop DIR
#
# PASSWD_FILE has the email plugin's format, "user@domain:{CRYPT}<crypt(3) hash>" per line,
# which is also a Dovecot passwd-file. Submission on SMTP_PORT needs AUTH PLAIN: Postfix asks
# Dovecot's auth service (Dovecot SASL on AUTH_PORT), as in a usual Postfix + Dovecot setup.
# Every domain in PASSWD_FILE is a virtual mailbox domain of Postfix; its mail goes over LMTP
# to Dovecot, which writes it to DIR/mail/<user>/Maildir and serves it over IMAP on
# IMAP_PORT. Postfix logs to DIR/postfix.log, Dovecot to DIR/dovecot.log.
#
# Needs root: Postfix's master and Dovecot start as root and drop to their own users (postfix,
# dovecot, dovenull; mailboxes belong to `mail`). Exits non-zero, with the reason on stderr,
# when a step fails; `stop` is safe to run more than once.
set -euo pipefail

die() { echo "mail-baseline: $*" >&2; exit 1; }

start() {
  local dir=$1 smtp_port=$2 imap_port=$3 lmtp_port=$4 auth_port=$5 passwd=$6
  [ "$(id -u)" -eq 0 ] || die "needs root (Postfix and Dovecot drop privileges themselves)"
  command -v postfix >/dev/null && command -v dovecot >/dev/null ||
    die "postfix and dovecot are not installed (tools/install-deps installs them)"
  [ -r "$passwd" ] || die "cannot read $passwd"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  # The daemons run as their own users and must reach their files below DIR.
  chmod 0755 "$dir"
  local parent=$dir
  while [ "$parent" != / ]; do
    parent=$(dirname "$parent")
    [ -x "$parent" ] || die "$parent is not searchable by the mail daemons' users"
  done

  local domains
  domains=$(sed -n 's/^[^#][^:]*@\([^:]*\):.*/\1/p' "$passwd" | sort -u | tr '\n' ' ')
  [ -n "$domains" ] || die "no user@domain lines in $passwd"

  # Dovecot.
  mkdir -p "$dir/dovecot/run" "$dir/dovecot/state" "$dir/mail"
  chown mail:mail "$dir/mail"
  install -m 0640 -o root -g dovecot "$passwd" "$dir/dovecot/passwd"
  cat >"$dir/dovecot/dovecot.conf" <<EOF
# Written by mail-baseline.sh for post-bench: a private instance, nothing from /etc/dovecot.
instance_name = post-bench-$(basename "$dir")
base_dir = $dir/dovecot/run
state_dir = $dir/dovecot/state
log_path = $dir/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 8
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=CRYPT username_format=%u $dir/dovecot/passwd
}
userdb {
  driver = static
  args = uid=mail gid=mail home=$dir/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $imap_port
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $lmtp_port
  }
}
service auth {
  inet_listener {
    address = 127.0.0.1
    port = $auth_port
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0600
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
EOF
  dovecot -c "$dir/dovecot/dovecot.conf" || die "dovecot did not start; see $dir/dovecot.log"

  # Postfix.
  local pf=$dir/postfix
  mkdir -p "$pf" "$dir/postfix-queue" "$dir/postfix-data"
  chown postfix "$dir/postfix-data"
  cat >"$pf/main.cf" <<EOF
# Written by mail-baseline.sh for post-bench: a private instance, nothing from /etc/postfix.
compatibility_level = 3.6
queue_directory = $dir/postfix-queue
data_directory = $dir/postfix-data
mail_owner = postfix
setgid_group = postdrop
myhostname = baseline.localhost
mydomain = localhost
myorigin = \$myhostname
mydestination =
relay_domains =
mynetworks = 127.0.0.0/8
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
alias_maps =
alias_database =
local_transport = error:local delivery is off in this instance
virtual_mailbox_domains = $domains
virtual_mailbox_maps = static:mailbox
virtual_transport = lmtp:inet:127.0.0.1:$lmtp_port
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:$auth_port
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
smtpd_tls_security_level = none
smtp_tls_security_level = none
disable_dns_lookups = yes
smtp_host_lookup = native
lmtp_host_lookup = native
biff = no
maillog_file_prefixes = $dir
maillog_file = $dir/postfix.log
EOF
  # Debian's services (/usr/share/postfix/master.cf.dist) that this setup uses, with smtpd on
  # the benchmark's port and no chroot (a chroot would need copies of /etc files inside the
  # queue directory).
  cat >"$pf/master.cf" <<EOF
127.0.0.1:$smtp_port inet n - n - - smtpd
pickup    unix  n - n 60   1 pickup
cleanup   unix  n - n -    0 cleanup
qmgr      unix  n - n 300  1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n -    - trivial-rewrite
bounce    unix  - - n -    0 bounce
defer     unix  - - n -    0 bounce
trace     unix  - - n -    0 bounce
verify    unix  - - n -    1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -    - proxymap
proxywrite unix - - n -    1 proxymap
smtp      unix  - - n -    - smtp
relay     unix  - - n -    - smtp
showq     unix  n - n -    - showq
error     unix  - - n -    - error
retry     unix  - - n -    - error
discard   unix  - - n -    - discard
lmtp      unix  - - n -    - lmtp
anvil     unix  - - n -    1 anvil
scache    unix  - - n -    1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
  postfix -c "$pf" check >>"$dir/postfix.log" 2>&1 || die "postfix check failed; see $dir/postfix.log"
  postfix -c "$pf" start >>"$dir/postfix.log" 2>&1 || die "postfix did not start; see $dir/postfix.log"
}

stop() {
  local dir=$1 status=0
  if [ -f "$dir/postfix/main.cf" ]; then
    postfix -c "$dir/postfix" stop >>"$dir/postfix.log" 2>&1 || status=1
  fi
  if [ -f "$dir/dovecot/dovecot.conf" ] && [ -e "$dir/dovecot/run/master.pid" ]; then
    dovecot -c "$dir/dovecot/dovecot.conf" stop >>"$dir/dovecot.log" 2>&1 || status=1
  fi
  return $status
}

case "${1:-}" in
  start) [ $# -eq 7 ] || die "usage: $0 start DIR SMTP_PORT IMAP_PORT LMTP_PORT AUTH_PORT PASSWD_FILE"
         start "${@:2}" ;;
  stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"
        stop "$2" ;;
  *) die "usage: $0 start DIR SMTP_PORT IMAP_PORT LMTP_PORT AUTH_PORT PASSWD_FILE | stop DIR" ;;
esac
