#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite (Debian's postgresql package).
#   tools/pg-test-cluster.sh start DIR [PORT]   prints the SQLAlchemy URL of the cluster
#   tools/pg-test-cluster.sh stop DIR
# Tuned for tests, not for data: fsync is off (the cluster is deleted afterwards). As root the
# server runs as the 'postgres' system user (PostgreSQL refuses to run as root).
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?directory}; port=${3:-55432}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -n "$bindir" ] || { echo "PostgreSQL server not installed (apt-get install postgresql)" >&2; exit 1; }
as_server() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$cmd" in
  start)
    as_server "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"; mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_server "$bindir/initdb" -D "$dir/data" -U orderflow -A trust -E UTF8 --no-sync >/dev/null
    as_server "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
          -c full_page_writes=off -c max_connections=400 -c shared_buffers=128MB" start >/dev/null
    echo "postgresql+psycopg://orderflow@127.0.0.1:$port/postgres"
    ;;
  stop)
    as_server "$bindir/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start|stop DIR [PORT]" >&2; exit 2 ;;
esac
