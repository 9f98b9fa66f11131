#!/usr/bin/env bash
# Makes sure the services the tests talk to answer: PostgreSQL on 127.0.0.1:5432 (trust auth,
# user postgres, database test), NATS with JetStream on 127.0.0.1:4222, and an SMTP server on
# 127.0.0.1:2525 that stores every mail it accepts in the Maildir /tmp/switchboard-smtp/maildir
# (aiosmtpd's Mailbox handler, Debian package python3-aiosmtpd), and Dovecot (Debian package
# dovecot-imapd) with the test user switchboard / switchboard-test on 127.0.0.1:3143 (plain) and
# 3993 (TLS, a certificate for localhost from the test CA /tmp/switchboard-imap/ca.pem); and that
# the console's browser tests find Debian's Chromium and chromedriver, and Debian's Firefox ESR
# (package firefox-esr) with geckodriver (not packaged by Debian: built once from crates.io with
# `cargo install geckodriver --locked` into ~/.cache/switchboard/geckodriver, where the tests
# look for it when it is not on PATH).
# On a machine where they are not running, starts them from Debian's packages (installing
# them if needed) in a throwaway folder. Fails loudly, saying what to do, if they still do not
# answer.
set -euo pipefail

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_postgres() {
  if ! command -v pg_ctlcluster >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "services: installing PostgreSQL (Debian package postgresql)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  if ls /etc/postgresql/*/main >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  if ! answers 5432; then
    local bin dir
    bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | head -1)")
    dir=$(mktemp -d /tmp/switchboard-pg.XXXXXX)
    chown postgres "$dir"
    su postgres -c "$bin/initdb -D $dir/data -A trust -U postgres >/dev/null"
    su postgres -c "$bin/pg_ctl -D $dir/data -o '-c listen_addresses=127.0.0.1 -p 5432 -k $dir' -l $dir/log start >/dev/null"
  fi
  for _ in $(seq 1 30); do answers 5432 && break; sleep 1; done
  psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname='test'" 2>/dev/null | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test" >/dev/null 2>&1 || true
}

start_nats() {
  if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then
    echo "services: installing NATS (Debian package nats-server)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
  fi
  local bin dir
  bin=$(command -v nats-server || echo /usr/sbin/nats-server)
  dir=$(mktemp -d /tmp/switchboard-nats.XXXXXX)
  nohup "$bin" -a 127.0.0.1 -p 4222 -js -sd "$dir" >"$dir/log" 2>&1 &
  for _ in $(seq 1 30); do answers 4222 && break; sleep 1; done
}

SMTP_PORT=2525
SMTP_DIR=/tmp/switchboard-smtp

start_smtp() {
  # Debian's python3 (the package's module is not on another interpreter's path).
  if ! /usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
    echo "services: installing the test SMTP server (Debian package python3-aiosmtpd)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-aiosmtpd >/dev/null
  fi
  mkdir -p "$SMTP_DIR/maildir/tmp" "$SMTP_DIR/maildir/new" "$SMTP_DIR/maildir/cur"
  nohup /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" -c aiosmtpd.handlers.Mailbox "$SMTP_DIR/maildir" >"$SMTP_DIR/log" 2>&1 &
  for _ in $(seq 1 30); do answers "$SMTP_PORT" && break; sleep 1; done
}

IMAP_PORT=3143
IMAPS_PORT=3993
IMAP_DIR=/tmp/switchboard-imap

start_imap() {
  if ! command -v dovecot >/dev/null 2>&1; then
    echo "services: installing the test IMAP server (Debian package dovecot-imapd)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null
  fi
  mkdir -p "$IMAP_DIR/run" "$IMAP_DIR/state" "$IMAP_DIR/home"
  chown nobody:nogroup "$IMAP_DIR/home"
  echo "switchboard:{PLAIN}switchboard-test" >"$IMAP_DIR/users"
  if [ ! -f "$IMAP_DIR/ca.pem" ]; then
    # A test CA (what the tests trust) and the server's certificate for localhost signed by it:
    # rustls refuses a CA certificate used as the server's own.
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$IMAP_DIR/ca.key" -out "$IMAP_DIR/ca.pem" -days 3650 \
      -subj "/CN=Switchboard test CA" >/dev/null 2>&1
    openssl req -newkey rsa:2048 -nodes -keyout "$IMAP_DIR/key.pem" -out "$IMAP_DIR/server.csr" -subj /CN=localhost >/dev/null 2>&1
    printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n' >"$IMAP_DIR/server.ext"
    openssl x509 -req -in "$IMAP_DIR/server.csr" -CA "$IMAP_DIR/ca.pem" -CAkey "$IMAP_DIR/ca.key" -CAcreateserial \
      -out "$IMAP_DIR/cert.pem" -days 3650 -extfile "$IMAP_DIR/server.ext" >/dev/null 2>&1
  fi
  cat >"$IMAP_DIR/dovecot.conf" <<CONF
protocols = imap
listen = 127.0.0.1
base_dir = $IMAP_DIR/run
state_dir = $IMAP_DIR/state
log_path = $IMAP_DIR/log
ssl = yes
ssl_cert = <$IMAP_DIR/cert.pem
ssl_key = <$IMAP_DIR/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:$IMAP_DIR/home/%u/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $IMAP_DIR/users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$IMAP_DIR/home/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
CONF
  dovecot -c "$IMAP_DIR/dovecot.conf"
  for _ in $(seq 1 30); do answers "$IMAP_PORT" && answers "$IMAPS_PORT" && break; sleep 1; done
}

ensure_browser() {
  if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    echo "services: installing Chromium and chromedriver (Debian packages chromium, chromium-driver)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
}

GECKODRIVER_ROOT="$HOME/.cache/switchboard/geckodriver"

has_geckodriver() { command -v geckodriver >/dev/null 2>&1 || [ -x "$GECKODRIVER_ROOT/bin/geckodriver" ]; }

ensure_firefox() {
  if ! command -v firefox-esr >/dev/null 2>&1 && ! command -v firefox >/dev/null 2>&1; then
    echo "services: installing Firefox (Debian package firefox-esr)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq firefox-esr >/dev/null
  fi
  if ! has_geckodriver; then
    echo "services: building geckodriver from crates.io into $GECKODRIVER_ROOT (once; a few minutes)"
    cargo install geckodriver --locked --quiet --root "$GECKODRIVER_ROOT"
  fi
}

ensure_browser
ensure_firefox
answers 5432 || start_postgres
answers 4222 || start_nats
answers "$SMTP_PORT" || start_smtp
answers "$IMAP_PORT" || start_imap

failed=0
if ! answers 5432; then
  echo "services: PostgreSQL does not answer on 127.0.0.1:5432." >&2
  echo "  start it with: pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start" >&2
  failed=1
fi
if ! answers 4222; then
  echo "services: NATS does not answer on 127.0.0.1:4222." >&2
  echo "  start it with: nats-server -a 127.0.0.1 -p 4222 -js -sd /tmp/nats &" >&2
  failed=1
fi
if ! answers "$SMTP_PORT"; then
  echo "services: the test SMTP server does not answer on 127.0.0.1:$SMTP_PORT." >&2
  echo "  start it with: mkdir -p $SMTP_DIR/maildir/{tmp,new,cur} && /usr/bin/python3 -m aiosmtpd -n -l 127.0.0.1:$SMTP_PORT -c aiosmtpd.handlers.Mailbox $SMTP_DIR/maildir &" >&2
  failed=1
fi
if ! answers "$IMAP_PORT" || ! answers "$IMAPS_PORT"; then
  echo "services: the test IMAP server (Dovecot) does not answer on 127.0.0.1:$IMAP_PORT and $IMAPS_PORT." >&2
  echo "  see $IMAP_DIR/log; start it with: dovecot -c $IMAP_DIR/dovecot.conf (scripts/services.sh writes that file)" >&2
  failed=1
fi
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  echo "services: Chromium or chromedriver is missing (the console's browser tests need them)." >&2
  echo "  install them with: apt-get install -y chromium chromium-driver" >&2
  failed=1
fi
if { ! command -v firefox-esr >/dev/null 2>&1 && ! command -v firefox >/dev/null 2>&1; } || ! has_geckodriver; then
  echo "services: Firefox or geckodriver is missing (the console's browser tests run the main flow in Firefox too)." >&2
  echo "  install them with: apt-get install -y firefox-esr && cargo install geckodriver --locked --root $GECKODRIVER_ROOT" >&2
  failed=1
fi
[ "$failed" = 0 ] || exit 1
echo "services: PostgreSQL (127.0.0.1:5432), NATS (127.0.0.1:4222), SMTP (127.0.0.1:$SMTP_PORT, Maildir $SMTP_DIR/maildir) and IMAP (127.0.0.1:$IMAP_PORT, TLS $IMAPS_PORT) answer; Chromium with chromedriver and Firefox with geckodriver are installed"
