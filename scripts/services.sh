#!/usr/bin/env bash
# Makes sure the services the tests talk to answer: PostgreSQL on 127.0.0.1:5432 (trust auth,
# user postgres, database test) and NATS with JetStream on 127.0.0.1:4222; and that the console's
# browser tests find Debian's Chromium and chromedriver.
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

ensure_browser() {
  if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    echo "services: installing Chromium and chromedriver (Debian packages chromium, chromium-driver)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
}

ensure_browser
answers 5432 || start_postgres
answers 4222 || start_nats

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
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  echo "services: Chromium or chromedriver is missing (the console's browser tests need them)." >&2
  echo "  install them with: apt-get install -y chromium chromium-driver" >&2
  failed=1
fi
[ "$failed" = 0 ] || exit 1
echo "services: PostgreSQL (127.0.0.1:5432) and NATS (127.0.0.1:4222) answer; Chromium and chromedriver are installed"
