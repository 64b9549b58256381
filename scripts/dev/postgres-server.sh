#!/usr/bin/env bash
# A throwaway PostgreSQL server for Kiln's tests (Debian's postgresql package): initdb in a temp folder,
# loopback only, trust auth, a free port. Nothing of the machine's own clusters is touched.
#   eval "$(scripts/dev/postgres-server.sh start)"   # exports KILN_TEST_POSTGRES (a URL) and KILN_TEST_POSTGRES_DIR
#   scripts/dev/postgres-server.sh stop "$KILN_TEST_POSTGRES_DIR"
#   KILN_PG_TLS=DIR …start   # TLS only, with DIR/server.crt, server.key and root.crt (the TLS tests)
#   KILN_PG_LISTEN=ADDR …start   # listen on ADDR instead of 127.0.0.1 (the fleet test, inside a namespace)
# Run as root, the server runs as the 'postgres' user (initdb refuses root).
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
as=()
if [ "$(id -u)" -eq 0 ]; then as=(runuser -u postgres --); fi
# The server must inherit no descriptor of the caller's beyond stdin/out/err: Foundation's Process, for one, keeps
# a socket open in its child to see it end, and a server holding it makes the caller wait forever.
detached() { python3 -I -c 'import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:], close_fds=True))' "$@"; }
case "${1:-}" in
start)
    dir=$(mktemp -d /tmp/kiln-postgres.XXXXXX)
    chmod 755 "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; fi
    port=$(python3 -I -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "${as[@]}" "$bin/initdb" -D "$dir/data" -U kiln --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    # KILN_PG_LISTEN: another address to listen on (the fleet test's database host), trusted for its /24.
    listen=${KILN_PG_LISTEN:-127.0.0.1}
    if [ "$listen" != 127.0.0.1 ]; then echo "host all all $listen/24 trust" >>"$dir/data/pg_hba.conf"; fi
    options="-p $port -k $dir -c listen_addresses=$listen -c fsync=off -c max_connections=300"
    if [ -n "${KILN_PG_TLS:-}" ]; then
        # TLS only (the TLS tests): the server's certificate and key, the CA that signs client certificates; plain
        # TCP refused, user 'certuser' by client certificate, everyone else trusted once on TLS.
        cp "$KILN_PG_TLS/server.crt" "$KILN_PG_TLS/server.key" "$KILN_PG_TLS/root.crt" "$dir/"
        chmod 600 "$dir/server.key"
        if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir/server.crt" "$dir/server.key" "$dir/root.crt"; fi
        printf '%s\n' "local all all trust" "hostnossl all all 127.0.0.1/32 reject" \
            "hostssl all certuser 127.0.0.1/32 cert" "hostssl all all 127.0.0.1/32 trust" >"$dir/data/pg_hba.conf"
        options="$options -c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key"
        options="$options -c ssl_ca_file=$dir/root.crt"
    fi
    detached "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "$options" start \
        </dev/null >/dev/null 2>&1 || { cat "$dir/server.log" >&2; exit 1; }
    echo "export KILN_TEST_POSTGRES=postgres://kiln@$listen:$port/postgres KILN_TEST_POSTGRES_DIR=$dir"
    ;;
restart)
    # The server must hold none of the caller's pipes, or a caller reading to EOF would wait forever.
    detached "${as[@]}" "$bin/pg_ctl" -D "$2/data" -l "$2/server.log" -w -m fast restart </dev/null >/dev/null 2>&1
    ;;
stop)
    [ -d "${2:-}" ] || exit 0
    "${as[@]}" "$bin/pg_ctl" -D "$2/data" -w -m fast stop >/dev/null || true
    rm -rf "$2"
    ;;
*)
    echo "usage: $0 start | restart DIR | stop DIR" >&2
    exit 2
    ;;
esac
