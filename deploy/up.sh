#!/usr/bin/env bash
# The whole stack on this machine, without Docker: RabbitMQ and PostgreSQL
# (deploy/services.sh), a release build, the workers in the background, and
# the HTTP API with the web page (`newspipe serve`) on 127.0.0.1:${NEWSPIPE_API_PORT:-8080}.
#
#   deploy/up.sh [--fetchers N] [--extractors N] [--stores N] [--warc-readers N] [--renderers N]
#                [--demo] [--no-build]
#
#   --renderers N  renderers of pages built by JavaScript (default 1; Debian's chromium is installed
#               when missing; 0: such pages are extracted as fetched, docs/rendering.md)
#   --demo      also serve the demo article pages under deploy/demo/ on
#               http://127.0.0.1:8765/, submit them, wait, export them, make
#               a read token and search them through the API
#   --no-build  use the binaries already built
#
# Running it again adjusts the number of each worker to the one asked for
# (instances already running are kept). Logs and pidfiles live in
# ${NEWSPIPE_SERVICES_DIR:-/tmp/newspipe-services}/workers/; stop with
# deploy/down.sh (add --services to stop RabbitMQ and PostgreSQL too).
set -euo pipefail

# shellcheck source=deploy/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

count_arg() { # count_arg OPTION VALUE
    [[ "${2:-}" =~ ^[0-9]+$ ]] || die "$1 needs a number (got '${2:-}')"
    printf '%s\n' "$2"
}

fetchers=1 extractors=1 stores=1 warc_readers=1 renderers=1 demo=0 build=1
while [ $# -gt 0 ]; do
    case "$1" in
    --fetchers) fetchers="$(count_arg "$1" "${2:-}")"; shift 2 ;;
    --extractors) extractors="$(count_arg "$1" "${2:-}")"; shift 2 ;;
    --stores) stores="$(count_arg "$1" "${2:-}")"; shift 2 ;;
    --warc-readers) warc_readers="$(count_arg "$1" "${2:-}")"; shift 2 ;;
    --renderers) renderers="$(count_arg "$1" "${2:-}")"; shift 2 ;;
    --fetchers=*) fetchers="$(count_arg --fetchers "${1#*=}")"; shift ;;
    --extractors=*) extractors="$(count_arg --extractors "${1#*=}")"; shift ;;
    --stores=*) stores="$(count_arg --stores "${1#*=}")"; shift ;;
    --warc-readers=*) warc_readers="$(count_arg --warc-readers "${1#*=}")"; shift ;;
    --renderers=*) renderers="$(count_arg --renderers "${1#*=}")"; shift ;;
    --demo) demo=1; shift ;;
    --no-build) build=0; shift ;;
    -h | --help) usage ;;
    *) echo "unknown argument: $1" >&2; usage ;;
    esac
done

DIR="$NEWSPIPE_SERVICES_DIR"
WORKERS="$DIR/workers"
DEMO_PORT="${NEWSPIPE_DEMO_PORT:-8765}"
API_PORT="${NEWSPIPE_API_PORT:-8080}"
TARGET_DIR="${CARGO_TARGET_DIR:-$NEWSPIPE_REPO/target}"
BIN="$TARGET_DIR/release"

section "services"
"$NEWSPIPE_REPO/deploy/services.sh" start
# AMQP_URL and DATABASE_URL, as the workers and the CLI will see them.
set -a
# shellcheck source=/dev/null
. "$DIR/env"
set +a

if [ "$build" -eq 1 ]; then
    section "build"
    (cd "$NEWSPIPE_REPO" && cargo build --release --bins)
fi
for b in newspipe newspipe-fetcher newspipe-extractor newspipe-store newspipe-warc-reader newspipe-renderer; do
    [ -x "$BIN/$b" ] || die "$BIN/$b is missing: build first (cargo build --release --bins)"
done

if [ "$renderers" -gt 0 ]; then
    # The renderer's browser (renderer.chromium: /usr/bin/chromium). As root, the renderer runs it as
    # renderer.user (nobody) with its sandbox.
    ensure_apt_packages chromium
fi

section "workers"
# The schema's owner applies the migrations: the workers' own roles may not.
"$BIN/newspipe" migrate
mkdir -p "$WORKERS"
chmod 700 "$WORKERS"

alive() { [ -s "$1" ] && pid_alive "$(cat "$1")"; }

# Starts instance $2 of worker $1 unless it already runs.
start_worker() {
    local kind="$1" i="$2" pidf="$WORKERS/$1-$2.pid" log="$WORKERS/$1-$2.log"
    if alive "$pidf"; then
        log "$kind #$i already running (pid $(cat "$pidf"))"
        return 0
    fi
    # Least privilege: each worker gets only the credentials it needs.
    local envs=(
        "AMQP_URL=$AMQP_URL"
        "NEWSPIPE__METRICS__PORT=0" # several workers per host: any free port, logged at start
        "NEWSPIPE__FETCHER__ALLOW_PRIVATE_ADDRESSES=${NEWSPIPE__FETCHER__ALLOW_PRIVATE_ADDRESSES:-true}"
    )
    # The store writes articles and outcomes; fetchers share per-host politeness and URL claims there.
    # Each on its own role (deploy/postgres/worker-roles.sql), which may do just that.
    case "$kind" in
    store) envs+=("DATABASE_URL=${STORE_DATABASE_URL:-$DATABASE_URL}") ;;
    fetcher) envs+=("DATABASE_URL=${FETCHER_DATABASE_URL:-$DATABASE_URL}") ;;
    warc-reader) envs+=("DATABASE_URL=${WARC_READER_DATABASE_URL:-$DATABASE_URL}") ;;
    api) envs+=("DATABASE_URL=${API_DATABASE_URL:-$DATABASE_URL}") ;;
    esac
    local program=("$BIN/newspipe-$kind")
    [ "$kind" = api ] && program=("$BIN/newspipe" serve --listen "127.0.0.1:$API_PORT")
    # env -u: the caller's database URLs (exported above) must reach only the
    # worker each is for; the extractor needs no database. setsid +
    # redirections: detached from this terminal, so closing it does not stop them.
    setsid env -u DATABASE_URL -u STORE_DATABASE_URL -u FETCHER_DATABASE_URL -u WARC_READER_DATABASE_URL -u API_DATABASE_URL "${envs[@]}" \
        "${program[@]}" </dev/null >>"$log" 2>&1 &
    echo $! >"$pidf"
    log "$kind #$i started (pid $!, log $log)"
}

# Stops instances of $1 numbered above $2 (scaling down on a second run).
stop_extra() {
    local kind="$1" keep="$2" pidf n pid
    for pidf in "$WORKERS/$kind"-*.pid; do
        [ -e "$pidf" ] || continue
        n="${pidf##*-}"
        n="${n%.pid}"
        [ "$n" -gt "$keep" ] || continue
        if alive "$pidf"; then
            pid="$(cat "$pidf")"
            log "$kind #$n stopping (scaling down to $keep)"
            kill -TERM "$pid" 2>/dev/null || true
        fi
        rm -f "$pidf"
    done
}

declare -A want=([fetcher]="$fetchers" [extractor]="$extractors" [store]="$stores" [warc-reader]="$warc_readers" [renderer]="$renderers" [api]=1)
for kind in fetcher extractor store warc-reader renderer api; do
    stop_extra "$kind" "${want[$kind]}"
    n="${want[$kind]}"
    for ((i = 1; i <= n; i++)); do
        start_worker "$kind" "$i"
    done
done

# A worker with a bad setting exits at once (code 2): catch that here rather
# than leave the user wondering why nothing moves.
sleep 2
failed=0
for pidf in "$WORKERS"/*.pid; do
    [ -e "$pidf" ] || continue
    if ! alive "$pidf"; then
        name="$(basename "$pidf" .pid)"
        echo "$name exited at start; last lines of $WORKERS/$name.log:" >&2
        tail -n 20 "$WORKERS/$name.log" >&2 || true
        rm -f "$pidf"
        failed=1
    fi
done
[ "$failed" -eq 0 ] || die "some workers did not start (see above); deploy/down.sh stops the rest"

cat <<EOF

newspipe is running: $fetchers fetcher(s), $extractors extractor(s), $stores store(s), $warc_readers WARC reader(s),
$renderers renderer(s).
The API and the web page: http://127.0.0.1:$API_PORT/ (OpenAPI: /openapi.json; docs/api.md)
Logs: $WORKERS/*.log (each worker logs its /healthz and /metrics port at start)

Use the command line from this shell:
    export PATH="$BIN:\$PATH"
    source <($NEWSPIPE_REPO/deploy/services.sh env)
    newspipe submit --wait https://example.org/some-article
    newspipe status
    newspipe export --format jsonl
    newspipe token create --name me --scope submit    (a token for the API and the web page)

Stop: deploy/down.sh            (workers only)
      deploy/down.sh --services (RabbitMQ and PostgreSQL too)
EOF

[ "$demo" -eq 1 ] || exit 0

section "demo"
# The served tree is assembled outside the repository: our pages, plus the
# shared seed article linked (never copied) when ../shared is present.
ROOT="$DIR/demo/root"
rm -rf "$ROOT"
mkdir -p "$ROOT"
chmod 755 "$DIR/demo" "$ROOT"
cp -R "$NEWSPIPE_REPO/deploy/demo/." "$ROOT/"
urls=(
    "http://127.0.0.1:$DEMO_PORT/news/city-council-approves-river-park/"
    "http://127.0.0.1:$DEMO_PORT/news/rail-strike-ends/"
)
SEED="$NEWSPIPE_REPO/../shared/fixtures/seed/article.html"
if [ -f "$SEED" ]; then
    seed_path="news/502466-kyrgyzstan-president-illegal-seizure-power"
    mkdir -p "$ROOT/$seed_path"
    ln -s "$(cd "$(dirname "$SEED")" && pwd)/article.html" "$ROOT/$seed_path/index.html"
    urls+=("http://127.0.0.1:$DEMO_PORT/$seed_path/")
fi

pidf="$DIR/demo/http.pid"
if alive "$pidf"; then
    kill -TERM "$(cat "$pidf")" 2>/dev/null || true
    sleep 0.5
fi
setsid python3 -m http.server "$DEMO_PORT" --bind 127.0.0.1 --directory "$ROOT" \
    </dev/null >>"$DIR/demo/http.log" 2>&1 &
echo $! >"$pidf"
for _ in $(seq 1 50); do
    curl -fsS -o /dev/null "http://127.0.0.1:$DEMO_PORT/" 2>/dev/null && break
    sleep 0.2
done
curl -fsS -o /dev/null "http://127.0.0.1:$DEMO_PORT/" ||
    die "the demo web server did not come up on 127.0.0.1:$DEMO_PORT (log: $DIR/demo/http.log)"
log "demo pages served on http://127.0.0.1:$DEMO_PORT/ (pid $(cat "$pidf"))"

export PATH="$BIN:$PATH"
echo "\$ newspipe submit --wait ${urls[*]}"
rc=0
timeout 600 newspipe submit --wait "${urls[@]}" || rc=$?
echo
echo "\$ newspipe export --format table"
newspipe export --format table
[ "$rc" -eq 0 ] || die "newspipe submit --wait exited $rc"

section "api"
token="$(newspipe token create --name "demo-$(date +%Y%m%d%H%M%S)-$$" --scope read)"
for _ in $(seq 1 50); do
    curl -fsS -o /dev/null "http://127.0.0.1:$API_PORT/healthz" 2>/dev/null && break
    sleep 0.2
done
echo "\$ curl -H 'Authorization: Bearer \$TOKEN' 'http://127.0.0.1:$API_PORT/v1/search?q=council&limit=3'"
curl -fsS -H "Authorization: Bearer $token" "http://127.0.0.1:$API_PORT/v1/search?q=council&limit=3" ||
    die "the API did not answer on 127.0.0.1:$API_PORT (log: $WORKERS/api-1.log)"
echo
echo
echo "The web page: http://127.0.0.1:$API_PORT/ (log in with this read token, made for the demo):"
echo "$token"
