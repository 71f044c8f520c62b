#!/bin/sh
# A throwaway PostgreSQL cluster for the tests, in a directory of its own.
#   tests/pgcluster.sh start DIR   initdb + start on a free loopback port;
#                                  prints the apr_dbd/libpq connection string
#   tests/pgcluster.sh stop DIR    stops it (the caller removes DIR)
#   tests/pgcluster.sh run CMD...  a fresh cluster in a temp dir for CMD, with
#                                  B8_DB=pgsql and B8_PG=<connection string> in
#                                  its environment; stopped and removed after
#                                  CMD, whatever its outcome
# PostgreSQL refuses to run as root: as root it runs as the "postgres" user
# that Debian's package creates. Durability is off (the data is thrown away),
# unless B8_PG_DURABLE=1 (benchmarks: PostgreSQL's defaults, fsync on).
set -eu

usage() {
    echo "usage: $0 start|stop DIR, or $0 run COMMAND..." >&2
    exit 2
}
cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
    usage
fi
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "PostgreSQL is not installed (Debian package postgresql)" >&2
    exit 1
fi

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case "$cmd" in
run)
    shift
    # The cluster's directory must be reachable by the postgres user.
    dir=$(mktemp -d /tmp/b8pg-XXXXXX)
    chmod 755 "$dir"
    trap 'sh "$0" stop "$dir/pg"; rm -rf "$dir"' EXIT
    trap 'exit 130' INT TERM
    B8_PG=$(sh "$0" start "$dir/pg")
    export B8_PG
    B8_DB=pgsql
    export B8_DB
    echo "PostgreSQL test cluster: $B8_PG"
    rc=0
    "$@" || rc=$?
    exit $rc
    ;;
start)
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
        chown postgres:postgres "$dir"
    fi
    chmod 700 "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U b8 --auth=trust -E UTF8 --locale=C.UTF-8 \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    if [ "${B8_PG_DURABLE:-0}" = 1 ]; then
        durability=""
    fi
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir \
            -c max_connections=400 $durability -c shared_buffers=64MB" >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
    echo "$port" >"$dir/port.txt" 2>/dev/null || true
    echo "host=127.0.0.1 port=$port user=b8"
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    ;;
*)
    usage
    ;;
esac
