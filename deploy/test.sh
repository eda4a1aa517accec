#!/usr/bin/env bash
# THE test command (the README's, and what .ci/run calls): installs what is
# missing, starts RabbitMQ and PostgreSQL (deploy/services.sh), then checks
# the compose files, the Kubernetes manifests, formatting and lints, builds
# once, and runs the whole test suite against the real services.
#
#   deploy/test.sh [ARGS...]     ARGS go to the test runner, e.g. a filter:
#                                deploy/test.sh crash
#
# cargo-nextest runs the tests (in parallel, per test, no retries: see
# .config/nextest.toml), installed when missing; `cargo test` only if it
# cannot be. Every step runs even after an earlier one failed
# (one CI run tells everything), and the exit code is non-zero if any did.
# NEWSPIPE_SKIP_LINT=1 skips fmt and clippy, for a quicker local loop.
set -euo pipefail

# shellcheck source=deploy/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$NEWSPIPE_REPO"

started_at=$SECONDS
failures=()
timings=()

# Runs one named step, records its time and whether it failed, never exits.
step() {
    local name="$1" t0=$SECONDS rc=0
    shift
    section "$name"
    "$@" || rc=$?
    timings+=("$(printf '%-16s %5ss  %s' "$name" "$((SECONDS - t0))" "$([ "$rc" -eq 0 ] && echo ok || echo "FAILED (exit $rc)")")")
    [ "$rc" -eq 0 ] || failures+=("$name")
    return 0
}

summary() {
    section "summary"
    local t
    for t in "${timings[@]}"; do echo "  $t"; done
    printf '  %-16s %5ss\n' total "$((SECONDS - started_at))"
}

if [ "${CI:-}" = true ]; then
    # A fresh clone builds from nothing once: incremental state is only cost.
    export CARGO_INCREMENTAL=0
fi
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-auto}"
# The fuzz targets (crates/fuzz) run on random inputs for this long each (bolero's random engine), with
# inputs up to 64 KiB; longer, coverage-guided runs are documented in the README.
export BOLERO_RANDOM_TEST_TIME_MS="${BOLERO_RANDOM_TEST_TIME_MS:-10000}"
export BOLERO_RANDOM_MAX_LEN="${BOLERO_RANDOM_MAX_LEN:-65536}"

# ---------------------------------------------------------------- setup ---
# Setup failures stop the run at once: nothing after them can mean anything.
# The foreign-producer test publishes from Python with pika, a real non-Rust AMQP client (PyPI, or
# Debian's python3-pika where pip may not install).
ensure_python_pika() {
    python3 -c 'import pika' 2>/dev/null && return 0
    log "installing the Python AMQP client pika"
    python3 -m pip install --quiet pika 2>/dev/null ||
        python3 -m pip install --quiet --break-system-packages pika 2>/dev/null ||
        ensure_apt_packages python3-pika
    python3 -c 'import pika' || die "cannot install the Python package pika (pip install pika)"
}

# Python readers that are not ours, from PyPI (Debian bookworm has neither as a package): the WARC tests
# check the fetcher's files with warcio's `check` and `index` (tests/it/warc_out.rs); the Parquet export
# test reads the files back with pyarrow (tests/it/parquet_export.rs).
ensure_python_module() { # ensure_python_module MODULE
    python3 -c "import $1" 2>/dev/null && return 0
    log "installing the Python package $1"
    python3 -m pip install --quiet "$1" 2>/dev/null ||
        python3 -m pip install --quiet --break-system-packages "$1" 2>/dev/null
    python3 -c "import $1" || die "cannot install the Python package $1 (pip install $1)"
}

# The API's contract test runs schemathesis (tests/it/api.rs), a client no one here wrote, pinned: a new
# release may add checks, and a run should fail for a change of ours, not of the tool's.
SCHEMATHESIS_VERSION=4.32.5
ensure_schemathesis() {
    [ "$(schemathesis --version 2>/dev/null | grep -o '[0-9][0-9.]*' | head -1)" = "$SCHEMATHESIS_VERSION" ] && return 0
    log "installing schemathesis $SCHEMATHESIS_VERSION (PyPI)"
    python3 -m pip install --quiet "schemathesis==$SCHEMATHESIS_VERSION" 2>/dev/null ||
        python3 -m pip install --quiet --break-system-packages "schemathesis==$SCHEMATHESIS_VERSION" ||
        die "cannot install schemathesis (pip install schemathesis==$SCHEMATHESIS_VERSION)"
    python3 -c 'import schemathesis.cli' || die "schemathesis is installed but python3 cannot import it"
}

# The test runner and the unused-dependency check are cargo tools: installed from crates.io when missing
# (built from source, a few minutes on a fresh machine, once).
ensure_cargo_tool() { # ensure_cargo_tool SUBCOMMAND CRATE
    cargo "$1" --version >/dev/null 2>&1 && return 0
    log "installing $2 (cargo install --locked $2)"
    cargo install --locked --quiet "$2" || die "cannot install $2 (cargo install --locked $2)"
}

# The web page's browser tests (tests/browser/pages.mjs) drive Debian's Chromium with playwright-core from
# npm, pinned in tests/browser/package-lock.json; no browser is downloaded (Playwright's own download is not
# used). `npm ci` runs again only when node_modules is missing or older than the lockfile.
ensure_browser() {
    ensure_apt_packages chromium
    [ -x /usr/bin/chromium ] || die "no /usr/bin/chromium after installing Debian's chromium"
    command -v node >/dev/null && command -v npm >/dev/null ||
        die "the browser tests need Node.js 20 or newer and npm (node and npm not found)"
    node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
        die "the browser tests need Node.js 20 or newer (playwright-core), found $(node --version)"
    local dir="$NEWSPIPE_REPO/tests/browser"
    # npm writes node_modules/.package-lock.json on every install: it dates the install.
    if [ ! -e "$dir/node_modules/.package-lock.json" ] ||
        [ "$dir/node_modules/.package-lock.json" -ot "$dir/package-lock.json" ]; then
        log "installing the browser tests' npm packages (npm ci in tests/browser)"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2 ||
            die "cannot install the browser tests' packages (cd tests/browser && npm ci --no-audit --no-fund)"
    fi
    [ -f "$dir/node_modules/playwright-core/package.json" ] ||
        die "no playwright-core in tests/browser/node_modules after npm ci (rm -rf tests/browser/node_modules and run again)"
}

section "packages"
# wget: the WARC-in tests read a WARC written by a real crawler (wget --warc-file).
ensure_apt_packages rabbitmq-server postgresql docker-compose python3 curl wget
ensure_python_pika
ensure_python_module warcio
ensure_python_module pyarrow
ensure_schemathesis
ensure_cargo_tool nextest cargo-nextest
ensure_cargo_tool machete cargo-machete
ensure_browser
log "packages present"

section "services"
services_were_running=0
"$NEWSPIPE_REPO/deploy/services.sh" status >/dev/null 2>&1 && services_were_running=1
"$NEWSPIPE_REPO/deploy/services.sh" start
# In CI, leave the machine as found: stop the services this run started.
# (Locally they stay up so the next run starts in a second.)
if [ "${CI:-}" = true ] && [ "$services_were_running" -eq 0 ]; then
    trap '"$NEWSPIPE_REPO/deploy/services.sh" stop || true' EXIT
fi
# The tests find the services through these (or through the env file).
set -a
# shellcheck source=/dev/null
. "$NEWSPIPE_SERVICES_DIR/env"
set +a
log "AMQP_URL and DATABASE_URL exported (from $NEWSPIPE_SERVICES_DIR/env)"

# ---------------------------------------------------------------- steps ---
compose_config() {
    # Throwaway values for the variables the compose file requires, so that
    # the check needs no real .env and cannot read one.
    local envfile rc=0
    envfile="$(mktemp)"
    cat >"$envfile" <<'EOF'
RABBITMQ_USER=newspipe
RABBITMQ_PASSWORD=compose-check-only
POSTGRES_USER=newspipe
POSTGRES_PASSWORD=compose-check-only
POSTGRES_DB=newspipe
EOF
    docker-compose -f docker-compose.yml --env-file "$envfile" config -q || rc=$?
    # The three-node broker's override, merged as `docker compose -f docker-compose.yml -f
    # docker-compose.cluster.yml` merges it (its own variable: the nodes' shared Erlang cookie).
    echo RABBITMQ_ERLANG_COOKIE=compose-check-only >>"$envfile"
    docker-compose -f docker-compose.yml -f docker-compose.cluster.yml --env-file "$envfile" config -q || rc=$?
    rm -f "$envfile"
    [ "$rc" -eq 0 ] && log "docker-compose.yml, and with docker-compose.cluster.yml, is valid"
    return "$rc"
}

# The Kubernetes manifests (deploy/k8s), offline: deploy/k8s/validate.py checks them with kubernetes-validate
# (PyPI; it bundles Kubernetes' schemas) and KEDA's CRD schemas kept in deploy/k8s/schemas, then breaks copies
# of them in many ways and fails unless each broken copy is refused. kubernetes-validate is pinned: its
# bundled schemas decide what passes, and a run should fail for a change of ours, not of the tool's.
KUBERNETES_VALIDATE_VERSION=1.37.0
ensure_kubernetes_validate() {
    local installed
    installed="$(python3 -c 'import importlib.metadata as m; print(m.version("kubernetes-validate"))' 2>/dev/null)" || true
    [ "$installed" = "$KUBERNETES_VALIDATE_VERSION" ] && return 0
    log "installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION (PyPI)"
    python3 -m pip install --quiet "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" 2>/dev/null ||
        python3 -m pip install --quiet --break-system-packages "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" || {
        log "cannot install kubernetes-validate (pip install kubernetes-validate==$KUBERNETES_VALIDATE_VERSION)"
        return 1
    }
}

manifests_check() {
    ensure_kubernetes_validate || return 1
    python3 deploy/k8s/validate.py && python3 deploy/k8s/validate.py --self-test
}

have_cargo_subcommand() { cargo "$1" --version >/dev/null 2>&1; }

unused_dependencies() {
    # cargo-machete reads the sources for each dependency's name; it needs no nightly toolchain (cargo-udeps
    # does). A dependency it cannot see used (a macro's, a feature's) is named in that crate's
    # [package.metadata.cargo-machete] ignored list, with the reason.
    cargo machete
}

fmt_check() {
    have_cargo_subcommand fmt || { log "rustfmt not installed: skipped"; return 0; }
    cargo fmt --all -- --check
}

clippy_check() {
    have_cargo_subcommand clippy || { log "clippy not installed: skipped"; return 0; }
    cargo clippy --workspace --all-targets -- -D warnings
}

if have_cargo_subcommand nextest; then
    runner=nextest
else
    runner=cargo-test
fi

build_tests() {
    # Builds the test binaries and the workers' binaries they run, once; the
    # runner below then only runs them.
    if [ "$runner" = nextest ]; then
        cargo nextest run --workspace --no-run
    else
        cargo test --workspace --no-run
    fi
}

run_tests() {
    if [ "$runner" = nextest ]; then
        cargo nextest run --workspace --no-fail-fast "$@"
    else
        cargo test --workspace --no-fail-fast "$@"
    fi
}

step compose compose_config
step manifests manifests_check
if [ "${NEWSPIPE_SKIP_LINT:-0}" != 1 ]; then
    step fmt fmt_check
    step "unused deps" unused_dependencies
    step clippy clippy_check
fi
step build build_tests
if [[ " ${failures[*]} " == *" build "* ]]; then
    log "the build failed: tests not run"
else
    step "test ($runner)" run_tests "$@"
fi

summary
if [ "${#failures[@]}" -gt 0 ]; then
    echo "FAILED: ${failures[*]}" >&2
    exit 1
fi
echo "all steps passed"
