#!/usr/bin/env bash
# RabbitMQ and PostgreSQL for newspipe without Docker: the distribution's
# packages, run as private instances on loopback under one folder
# (${NEWSPIPE_SERVICES_DIR:-/tmp/newspipe-services}), on ports of their own so
# they never meet a system RabbitMQ or PostgreSQL on the same machine.
#
#   deploy/services.sh start   [rabbitmq|postgres]   install if missing, start, wait until ready
#   deploy/services.sh stop    [rabbitmq|postgres]
#   deploy/services.sh restart [rabbitmq|postgres]
#   deploy/services.sh status
#   deploy/services.sh env       `export` lines: source <(deploy/services.sh env)
#   deploy/services.sh destroy   stop and delete the folder (data and passwords)
#   deploy/services.sh ctl TOOL ARGS...   rabbitmqctl, rabbitmq-diagnostics, rabbitmq-queues, rabbitmq-plugins or rabbitmq-upgrade against our node
#
# Ports (loopback only): AMQP 5692, Erlang distribution 25692, epmd 24692,
# RabbitMQ management API 15694 (`newspipe status` reads queue rates there),
# PostgreSQL 5492. Passwords are random, made on first start, kept in the
# folder; $DIR/env holds AMQP_URL and DATABASE_URL for the workers and tests.
#
# Optional, for several instances on one machine (deploy/cluster.sh runs one
# per network namespace); unset, everything is as described above:
#   NEWSPIPE_LISTEN_ADDRESS  IPv4 address to listen on instead of 127.0.0.1 (AMQP,
#       management, epmd, Erlang distribution, PostgreSQL; the env file's URLs);
#       PostgreSQL then also accepts password logins from that address's /24
#   NEWSPIPE_RABBITMQ_NODENAME  instead of newspipe@localhost; a host part with a
#       dot (an IP address, a FQDN) makes it a long name (RABBITMQ_USE_LONGNAME)
#   NEWSPIPE_RABBITMQ_CLUSTER_NODES  space-separated node names: classic_config
#       peer discovery (a blank node joins the first of them that runs)
#   NEWSPIPE_RABBITMQ_PARTITION_HANDLING  cluster_partition_handling (pause_minority, autoheal)
#   NEWSPIPE_RABBITMQ_NET_TICKTIME  Erlang's net_ticktime (server and CLI), instead of 60 s
set -euo pipefail

# shellcheck source=deploy/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DIR="$NEWSPIPE_SERVICES_DIR"
AMQP_PORT="${NEWSPIPE_AMQP_PORT:-5692}"
# Explicit, because the default (AMQP port + 20000) is easy to collide with
# and Debian's 3.10 CLI tools take 35672-35682 for themselves.
DIST_PORT="${NEWSPIPE_RABBITMQ_DIST_PORT:-25692}"
# A private epmd, so that stopping ours never disturbs another Erlang
# system's, and theirs never holds our node name.
EPMD_PORT="${NEWSPIPE_EPMD_PORT:-24692}"
PG_PORT="${NEWSPIPE_PG_PORT:-5492}"
# Not 15692: that is the prometheus plugin's default.
MGMT_PORT="${NEWSPIPE_MANAGEMENT_PORT:-15694}"
TIMEOUT="${NEWSPIPE_SERVICES_TIMEOUT:-180}"
LISTEN="${NEWSPIPE_LISTEN_ADDRESS:-127.0.0.1}"
if ! [[ "$LISTEN" =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]]; then
    die "NEWSPIPE_LISTEN_ADDRESS must be an IPv4 address, not '$LISTEN'"
fi
LISTEN_ERL="{${LISTEN//./,}}" # 127.0.0.1 -> {127,0,0,1}
NODENAME="${NEWSPIPE_RABBITMQ_NODENAME:-newspipe@localhost}"
case "${NODENAME#*@}" in *.*) USE_LONGNAME=true ;; *) USE_LONGNAME=false ;; esac
CLUSTER_NODES="${NEWSPIPE_RABBITMQ_CLUSTER_NODES:-}"
PARTITION_HANDLING="${NEWSPIPE_RABBITMQ_PARTITION_HANDLING:-}"
DIST_ERL_ARGS="-kernel inet_dist_use_interface $LISTEN_ERL"
if [ -n "${NEWSPIPE_RABBITMQ_NET_TICKTIME:-}" ]; then
    [[ "$NEWSPIPE_RABBITMQ_NET_TICKTIME" =~ ^[0-9]+$ ]] || die "NEWSPIPE_RABBITMQ_NET_TICKTIME must be a number of seconds"
    # Peers find a silent node down after 0.75-1.25 times this: all nodes and CLI tools need the same value.
    DIST_ERL_ARGS+=" -kernel net_ticktime $NEWSPIPE_RABBITMQ_NET_TICKTIME"
fi

RMQ="$DIR/rabbitmq"
RMQ_BIN=/usr/lib/rabbitmq/bin
PG="$DIR/postgres"
PGDATA="$PG/data"
PGRUN="$PG/run"
PGLOG="$PG/postgres.log"

# Everything a RabbitMQ command (server or CLI) needs to find our node and
# nothing else: HOME holds the Erlang cookie, RABBITMQ_CONF_ENV_FILE points
# away from /etc/rabbitmq/rabbitmq-env.conf so a system setting cannot leak in.
RMQ_ENV=(
    "HOME=$RMQ/home"
    "RABBITMQ_NODENAME=$NODENAME"
    "RABBITMQ_USE_LONGNAME=$USE_LONGNAME"
    "RABBITMQ_CONF_ENV_FILE=$RMQ/rabbitmq-env.conf"
    "RABBITMQ_CONFIG_FILE=$RMQ/rabbitmq.conf"
    "RABBITMQ_ADVANCED_CONFIG_FILE=$RMQ/advanced.config"
    "RABBITMQ_ENABLED_PLUGINS_FILE=$RMQ/enabled_plugins"
    "RABBITMQ_PLUGINS_EXPAND_DIR=$RMQ/plugins-expand"
    "RABBITMQ_MNESIA_BASE=$RMQ/mnesia"
    "RABBITMQ_LOG_BASE=$RMQ/log"
    "RABBITMQ_LOGS=$RMQ/log/rabbit.log"
    "RABBITMQ_PID_FILE=$RMQ/rabbitmq.pid"
    "RABBITMQ_NODE_IP_ADDRESS=$LISTEN"
    "RABBITMQ_NODE_PORT=$AMQP_PORT"
    "RABBITMQ_DIST_PORT=$DIST_PORT"
    "ERL_EPMD_PORT=$EPMD_PORT"
    "ERL_EPMD_ADDRESS=$LISTEN"
    # Keep the distribution listeners (server's and CLI's) on loopback too.
    "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=$DIST_ERL_ARGS"
    "RABBITMQ_CTL_ERL_ARGS=$DIST_ERL_ARGS"
)

rmq() { # rmq rabbitmqctl|rabbitmq-diagnostics|rabbitmq-server ARGS...
    local tool="$1"
    shift
    (cd "$RMQ" && env "${RMQ_ENV[@]}" "$RMQ_BIN/$tool" "$@")
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# PostgreSQL refuses to run as root: as root we run it as the `postgres`
# system user (created by Debian's package); otherwise as ourselves.
as_pg() {
    if is_root; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

pg_bindir() {
    local d
    d="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)"
    if [ -z "$d" ] || [ ! -x "$d/initdb" ]; then
        die "PostgreSQL server binaries not found under /usr/lib/postgresql"
    fi
    printf '%s\n' "$d"
}

pg_superuser() { if is_root; then echo postgres; else id -un; fi; }

show_log_tail() { # FILE...
    local f
    for f in "$@"; do
        [ -f "$f" ] || continue
        printf -- '----- last lines of %s -----\n' "$f" >&2
        tail -n 40 "$f" >&2 || true
    done
}

random_password() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# ---------------------------------------------------------------- folder ---

prepare_dir() {
    umask 077
    mkdir -p "$DIR"
    # 711: the postgres user must be able to walk into its own subfolder,
    # but nobody else may list the folder; the files with passwords are 600.
    chmod 711 "$DIR"
    if [ ! -s "$DIR/secrets" ]; then
        {
            echo "AMQP_PASSWORD=$(random_password)"
            echo "PG_PASSWORD=$(random_password)"
        } >"$DIR/secrets.tmp"
        mv "$DIR/secrets.tmp" "$DIR/secrets"
    fi
    # The workers' own database roles (least privilege), also for a folder made before they existed.
    for key in PG_STORE_PASSWORD PG_FETCHER_PASSWORD PG_WARC_READER_PASSWORD PG_API_PASSWORD; do
        grep -q "^$key=." "$DIR/secrets" || echo "$key=$(random_password)" >>"$DIR/secrets"
    done
    chmod 600 "$DIR/secrets"
    PG_STORE_PASSWORD="$(sed -n 's/^PG_STORE_PASSWORD=//p' "$DIR/secrets")"
    PG_FETCHER_PASSWORD="$(sed -n 's/^PG_FETCHER_PASSWORD=//p' "$DIR/secrets")"
    PG_WARC_READER_PASSWORD="$(sed -n 's/^PG_WARC_READER_PASSWORD=//p' "$DIR/secrets")"
    PG_API_PASSWORD="$(sed -n 's/^PG_API_PASSWORD=//p' "$DIR/secrets")"
    AMQP_PASSWORD="$(sed -n 's/^AMQP_PASSWORD=//p' "$DIR/secrets")"
    PG_PASSWORD="$(sed -n 's/^PG_PASSWORD=//p' "$DIR/secrets")"
    if [ -z "$AMQP_PASSWORD" ] || [ -z "$PG_PASSWORD" ]; then
        die "$DIR/secrets is damaged: delete the folder (deploy/services.sh destroy) and start again"
    fi
    AMQP_URL="amqp://newspipe:${AMQP_PASSWORD}@${LISTEN}:${AMQP_PORT}/%2f"
    DATABASE_URL="postgres://newspipe:${PG_PASSWORD}@${LISTEN}:${PG_PORT}/newspipe"
    STORE_DATABASE_URL="postgres://newspipe_store:${PG_STORE_PASSWORD}@${LISTEN}:${PG_PORT}/newspipe"
    FETCHER_DATABASE_URL="postgres://newspipe_fetcher:${PG_FETCHER_PASSWORD}@${LISTEN}:${PG_PORT}/newspipe"
    WARC_READER_DATABASE_URL="postgres://newspipe_warc_reader:${PG_WARC_READER_PASSWORD}@${LISTEN}:${PG_PORT}/newspipe"
    API_DATABASE_URL="postgres://newspipe_api:${PG_API_PASSWORD}@${LISTEN}:${PG_PORT}/newspipe"
}

write_env_file() {
    # Plain KEY=value lines, no quotes or comments: the Rust tests parse it.
    printf 'AMQP_URL=%s\nDATABASE_URL=%s\nNEWSPIPE__BROKER__MANAGEMENT_URL=%s\n' "$AMQP_URL" "$DATABASE_URL" \
        "http://${LISTEN}:${MGMT_PORT}" >"$DIR/env.tmp"
    printf 'STORE_DATABASE_URL=%s\nFETCHER_DATABASE_URL=%s\nWARC_READER_DATABASE_URL=%s\nAPI_DATABASE_URL=%s\n' \
        "$STORE_DATABASE_URL" "$FETCHER_DATABASE_URL" "$WARC_READER_DATABASE_URL" "$API_DATABASE_URL" >>"$DIR/env.tmp"
    chmod 600 "$DIR/env.tmp"
    mv "$DIR/env.tmp" "$DIR/env"
}

lock_dir() {
    # Two scripts starting the services at once (a test run and an up.sh)
    # would start two nodes with one name: serialise them.
    # (The servers we start must not inherit fd 9, or they would hold it.)
    exec 9>"$DIR/.lock"
    flock -w "$TIMEOUT" 9 || die "another deploy/services.sh holds $DIR/.lock"
}

# -------------------------------------------------------------- rabbitmq ---

rmq_pid() { [ -s "$RMQ/rabbitmq.pid" ] && cat "$RMQ/rabbitmq.pid"; }

rmq_process_alive() {
    local pid
    pid="$(rmq_pid 2>/dev/null)" || return 1
    [ -n "$pid" ] && pid_alive "$pid"
}

rmq_running() {
    rmq_process_alive && rmq rabbitmq-diagnostics -q check_running >/dev/null 2>&1
}

rmq_write_config() {
    mkdir -p "$RMQ/home" "$RMQ/log" "$RMQ/mnesia" "$RMQ/plugins-expand"
    chmod 700 "$RMQ"
    if [ ! -s "$RMQ/home/.erlang.cookie" ]; then
        random_password | tr 'a-f' 'A-F' >"$RMQ/home/.erlang.cookie"
    fi
    chmod 400 "$RMQ/home/.erlang.cookie"
    : >"$RMQ/rabbitmq-env.conf"
    # The default user is ours from the very first boot, so `guest` never
    # exists. The management plugin (for queue rates) on loopback; no
    # prometheus or stream plugin: no other ports. Rates sampled every 2 s.
    cat >"$RMQ/rabbitmq.conf" <<EOF
listeners.tcp.1 = ${LISTEN}:${AMQP_PORT}
default_vhost = /
default_user = newspipe
default_pass = ${AMQP_PASSWORD}
default_user_tags.administrator = true
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
log.file.level = info
log.console = false
management.tcp.ip = ${LISTEN}
management.tcp.port = ${MGMT_PORT}
collect_statistics_interval = 2000
EOF
    if [ -n "$CLUSTER_NODES" ]; then
        local n=0 node
        echo 'cluster_formation.peer_discovery_backend = classic_config' >>"$RMQ/rabbitmq.conf"
        for node in $CLUSTER_NODES; do
            n=$((n + 1))
            echo "cluster_formation.classic_config.nodes.$n = $node" >>"$RMQ/rabbitmq.conf"
        done
    fi
    if [ -n "$PARTITION_HANDLING" ]; then
        echo "cluster_partition_handling = $PARTITION_HANDLING" >>"$RMQ/rabbitmq.conf"
    fi
    chmod 600 "$RMQ/rabbitmq.conf"
    echo '[rabbitmq_consistent_hash_exchange,rabbitmq_management].' >"$RMQ/enabled_plugins"
}

rmq_ensure_management() {
    # A node started before the plugin was in our config: enable it in place
    # (no restart), with the listener and sampling the config file would set.
    rmq rabbitmq-diagnostics -q check_port_listener "$MGMT_PORT" >/dev/null 2>&1 && return 0
    log "rabbitmq: enabling the management API on $LISTEN:$MGMT_PORT"
    rmq rabbitmqctl -q eval "application:set_env(rabbitmq_management, tcp_config, [{ip, \"$LISTEN\"}, {port, $MGMT_PORT}]), application:set_env(rabbit, collect_statistics_interval, 2000)." >/dev/null
    rmq rabbitmq-plugins -q enable --online rabbitmq_management >/dev/null
}

rmq_ensure_user() {
    # Normally a no-op (the config made the user on first boot); repairs a
    # folder whose secrets file was replaced after the first boot.
    if rmq rabbitmqctl -q authenticate_user newspipe "$AMQP_PASSWORD" >/dev/null 2>&1; then
        return 0
    fi
    log "rabbitmq: (re)creating user newspipe"
    rmq rabbitmqctl -q add_user newspipe "$AMQP_PASSWORD" >/dev/null 2>&1 ||
        rmq rabbitmqctl -q change_password newspipe "$AMQP_PASSWORD" >/dev/null
    rmq rabbitmqctl -q set_user_tags newspipe administrator >/dev/null
    rmq rabbitmqctl -q set_permissions -p / newspipe '.*' '.*' '.*' >/dev/null
    rmq rabbitmqctl -q delete_user guest >/dev/null 2>&1 || true
}

rmq_show_failure() {
    # The cause is in the [error] lines and the boot's last words, not in
    # the tail of rabbit.log (which is the shutdown that followed).
    if [ -f "$RMQ/log/rabbit.log" ]; then
        printf -- '----- errors in %s -----\n' "$RMQ/log/rabbit.log" >&2
        grep -F '[error]' "$RMQ/log/rabbit.log" | tail -n 15 >&2 || true
    fi
    show_log_tail "$RMQ/log/server-stdout.log"
}

rmq_start() {
    [ -x "$RMQ_BIN/rabbitmq-server" ] || die "RabbitMQ is not installed ($RMQ_BIN/rabbitmq-server missing)"
    rmq_write_config
    if rmq_running; then
        log "rabbitmq: already running ($NODENAME, amqp $LISTEN:$AMQP_PORT)"
        rmq_ensure_user
        rmq_ensure_management
        return 0
    fi
    if rmq_process_alive; then
        # A node booting (or stuck) from an earlier start: wait for it below
        # rather than start a second node with the same name.
        log "rabbitmq: a node is already starting (pid $(rmq_pid)), waiting for it"
    else
        rm -f "$RMQ/rabbitmq.pid"
        log "rabbitmq: starting $NODENAME on $LISTEN:$AMQP_PORT (logs in $RMQ/log)"
        # setsid + redirections: the node must not hold the caller's terminal
        # or pipes open (CI waits for its output pipe to close).
        (cd "$RMQ" && exec setsid env "${RMQ_ENV[@]}" "$RMQ_BIN/rabbitmq-server") \
            </dev/null >>"$RMQ/log/server-stdout.log" 2>&1 9>&- &
    fi
    local deadline=$((SECONDS + TIMEOUT)) seen_pid=0
    while :; do
        if rmq_process_alive; then
            seen_pid=1
            if rmq rabbitmqctl -q await_startup --timeout 15 >/dev/null 2>&1; then
                break
            fi
        elif [ "$seen_pid" -eq 1 ] || [ $((SECONDS + TIMEOUT - deadline)) -gt 30 ]; then
            # It wrote its pid and died, or never got as far as a pid in 30 s.
            rmq_show_failure
            die "rabbitmq: the node exited during startup (logs above, in $RMQ/log)"
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            rmq_show_failure
            die "rabbitmq: not ready after ${TIMEOUT}s (logs above, in $RMQ/log)"
        fi
        sleep 1
    done
    rmq_ensure_user
    log "rabbitmq: ready"
}

rmq_stop() {
    if rmq_process_alive; then
        local pid
        pid="$(rmq_pid)"
        log "rabbitmq: stopping (pid $pid)"
        # `stop PIDFILE` returns once the OS process is gone.
        if ! rmq rabbitmqctl -q stop "$RMQ/rabbitmq.pid" >/dev/null 2>&1; then
            kill -TERM "$pid" 2>/dev/null || true
            local _
            for _ in $(seq 1 30); do
                pid_alive "$pid" || break
                sleep 1
            done
            kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$RMQ/rabbitmq.pid"
    else
        log "rabbitmq: not running"
    fi
    # Our private epmd (no node left on it now); harmless when none runs.
    env ERL_EPMD_PORT="$EPMD_PORT" epmd -kill >/dev/null 2>&1 || true
}

rmq_status() {
    if rmq_running; then
        echo "rabbitmq: running  node=$NODENAME pid=$(rmq_pid) amqp=$LISTEN:$AMQP_PORT dist=$DIST_PORT management=$LISTEN:$MGMT_PORT"
        return 0
    fi
    echo "rabbitmq: stopped"
    return 1
}

# -------------------------------------------------------------- postgres ---

pg_postmaster_pid() { [ -s "$PGDATA/postmaster.pid" ] && head -n 1 "$PGDATA/postmaster.pid"; }

pg_running() {
    # Not `pg_ctl status`: it takes a zombie postmaster (a killed server
    # that nothing reaped, common in containers) for a live one.
    local pid
    pid="$(pg_postmaster_pid 2>/dev/null)" || return 1
    [ -n "$pid" ] && pid_alive "$pid"
}

# A server killed with SIGKILL (or a machine stopped) leaves its lock files;
# PostgreSQL refuses to start while their PID exists, even as a zombie.
pg_clear_stale_locks() {
    local f pid
    for f in "$PGDATA/postmaster.pid" "$PGRUN"/.s.PGSQL.*.lock; do
        [ -f "$f" ] || continue
        pid="$(head -n 1 "$f")"
        if [ -n "$pid" ] && ! pid_alive "$pid"; then
            log "postgres: removing stale $(basename "$f") (pid $pid is gone)"
            rm -f "$f"
        fi
    done
}

pg_init() {
    [ -f "$PGDATA/PG_VERSION" ] && return 0
    local bin
    bin="$(pg_bindir)"
    log "postgres: initdb in $PGDATA"
    rm -rf "$PG"
    mkdir -p "$PG"
    is_root && chown postgres:postgres "$PG"
    chmod 700 "$PG"
    # peer for the local socket (our admin steps, as the superuser),
    # scram passwords over TCP (the workers and tests).
    if ! as_pg "$bin/initdb" -D "$PGDATA" -E UTF8 --locale=C \
        --auth-local=peer --auth-host=scram-sha-256 >"$DIR/initdb.log" 2>&1; then
        show_log_tail "$DIR/initdb.log"
        die "postgres: initdb failed"
    fi
}

# initdb's pg_hba.conf takes TCP logins from 127.0.0.1 and ::1 only: on
# another address, also take password logins from that address's /24.
pg_allow_subnet() {
    [ "$LISTEN" = 127.0.0.1 ] && return 0
    local line="host all all ${LISTEN%.*}.0/24 scram-sha-256"
    grep -qxF "$line" "$PGDATA/pg_hba.conf" && return 0
    log "postgres: pg_hba.conf: $line"
    printf '%s\n' "$line" | as_pg tee -a "$PGDATA/pg_hba.conf" >/dev/null
    if pg_running; then
        as_pg "$(pg_bindir)/pg_ctl" -D "$PGDATA" reload >/dev/null
    fi
}

pg_start() {
    pg_init
    local bin
    bin="$(pg_bindir)"
    as_pg mkdir -p "$PGRUN"
    pg_allow_subnet
    if pg_running; then
        log "postgres: already running ($LISTEN:$PG_PORT)"
    else
        pg_clear_stale_locks
        log "postgres: starting on $LISTEN:$PG_PORT (log $PGLOG)"
        # The settings live on the command line, not in the data folder, so
        # the ports in this script are the truth. fsync/synchronous_commit off:
        # a throwaway dev/test database where speed matters (each test creates
        # a database); a clean restart loses nothing, only an OS crash would.
        # max_connections: parallel tests each run several pooled workers.
        if ! as_pg "$bin/pg_ctl" -D "$PGDATA" -l "$PGLOG" -w -t "$TIMEOUT" -o \
            "-c port=$PG_PORT -c listen_addresses=$LISTEN -c unix_socket_directories=$PGRUN -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
            start >"$DIR/pg_ctl.log" 2>&1 9>&-; then
            show_log_tail "$DIR/pg_ctl.log" "$PGLOG"
            die "postgres: failed to start (logs above)"
        fi
    fi
    local deadline=$((SECONDS + TIMEOUT))
    until "$bin/pg_isready" -q -h "$LISTEN" -p "$PG_PORT"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            show_log_tail "$PGLOG"
            die "postgres: not ready after ${TIMEOUT}s"
        fi
        sleep 0.5
    done
    # Role and database, idempotently; the password is hex, safe to inline.
    as_pg "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGRUN" -p "$PG_PORT" \
        -U "$(pg_superuser)" -d postgres >/dev/null <<SQL
SELECT 'CREATE ROLE newspipe LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'newspipe') \gexec
ALTER ROLE newspipe LOGIN CREATEDB PASSWORD '${PG_PASSWORD}';
SELECT 'CREATE DATABASE newspipe OWNER newspipe' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'newspipe') \gexec
SQL
    # The workers' own roles, least privilege (STORE_/FETCHER_/WARC_READER_/API_DATABASE_URL in the env file).
    as_pg "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGRUN" -p "$PG_PORT" -U "$(pg_superuser)" -d newspipe \
        -v store_password="$PG_STORE_PASSWORD" -v fetcher_password="$PG_FETCHER_PASSWORD" \
        -v warc_reader_password="$PG_WARC_READER_PASSWORD" -v api_password="$PG_API_PASSWORD" \
        >/dev/null <"$NEWSPIPE_REPO/deploy/postgres/worker-roles.sql"
    log "postgres: ready"
}

pg_stop() {
    if pg_running; then
        log "postgres: stopping"
        as_pg "$(pg_bindir)/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >/dev/null 2>&1 ||
            as_pg "$(pg_bindir)/pg_ctl" -D "$PGDATA" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    else
        log "postgres: not running"
    fi
}

pg_status() {
    if pg_running; then
        echo "postgres: running  $LISTEN:$PG_PORT data=$PGDATA"
        return 0
    fi
    echo "postgres: stopped"
    return 1
}

# ------------------------------------------------------------------ main ---

usage() {
    sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

want() { # want COMPONENT: is it selected by the optional second argument?
    [ -z "$WHICH" ] || [ "$WHICH" = "$1" ]
}

cmd="${1:-}"
if [ "$cmd" = ctl ]; then
    # Our node's CLI tools, with the environment that finds it (cookie, node name, epmd port).
    case "${2:-}" in
    rabbitmqctl | rabbitmq-diagnostics | rabbitmq-queues | rabbitmq-plugins | rabbitmq-upgrade) ;;
    *) usage ;;
    esac
    shift
    [ -d "$RMQ" ] || die "no RabbitMQ node in $DIR: run deploy/services.sh start rabbitmq"
    rmq "$@"
    exit
fi
WHICH="${2:-}"
case "$WHICH" in "" | rabbitmq | postgres) ;; *) usage ;; esac

case "$cmd" in
start)
    ensure_apt_packages rabbitmq-server postgresql
    prepare_dir
    lock_dir
    started=$SECONDS
    if want rabbitmq; then rmq_start; fi
    if want postgres; then pg_start; fi
    write_env_file
    log "services ready in $((SECONDS - started))s; env file: $DIR/env"
    ;;
stop)
    [ -d "$DIR" ] || { log "nothing to stop ($DIR does not exist)"; exit 0; }
    prepare_dir
    lock_dir
    if want rabbitmq; then rmq_stop; fi
    if want postgres; then pg_stop; fi
    ;;
restart)
    "$0" stop "$WHICH"
    exec "$0" start "$WHICH"
    ;;
status)
    rc=0
    if [ -d "$DIR" ]; then
        rmq_status || rc=1
        pg_status || rc=1
    else
        echo "not started ($DIR does not exist)"
        rc=1
    fi
    exit "$rc"
    ;;
env)
    [ -s "$DIR/env" ] || die "no $DIR/env yet: run deploy/services.sh start"
    printf 'export NEWSPIPE_SERVICES_DIR=%q\n' "$DIR"
    while IFS='=' read -r key value; do
        [ -n "$key" ] && printf 'export %s=%q\n' "$key" "$value"
    done <"$DIR/env"
    ;;
destroy)
    "$0" stop
    log "deleting $DIR"
    rm -rf "$DIR"
    ;;
*) usage ;;
esac
