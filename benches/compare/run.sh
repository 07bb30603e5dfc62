#!/usr/bin/env bash
# The checkout in PostgreSQL beside the checkout in Bazaar, on this machine, in one run.
#
# PostgreSQL: schema.sql and checkout.sql (one transaction: reserve a unit with a conditional
# update, insert the order, its line and the ledger's balancing rows, commit with fsync and
# synchronous_commit on) through pgbench, over TCP on loopback, with prepared statements.
# Bazaar: `bazaar sim` in closed-loop mode on flash.toml or spread.toml (full HTTP checkouts
# against an embedded node, PSP simulator at zero added latency).
# Two shapes: flash (one hot SKU for every client) and spread (100,000 SKUs chosen uniformly),
# each at 1, 8 and 64 clients. The contenders take turns: for each shape and client count,
# PostgreSQL then Bazaar, so the machine's other load falls on both.
#
# Usage: benches/compare/run.sh [--quick] [--only pg|bazaar]
#   --quick        10 s per run instead of 30 s.
#   --only pg      PostgreSQL alone (no Rust build); --only bazaar: Bazaar alone.
#   BAZAAR=PATH    a built `bazaar` binary to use instead of `cargo build --release`.
#   PG_SCRIPT=FILE the pgbench script under benches/compare/ (default checkout.sql; also
#                  checkout_one_statement.sql, the same checkout in one round trip).
#
# Prints a table and writes target/bench/compare.json: a flat JSON object whose keys end in
# their unit: pg_flash_c64_per_s, bazaar_flash_c64_per_s, flash_c64_ratio (Bazaar's checkouts/s
# over PostgreSQL's), pg_flash_c64_p99_ms, bazaar_flash_c64_p99_ms, and so on for spread and
# c1, c8. Installs PostgreSQL and jq from the distribution's packages when they are missing,
# runs its own cluster in a temporary directory under target/bench (on the real disk: /tmp may be
# tmpfs, where an fsync costs nothing) and stops everything it started on exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$root/target/bench"

seconds=30
only=""
pg_script="$here/${PG_SCRIPT:-checkout.sql}"
[ -f "$pg_script" ] || { echo "no pgbench script $pg_script" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) seconds=10 ;;
        --only)
            only="${2:-}"
            shift
            [ "$only" = pg ] || [ "$only" = bazaar ] || { echo "--only takes pg or bazaar" >&2; exit 2; }
            ;;
        -h | --help) sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
shapes=(flash spread)
clients=(1 8 64)
spread_skus=100000

log() { printf '%s compare: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# --- What it needs -------------------------------------------------------------------------

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

pg_bin=""
find_pg_bin() {
    local initdb
    initdb=$(command -v initdb || true)
    if [ -z "$initdb" ]; then
        initdb=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
    fi
    [ -n "$initdb" ] && pg_bin=$(dirname "$(readlink -f "$initdb")")
}

need_packages=()
find_pg_bin || true
if [ "$only" != bazaar ] && { [ -z "$pg_bin" ] || [ ! -x "$pg_bin/pgbench" ]; }; then
    need_packages+=(postgresql)
fi
command -v jq >/dev/null || need_packages+=(jq)
if [ ${#need_packages[@]} -gt 0 ]; then
    log "installing ${need_packages[*]} from the distribution's packages"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${need_packages[@]}"
    find_pg_bin || { echo "no initdb after installing postgresql" >&2; exit 1; }
fi

mkdir -p "$out"
# The cluster's scratch directory (removed on exit), and the sim's reports (kept).
work=$(mktemp -d "$out/compare.XXXXXX")
reports="$out/compare"
rm -rf "$reports"
mkdir -p "$reports"

# --- Stopping what it started --------------------------------------------------------------

pg_started=""
sim_pid=""
cleanup() {
    local status=$?
    if [ -n "$sim_pid" ] && kill -0 "$sim_pid" 2>/dev/null; then
        kill -TERM "$sim_pid" 2>/dev/null || true
        wait "$sim_pid" 2>/dev/null || true
    fi
    if [ -n "$pg_started" ]; then
        as_pg_user "$pg_bin/pg_ctl" -D "$work/pgdata" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- PostgreSQL ----------------------------------------------------------------------------

# initdb and postgres refuse to run as root: the cluster belongs to the `postgres` user (or
# `nobody`) then.
pg_user=$(id -un)
if [ "$(id -u)" = 0 ]; then
    if id postgres >/dev/null 2>&1; then pg_user=postgres; else pg_user=nobody; fi
fi
as_pg_user() {
    if [ "$(id -un)" = "$pg_user" ]; then "$@"; else runuser -u "$pg_user" -- "$@"; fi
}

free_port() {
    local port
    for port in $(seq 54320 54399); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    echo "no free port in 54320-54399" >&2
    exit 1
}

pg_port=""
pg_psql() {
    "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U "$pg_user" -d compare "$@"
}

start_pg() {
    pg_port=$(free_port)
    mkdir -p "$work/pgdata" "$work/pgrun"
    chown "$pg_user" "$work" "$work/pgdata" "$work/pgrun"
    as_pg_user "$pg_bin/initdb" -D "$work/pgdata" -U "$pg_user" --auth=trust -E UTF8 \
        --locale=C >"$work/initdb.log"
    # Durable commits, on loopback only; everything else stays at PostgreSQL's defaults, as a
    # fresh install would have them.
    cat >>"$work/pgdata/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$work/pgrun'
fsync = on
synchronous_commit = on
full_page_writes = on
max_connections = 100
EOF
    as_pg_user "$pg_bin/pg_ctl" -D "$work/pgdata" -l "$work/postgres.log" -w start >/dev/null
    pg_started=1
    "$pg_bin/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U "$pg_user" -d postgres -c 'CREATE DATABASE compare'
    pg_psql -v skus="$spread_skus" -f "$here/schema.sql"
    log "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port, data in $work/pgdata"
}

# Each run starts from the same tables: no orders, nothing reserved, a checkpoint behind it.
reset_pg() {
    pg_psql -c 'TRUNCATE ledger, order_lines, orders RESTART IDENTITY' \
        -c 'UPDATE stock SET reserved = 0 WHERE reserved > 0' \
        -c 'VACUUM ANALYZE' -c 'CHECKPOINT'
}

# run_pg SHAPE CLIENTS: sets per_s and p99_ms.
per_s=""
p99_ms=""
run_pg() {
    local shape=$1 c=$2 skus=1 threads=1 logs
    [ "$shape" = spread ] && skus=$spread_skus
    [ "$c" -gt 1 ] && threads=2
    reset_pg
    logs="$work/pgbench-$shape-$c"
    mkdir -p "$logs"
    (cd "$logs" && "$pg_bin/pgbench" -n -M prepared -h 127.0.0.1 -p "$pg_port" -U "$pg_user" \
        -c "$c" -j "$threads" -T "$seconds" -D skus="$skus" -f "$pg_script" \
        -l --log-prefix=tx compare >"$logs/out.txt" 2>"$logs/err.txt") || {
        cat "$logs/err.txt" >&2
        return 1
    }
    per_s=$(awk '/^tps = / {printf "%.1f", $3; exit}' "$logs/out.txt")
    # Per-transaction log lines: client, number, latency in µs, script, epoch s, µs.
    p99_ms=$(cat "$logs"/tx.* | awk '{print $3}' | sort -n |
        awk '{v[NR] = $1} END {i = int(NR * 0.99 + 0.999999); if (i < 1) i = 1; printf "%.2f", v[i] / 1000}')
    # The run's own audit: every committed order has its line, and the ledger balances.
    local check
    check=$(pg_psql -At -c "SELECT (SELECT count(*) FROM orders) || ' ' ||
        (SELECT count(*) FROM order_lines) || ' ' || (SELECT coalesce(sum(amount_minor), 0) FROM ledger) || ' ' ||
        (SELECT count(*) FROM stock WHERE reserved > on_hand)")
    read -r orders lines balance oversold <<<"$check"
    if [ "$orders" != "$lines" ] || [ "$balance" != 0 ] || [ "$oversold" != 0 ]; then
        echo "PostgreSQL audit failed: orders $orders, lines $lines, ledger sum $balance, oversold $oversold" >&2
        return 1
    fi
    log "pg $shape c$c: $per_s checkouts/s, p99 $p99_ms ms ($orders orders, ledger balanced)"
}

# --- Bazaar --------------------------------------------------------------------------------

bazaar=""
build_bazaar() {
    if [ -n "${BAZAAR:-}" ]; then
        bazaar=$BAZAAR
    else
        log "building bazaar (release)"
        (cd "$root" && cargo build --release --bin bazaar)
        bazaar="$root/target/release/bazaar"
    fi
}

# run_bazaar SHAPE CLIENTS: sets per_s and p99_ms from the sim's report.json.
run_bazaar() {
    local shape=$1 c=$2 dir="$reports/$1-c$2" status=0
    mkdir -p "$dir"
    # The sim exits 1 when an SLO or the audit failed: the figures still stand, and the
    # verdict is printed below. 2 is a usage error.
    "$bazaar" sim --scenario "$here/$shape.toml" --seed 1 --clients "$c" --duration "$seconds" \
        --report "$dir" --quiet >"$dir/out.txt" 2>"$dir/err.txt" &
    sim_pid=$!
    wait "$sim_pid" || status=$?
    sim_pid=""
    if [ "$status" -gt 1 ] || [ ! -f "$dir/report.json" ]; then
        cat "$dir/out.txt" "$dir/err.txt" >&2
        echo "bazaar sim failed (exit $status)" >&2
        return 1
    fi
    per_s=$(jq -r '.operations.checkout.per_s' "$dir/report.json")
    p99_ms=$(jq -r '.operations.checkout.p99_ms' "$dir/report.json")
    local verdict=pass
    [ "$status" = 0 ] || verdict="FAILED (see $shape c$c report: SLO or audit)"
    log "bazaar $shape c$c: $per_s checkouts/s, p99 $p99_ms ms, verdict $verdict"
    if [ "$status" != 0 ]; then
        sed -n '1,40p' "$dir/out.txt" >&2
    fi
}

# --- The run -------------------------------------------------------------------------------

declare -A figures
record() { figures[$1]=$2; }

[ "$only" = bazaar ] || start_pg
[ "$only" = pg ] || build_bazaar
[ "$only" = bazaar ] || log "pgbench script $(basename "$pg_script")"
log "$seconds s per run; load average $(cut -d' ' -f1-3 /proc/loadavg)"

for shape in "${shapes[@]}"; do
    for c in "${clients[@]}"; do
        if [ "$only" != bazaar ]; then
            run_pg "$shape" "$c"
            record "pg_${shape}_c${c}_per_s" "$per_s"
            record "pg_${shape}_c${c}_p99_ms" "$p99_ms"
        fi
        if [ "$only" != pg ]; then
            run_bazaar "$shape" "$c"
            record "bazaar_${shape}_c${c}_per_s" "$per_s"
            record "bazaar_${shape}_c${c}_p99_ms" "$p99_ms"
        fi
        if [ -z "$only" ]; then
            record "${shape}_c${c}_ratio" "$(awk -v b="${figures[bazaar_${shape}_c${c}_per_s]}" \
                -v p="${figures[pg_${shape}_c${c}_per_s]}" 'BEGIN {printf "%.3f", b / p}')"
        fi
    done
done
log "done; load average $(cut -d' ' -f1-3 /proc/loadavg)"

# The table: one line per shape and client count.
printf '\n%-8s %7s %12s %12s %12s %12s %8s\n' shape clients pg/s bazaar/s "pg p99 ms" \
    "bazaar p99" ratio
for shape in "${shapes[@]}"; do
    for c in "${clients[@]}"; do
        printf '%-8s %7s %12s %12s %12s %12s %8s\n' "$shape" "$c" \
            "${figures[pg_${shape}_c${c}_per_s]:--}" "${figures[bazaar_${shape}_c${c}_per_s]:--}" \
            "${figures[pg_${shape}_c${c}_p99_ms]:--}" "${figures[bazaar_${shape}_c${c}_p99_ms]:--}" \
            "${figures[${shape}_c${c}_ratio]:--}"
    done
done
echo "ratio: Bazaar's checkouts/s over PostgreSQL's, same shape and clients"

for key in "${!figures[@]}"; do
    printf '%s\t%s\n' "$key" "${figures[$key]}"
done | sort | jq -R -s 'split("\n") | map(select(length > 0) | split("\t") | {(.[0]): (.[1] | tonumber)}) | add' \
    >"$out/compare.json"
echo "wrote $out/compare.json"
