#!/usr/bin/env bash
# A multi-host test rig on one machine: each host a network namespace on one
# bridge, a three-node RabbitMQ cluster and PostgreSQL run by
# deploy/services.sh inside their namespaces, two empty worker hosts.
#
#   deploy/cluster.sh up              make hosts and links, start rmq1..3 (clustered) and db; write $DIR/env
#   deploy/cluster.sh down            stop everything, delete namespaces, links, bridge and $DIR
#   deploy/cluster.sh env             `export` lines: source <(deploy/cluster.sh env)
#   deploy/cluster.sh status          hosts, links, nodes, cluster membership, PostgreSQL
#   deploy/cluster.sh kill-node N...  kill -9 RabbitMQ node N (1..3); returns once it is gone
#   deploy/cluster.sh start-node N... start node(s) N (several at once: in parallel); returns once each runs in the cluster
#   deploy/cluster.sh stop-node N...  clean stop of node(s) N
#   deploy/cluster.sh restart-node N  rolling-restart step: wait until N is not quorum critical, stop, start, rejoin
#   deploy/cluster.sh partition HOST  cut HOST off: its link (the root-side veth) down
#   deploy/cluster.sh heal HOST       its link up again
#   deploy/cluster.sh restart-db      restart the PostgreSQL server
#   deploy/cluster.sh netns HOST      print HOST's namespace name
#   deploy/cluster.sh exec HOST CMD...  run CMD in HOST's namespace (exec: the pid is CMD's)
#
# HOST: rmq1 rmq2 rmq3 (a RabbitMQ node each), db (PostgreSQL), w1 w2 (worker
# hosts, nothing started there). Namespaces newspipe-<host>; bridge np-br0 in
# the root namespace at $SUBNET.1 (the caller: tests, CLI, a test web server);
# rmq1..3 .11-.13, db .20, w1 .31, w2 .32; a veth per host, np-<host> on the
# bridge, eth0 in the namespace. No default route, no NAT: nothing leaves the
# subnet. Ports as in deploy/services.sh (AMQP 5692, dist 25692, epmd 24692,
# management 15694, PostgreSQL 5492), each on its host's address.
#
# Variables: NEWSPIPE_CLUSTER_DIR (default /tmp/newspipe-cluster),
# NEWSPIPE_CLUSTER_SUBNET (first three octets, default 10.250.77),
# NEWSPIPE_CLUSTER_PARTITION_HANDLING (default pause_minority),
# NEWSPIPE_CLUSTER_NET_TICKTIME (default 10; empty: Erlang's 60),
# NEWSPIPE_CLUSTER_TIMEOUT (seconds for each wait, default 180). Root only.
set -euo pipefail

# shellcheck source=deploy/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DIR="${NEWSPIPE_CLUSTER_DIR:-/tmp/newspipe-cluster}"
SUBNET="${NEWSPIPE_CLUSTER_SUBNET:-10.250.77}"
# pause_minority: a node cut off from the other two stops serving and comes
# back by itself after `heal` (with the default, ignore, the two sides stay
# split after a heal until a node is restarted by hand).
PARTITION_HANDLING="${NEWSPIPE_CLUSTER_PARTITION_HANDLING:-pause_minority}"
# Erlang distribution: a node cut off is found down by its peers after
# 7.5-12.5 s instead of the default 45-75 s (until then quorum queues led
# from it stall), and pause_minority pauses it as soon.
NET_TICKTIME="${NEWSPIPE_CLUSTER_NET_TICKTIME:-10}"
TIMEOUT="${NEWSPIPE_CLUSTER_TIMEOUT:-180}"
BRIDGE=np-br0
HOSTS=(rmq1 rmq2 rmq3 db w1 w2)
SERVICES="$NEWSPIPE_REPO/deploy/services.sh"
AMQP_PORT="${NEWSPIPE_AMQP_PORT:-5692}"
MGMT_PORT="${NEWSPIPE_MANAGEMENT_PORT:-15694}"
PG_PORT="${NEWSPIPE_PG_PORT:-5492}"

if ! [[ "$SUBNET" =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]]; then
    die "NEWSPIPE_CLUSTER_SUBNET must be three octets (like 10.250.77), not '$SUBNET'"
fi
case "$DIR" in
/*) ;;
*) die "NEWSPIPE_CLUSTER_DIR must be an absolute path, not '$DIR'" ;;
esac
# `down` deletes $DIR: never the shared services' folder, never /.
if [ "$(realpath -m "$DIR")" = / ] || [ "$(realpath -m "$DIR")" = "$(realpath -m "$NEWSPIPE_SERVICES_DIR")" ]; then
    die "NEWSPIPE_CLUSTER_DIR=$DIR would be deleted by down: choose a folder of its own"
fi

host_octet() {
    case "$1" in
    rmq1) echo 11 ;; rmq2) echo 12 ;; rmq3) echo 13 ;;
    db) echo 20 ;; w1) echo 31 ;; w2) echo 32 ;;
    *) return 1 ;;
    esac
}
valid_host() {
    host_octet "$1" >/dev/null 2>&1 || die "unknown host '$1' (one of: ${HOSTS[*]})"
}
addr() { echo "$SUBNET.$(host_octet "$1")"; }
ns() { echo "newspipe-$1"; }
link() { echo "np-$1"; }
# Long node names with the IP address as host part: nothing to resolve, so
# no hosts files (the namespaces share the machine's /etc/hosts and hostname).
node_name() { echo "newspipe@$(addr "rmq$1")"; }
NODES="$(node_name 1) $(node_name 2) $(node_name 3)"

node_arg() { # N -> N, or dies
    case "${1:-}" in 1 | 2 | 3) echo "$1" ;; *) die "node must be 1, 2 or 3, not '${1:-}'" ;; esac
}

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        printf 'error: deploy/cluster.sh %s: network namespaces need root (run it as root)\n' "$cmd" >&2
        exit 77
    fi
}

ns_exists() { [ -e "/run/netns/$(ns "$1")" ]; }
link_exists() { ip link show "$1" >/dev/null 2>&1; }

# deploy/services.sh for HOST, inside its namespace, on its address, with its
# own folder. fd 8 (our lock) must not reach the servers it starts.
svc() { # svc HOST ARGS...
    local host="$1"
    shift
    local vars=("NEWSPIPE_SERVICES_DIR=$DIR/$host" "NEWSPIPE_LISTEN_ADDRESS=$(addr "$host")"
        "NEWSPIPE_SERVICES_TIMEOUT=$TIMEOUT")
    case "$host" in
    rmq*) vars+=("NEWSPIPE_RABBITMQ_NODENAME=newspipe@$(addr "$host")"
        "NEWSPIPE_RABBITMQ_CLUSTER_NODES=${SVC_CLUSTER_NODES-$NODES}"
        "NEWSPIPE_RABBITMQ_PARTITION_HANDLING=$PARTITION_HANDLING"
        "NEWSPIPE_RABBITMQ_NET_TICKTIME=$NET_TICKTIME") ;;
    esac
    ip netns exec "$(ns "$host")" env "${vars[@]}" "$SERVICES" "$@" 8>&-
}
ctl() { svc "rmq$1" ctl "${@:2}"; } # ctl N TOOL ARGS...

lock() {
    # One `up`/`down`/node operation at a time (the namespace names are the
    # machine's, whatever $DIR). Outside $DIR, which `down` deletes.
    mkdir -p /run/lock
    exec 8>"/run/lock/newspipe-cluster.lock"
    flock -w "$TIMEOUT" 8 || die "another deploy/cluster.sh holds /run/lock/newspipe-cluster.lock"
}

random_password() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# ---------------------------------------------------------------- network ---

check_subnet_free() {
    local routes
    routes="$(ip -4 route show to match "$SUBNET.1" | grep -v '^default' | grep -v " dev $BRIDGE " || true)"
    if [ -n "$routes" ]; then
        die "the machine already routes $SUBNET.0/24 ($routes): choose another NEWSPIPE_CLUSTER_SUBNET"
    fi
}

net_up() {
    if ! link_exists "$BRIDGE"; then
        check_subnet_free
        ip link add "$BRIDGE" type bridge stp_state 0 forward_delay 0
    fi
    # No IPv6 on the bridge: no router/neighbour chatter, nothing but the /24.
    sysctl -qw "net.ipv6.conf.$BRIDGE.disable_ipv6=1" 2>/dev/null || true
    ip -4 addr show dev "$BRIDGE" | grep -qF " $SUBNET.1/24 " ||
        ip addr add "$SUBNET.1/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
    local h n l
    for h in "${HOSTS[@]}"; do
        n="$(ns "$h")"
        l="$(link "$h")"
        ns_exists "$h" || ip netns add "$n"
        if ! link_exists "$l"; then
            ip netns exec "$n" ip link del eth0 2>/dev/null || true
            ip link add "$l" type veth peer name eth0 netns "$n"
        fi
        sysctl -qw "net.ipv6.conf.$l.disable_ipv6=1" 2>/dev/null || true
        ip link set "$l" master "$BRIDGE" up
        ip -n "$n" -4 addr show dev eth0 | grep -qF " $(addr "$h")/24 " ||
            ip -n "$n" addr add "$(addr "$h")/24" dev eth0
        ip -n "$n" link set lo up
        ip -n "$n" link set eth0 up
    done
}

# The root namespace reaches every host, and the hosts reach each other
# through the bridge (the latter is what br_netfilter + a DROP policy breaks).
net_check() {
    local h deadline=$((SECONDS + 10)) bad
    while :; do
        bad=""
        for h in "${HOSTS[@]}"; do
            ping -c1 -W1 -q "$(addr "$h")" >/dev/null 2>&1 || bad+=" root->$h"
        done
        ip netns exec "$(ns rmq2)" ping -c1 -W1 -q "$(addr rmq1)" >/dev/null 2>&1 || bad+=" rmq2->rmq1"
        ip netns exec "$(ns w1)" ping -c1 -W1 -q "$(addr db)" >/dev/null 2>&1 || bad+=" w1->db"
        [ -z "$bad" ] && return 0
        [ "$SECONDS" -ge "$deadline" ] && break
        sleep 0.5
    done
    {
        echo "no connectivity:$bad"
        echo "net.bridge.bridge-nf-call-iptables = $(sysctl -n net.bridge.bridge-nf-call-iptables 2>/dev/null || echo 'n/a (br_netfilter not loaded)')"
        if command -v iptables >/dev/null; then
            echo "iptables FORWARD chain (with br_netfilter, a DROP here also drops bridged traffic):"
            iptables -S FORWARD 2>&1 | head -n 20
        fi
        if command -v nft >/dev/null; then
            echo "nftables ruleset:"
            nft list ruleset 2>&1 | head -n 40
        fi
        ip -br link show master "$BRIDGE"
    } >&2
    die "the rig's network does not work (see above)"
}

# --------------------------------------------------------------- services ---

prepare_folders() {
    umask 077
    mkdir -p "$DIR"
    chmod 711 "$DIR" # the postgres user walks down to $DIR/db/postgres
    # One set of passwords and one Erlang cookie for all hosts: each node
    # folder gets them before its first start (services.sh only makes them
    # when they are missing).
    if [ ! -s "$DIR/secrets" ]; then
        local key
        for key in AMQP_PASSWORD PG_PASSWORD PG_STORE_PASSWORD PG_FETCHER_PASSWORD PG_WARC_READER_PASSWORD PG_API_PASSWORD; do
            echo "$key=$(random_password)"
        done >"$DIR/secrets.tmp"
        mv "$DIR/secrets.tmp" "$DIR/secrets"
    fi
    [ -s "$DIR/cookie" ] || random_password | tr 'a-f' 'A-F' >"$DIR/cookie"
    local h
    for h in rmq1 rmq2 rmq3 db; do
        mkdir -p "$DIR/$h"
        chmod 711 "$DIR/$h"
        [ -s "$DIR/$h/secrets" ] || install -m 600 "$DIR/secrets" "$DIR/$h/secrets"
    done
    for h in rmq1 rmq2 rmq3; do
        mkdir -p "$DIR/$h/rabbitmq/home"
        [ -s "$DIR/$h/rabbitmq/home/.erlang.cookie" ] ||
            install -m 400 "$DIR/cookie" "$DIR/$h/rabbitmq/home/.erlang.cookie"
    done
}

secret() { sed -n "s/^$1=//p" "$DIR/secrets"; }

write_env() {
    local amqp_pass pg_url_host i amqp="" mgmt="" hosts="" h
    amqp_pass="$(secret AMQP_PASSWORD)"
    pg_url_host="$(addr db):$PG_PORT"
    # heartbeat=5: the broker closes the connections of a cut-off host after
    # two missed heartbeats (about 10 s) instead of the default 60 s ones
    # (and the client notices a dead broker as quickly).
    for i in 1 2 3; do
        amqp+="${amqp:+,}amqp://newspipe:${amqp_pass}@$(addr "rmq$i"):${AMQP_PORT}/%2f?heartbeat=5"
        mgmt+="${mgmt:+,}http://$(addr "rmq$i"):${MGMT_PORT}"
    done
    for h in "${HOSTS[@]}"; do hosts+="${hosts:+,}$h:$(addr "$h")"; done
    # Plain KEY=value lines, no quotes or comments: the Rust tests parse it.
    {
        echo "AMQP_URL=$amqp"
        echo "NEWSPIPE__BROKER__MANAGEMENT_URL=$mgmt"
        echo "DATABASE_URL=postgres://newspipe:$(secret PG_PASSWORD)@$pg_url_host/newspipe"
        echo "STORE_DATABASE_URL=postgres://newspipe_store:$(secret PG_STORE_PASSWORD)@$pg_url_host/newspipe"
        echo "FETCHER_DATABASE_URL=postgres://newspipe_fetcher:$(secret PG_FETCHER_PASSWORD)@$pg_url_host/newspipe"
        echo "WARC_READER_DATABASE_URL=postgres://newspipe_warc_reader:$(secret PG_WARC_READER_PASSWORD)@$pg_url_host/newspipe"
        echo "API_DATABASE_URL=postgres://newspipe_api:$(secret PG_API_PASSWORD)@$pg_url_host/newspipe"
        echo "NEWSPIPE_CLUSTER_DIR=$DIR"
        echo "NEWSPIPE_CLUSTER_ROOT_ADDRESS=$SUBNET.1"
        echo "NEWSPIPE_CLUSTER_HOSTS=$hosts"
        echo "NEWSPIPE_CLUSTER_NODES=${NODES// /,}"
    } >"$DIR/env.tmp"
    chmod 600 "$DIR/env.tmp"
    mv "$DIR/env.tmp" "$DIR/env"
}

show_failure_logs() {
    local h f
    for h in rmq1 rmq2 rmq3 db; do
        for f in "$DIR/$h/cluster.log" "$DIR/$h/rabbitmq/log/rabbit.log" "$DIR/$h/rabbitmq/log/server-stdout.log" "$DIR/$h/postgres/postgres.log"; do
            [ -s "$f" ] || continue
            printf -- '----- last lines of %s -----\n' "$f" >&2
            tail -n 25 "$f" >&2 || true
        done
    done
}

# svc HOST ARGS..., its output in $DIR/HOST/cluster.log (also on failure, to stderr).
svc_logged() {
    local host="$1" rc=0
    shift
    svc "$host" "$@" >>"$DIR/$host/cluster.log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        printf -- '----- %s: deploy/services.sh %s failed (exit %s) -----\n' "$host" "$*" "$rc" >&2
        tail -n 40 "$DIR/$host/cluster.log" >&2 || true
    fi
    return "$rc"
}

rmq_pid_file() { echo "$DIR/rmq$1/rabbitmq/rabbitmq.pid"; }
node_process_alive() {
    local f pid
    f="$(rmq_pid_file "$1")"
    [ -s "$f" ] || return 1
    pid="$(cat "$f")"
    [ -n "$pid" ] && pid_alive "$pid"
}

# The running_nodes of node N's cluster_status, one per line.
running_nodes_seen_by() {
    local json
    json="$(ctl "$1" rabbitmq-diagnostics -q cluster_status --formatter json 2>/dev/null)" || return 0
    sed -n 's/.*"running_nodes":\[\([^]]*\)\].*/\1/p' <<<"$json" | tr -d '"' | tr ',' '\n'
}

# Is node N in the running nodes that node K sees?
sees_running() { # sees_running K N
    local seen
    seen="$(running_nodes_seen_by "$1")"
    grep -qxF "$(node_name "$2")" <<<"$seen"
}

# Until every other live node lists node N as running (bounded).
await_member() {
    local n="$1" deadline=$((SECONDS + TIMEOUT)) k missing
    while :; do
        missing=""
        for k in 1 2 3; do
            [ "$k" = "$n" ] && continue
            node_process_alive "$k" || continue
            sees_running "$k" "$n" || missing+=" rmq$k"
        done
        [ -z "$missing" ] && return 0
        if [ "$SECONDS" -ge "$deadline" ]; then
            die "rmq$n: not listed as running by$missing after ${TIMEOUT}s"
        fi
        sleep 1
    done
}

# All three nodes are running members of one cluster; a node that formed a
# cluster of its own (peer discovery missed node 1) joins node 1 explicitly.
ensure_cluster() {
    local n seen deadline
    for n in 2 3; do
        deadline=$((SECONDS + 15))
        while ! sees_running 1 "$n"; do
            if [ "$SECONDS" -ge "$deadline" ]; then
                seen="$(running_nodes_seen_by "$n" | tr '\n' ' ')"
                log "cluster: rmq$n is not in rmq1's cluster (rmq$n sees: ${seen:-nothing}); joining it to rmq1"
                ctl "$n" rabbitmqctl -q stop_app
                ctl "$n" rabbitmqctl -q reset
                ctl "$n" rabbitmqctl -q join_cluster "$(node_name 1)"
                ctl "$n" rabbitmqctl -q start_app
                ctl "$n" rabbitmqctl -q await_startup --timeout "$TIMEOUT"
                break
            fi
            sleep 1
        done
    done
    seen="$(running_nodes_seen_by 1 | sort | tr '\n' ' ')"
    for n in 1 2 3; do
        if ! grep -qwF "$(node_name "$n")" <<<"$seen"; then
            die "cluster: rmq1 lists these running nodes: ${seen:-none}; rmq$n is missing"
        fi
    done
    log "cluster: running nodes $seen"
}

# ---------------------------------------------------------------- up/down ---

UP_FRESH=0
on_up_exit() {
    local rc=$?
    trap - EXIT
    [ "$rc" -eq 0 ] && return 0
    show_failure_logs
    if [ "$UP_FRESH" -eq 1 ]; then
        log "up failed (exit $rc): tearing down what it made"
        rig_down || true
    else
        log "up failed (exit $rc) on a rig that existed before; left as it is: deploy/cluster.sh down removes it"
    fi
    exit "$rc"
}

rig_exists() {
    local h
    link_exists "$BRIDGE" && return 0
    for h in "${HOSTS[@]}"; do
        ns_exists "$h" && return 0
        link_exists "$(link "$h")" && return 0
    done
    [ -d "$DIR" ]
}

rig_up() {
    ensure_apt_packages rabbitmq-server postgresql iproute2 iputils-ping
    lock
    rig_exists || UP_FRESH=1
    trap on_up_exit EXIT
    trap 'exit 130' INT TERM
    local started=$SECONDS
    net_up
    net_check
    prepare_folders
    log "network ready ($BRIDGE $SUBNET.1/24, hosts ${HOSTS[*]}); starting rmq1 and db"
    # Node 1 alone first: blank nodes booting together under classic_config
    # can each form a cluster of their own. PostgreSQL meanwhile.
    svc_logged db start postgres &
    local db_job=$!
    # A blank node 1 is the seed: with classic_config it would first try
    # nodes 2 and 3 (10 tries, 0.5 s apart) before booting alone. Later
    # starts find its database and never ask peer discovery again.
    if [ -z "$(ls -A "$DIR/rmq1/rabbitmq/mnesia" 2>/dev/null)" ]; then
        SVC_CLUSTER_NODES="" svc_logged rmq1 start rabbitmq
    else
        svc_logged rmq1 start rabbitmq
    fi
    log "rmq1 ready after $((SECONDS - started))s; starting rmq2 and rmq3"
    svc_logged rmq2 start rabbitmq &
    local j2=$!
    svc_logged rmq3 start rabbitmq &
    local j3=$!
    local rc=0
    wait "$j2" || rc=1
    wait "$j3" || rc=1
    wait "$db_job" || rc=1
    [ "$rc" -eq 0 ] || die "a service failed to start (logs above)"
    ensure_cluster
    write_env
    trap - EXIT INT TERM
    log "cluster up in $((SECONDS - started))s; env file: $DIR/env"
}

# Every process in HOST's namespace (ours, and whatever a test started there).
kill_namespace() {
    local h="$1" pids _
    ns_exists "$h" || return 0
    pids="$(ip netns pids "$(ns "$h")" 2>/dev/null || true)"
    [ -z "$pids" ] && return 0
    # shellcheck disable=SC2086 # one pid a word
    kill -KILL $pids 2>/dev/null || true
    for _ in $(seq 1 50); do
        [ -z "$(ip netns pids "$(ns "$h")" 2>/dev/null)" ] && return 0
        sleep 0.1
    done
    log "down: processes left in $(ns "$h"): $(ip netns pids "$(ns "$h")" | tr '\n' ' ')"
}

rig_down() {
    local h pid _
    # PostgreSQL first, by its own immediate shutdown (SIGQUIT): it removes
    # its shared memory, which a SIGKILL would leave behind.
    if [ -s "$DIR/db/postgres/data/postmaster.pid" ]; then
        pid="$(head -n 1 "$DIR/db/postgres/data/postmaster.pid")"
        if [ -n "$pid" ] && pid_alive "$pid"; then
            kill -QUIT "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do
                pid_alive "$pid" || break
                sleep 0.1
            done
        fi
    fi
    # The RabbitMQ nodes' data goes with $DIR: no need for clean stops.
    for h in "${HOSTS[@]}"; do kill_namespace "$h"; done
    for h in "${HOSTS[@]}"; do
        link_exists "$(link "$h")" && ip link del "$(link "$h")"
        ns_exists "$h" && ip netns del "$(ns "$h")"
    done
    link_exists "$BRIDGE" && ip link del "$BRIDGE"
    rm -rf "$DIR"
    log "down: namespaces, links, bridge and $DIR removed"
}

# ---------------------------------------------------------------- status ---

rig_status() {
    local rc=0 h state n flags
    if ! link_exists "$BRIDGE"; then
        echo "rig: down (no bridge $BRIDGE)"
        rc=1
    fi
    for h in "${HOSTS[@]}"; do
        if ! ns_exists "$h"; then
            echo "$h: no namespace"
            rc=1
            continue
        fi
        flags="$(ip -o link show "$(link "$h")" 2>/dev/null || true)"
        if [[ "$flags" =~ [\<,]UP[,\>] ]]; then
            state=up
        elif [ -n "$flags" ]; then
            state="DOWN (partitioned)"
        else
            state="missing"
            rc=1
        fi
        printf '%-5s %-13s %-15s link %s\n' "$h" "$(ns "$h")" "$(addr "$h")" "$state"
    done
    for n in 1 2 3; do
        if node_process_alive "$n"; then
            echo "rmq$n: beam pid $(cat "$(rmq_pid_file "$n")") ($(node_name "$n"))"
        else
            echo "rmq$n: not running"
            rc=1
        fi
    done
    for n in 1 2 3; do
        node_process_alive "$n" || continue
        local json
        if json="$(ctl "$n" rabbitmq-diagnostics -q cluster_status --formatter json 2>/dev/null)"; then
            printf 'cluster (seen by rmq%s): running %s; disk nodes %s; partitions %s\n' "$n" \
                "$(sed -n 's/.*"running_nodes":\[\([^]]*\)\].*/\1/p' <<<"$json" | tr -d '"')" \
                "$(sed -n 's/.*"disk_nodes":\[\([^]]*\)\].*/\1/p' <<<"$json" | tr -d '"')" \
                "$(sed -n 's/.*"partitions":\({[^}]*}\).*/\1/p' <<<"$json")"
        else
            echo "cluster (seen by rmq$n): no answer"
            rc=1
        fi
        break
    done
    if ns_exists db && [ -d "$DIR/db" ]; then
        local pg
        pg="$(svc db status 2>/dev/null | grep '^postgres' || true)"
        echo "${pg:-postgres: no answer}"
        [[ "$pg" == "postgres: running"* ]] || rc=1
    else
        echo "postgres: not running"
        rc=1
    fi
    return "$rc"
}

# ------------------------------------------------------------------ nodes ---

need_rig() {
    if [ ! -d "$DIR/rmq1" ] || ! link_exists "$BRIDGE"; then die "no rig: run deploy/cluster.sh up"; fi
}

kill_node() {
    local n="$1" pid _
    if ! node_process_alive "$n"; then
        log "rmq$n: not running"
        return 0
    fi
    pid="$(cat "$(rmq_pid_file "$n")")"
    kill -KILL "$pid"
    for _ in $(seq 1 100); do
        pid_alive "$pid" || { log "rmq$n: killed (pid $pid)"; return 0; }
        sleep 0.05
    done
    die "rmq$n: pid $pid still alive after SIGKILL"
}

start_nodes() { # start_nodes N...: in parallel (all nodes stopped: they need each other to boot)
    local n jobs=() rc=0 j
    for n in "$@"; do
        svc_logged "rmq$n" start rabbitmq &
        jobs+=("$!")
    done
    for j in "${jobs[@]}"; do wait "$j" || rc=1; done
    [ "$rc" -eq 0 ] || die "start-node $*: failed (logs above)"
    for n in "$@"; do
        await_member "$n"
        log "rmq$n: running, in the cluster"
    done
}

# Until no quorum queue would lose its majority without node N (bounded).
await_not_quorum_critical() {
    local n="$1" deadline=$((SECONDS + TIMEOUT)) out
    until out="$(ctl "$n" rabbitmq-queues -q check_if_node_is_quorum_critical 2>&1)"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            printf '%s\n' "$out" >&2
            die "rmq$n: still quorum critical after ${TIMEOUT}s: not restarted"
        fi
        sleep 1
    done
}

restart_node() {
    local n="$1" started=$SECONDS
    if node_process_alive "$n"; then
        await_not_quorum_critical "$n"
        log "rmq$n: not quorum critical; stopping"
        svc_logged "rmq$n" stop rabbitmq
    fi
    svc_logged "rmq$n" start rabbitmq
    await_member "$n"
    log "rmq$n: restarted and back in the cluster in $((SECONDS - started))s"
}

# Link up, and forget the neighbours that went unresolved while it was down:
# an address still being resolved (INCOMPLETE) when the link comes back turns
# FAILED once its probes run out, and the kernel then fails the first packets
# sent to it ("Destination Host Unreachable") although the link is fine.
heal() {
    local h="$1" k deadline=$((SECONDS + 10))
    ip link set "$(link "$h")" up
    ip neigh flush dev "$BRIDGE" 2>/dev/null || true
    for k in "${HOSTS[@]}"; do
        ns_exists "$k" && { ip -n "$(ns "$k")" neigh flush dev eth0 2>/dev/null || true; }
    done
    until ping -c1 -W1 -q "$(addr "$h")" >/dev/null 2>&1; do
        [ "$SECONDS" -ge "$deadline" ] && die "$h: link up, but $(addr "$h") does not answer"
        sleep 0.1
    done
    log "$h: link up again"
}

# ------------------------------------------------------------------- main ---

usage() {
    sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
up)
    [ $# -eq 0 ] || usage
    need_root
    rig_up
    ;;
down)
    [ $# -eq 0 ] || usage
    need_root
    lock
    rig_down
    ;;
env)
    [ -s "$DIR/env" ] || die "no $DIR/env: run deploy/cluster.sh up"
    while IFS='=' read -r key value; do
        [ -n "$key" ] && printf 'export %s=%q\n' "$key" "$value"
    done <"$DIR/env"
    ;;
status)
    need_root
    rig_status
    ;;
kill-node | start-node | stop-node)
    [ $# -ge 1 ] || usage
    need_root
    need_rig
    nodes=()
    for a in "$@"; do nodes+=("$(node_arg "$a")"); done
    lock
    case "$cmd" in
    kill-node) for n in "${nodes[@]}"; do kill_node "$n"; done ;;
    start-node) start_nodes "${nodes[@]}" ;;
    stop-node) for n in "${nodes[@]}"; do svc_logged "rmq$n" stop rabbitmq; done ;;
    esac
    ;;
restart-node)
    [ $# -eq 1 ] || usage
    need_root
    need_rig
    n="$(node_arg "$1")"
    lock
    restart_node "$n"
    ;;
partition | heal)
    [ $# -eq 1 ] || usage
    need_root
    valid_host "$1"
    link_exists "$(link "$1")" || die "no link $(link "$1"): run deploy/cluster.sh up"
    if [ "$cmd" = partition ]; then
        ip link set "$(link "$1")" down
        log "$1: cut off ($(link "$1") down)"
    else
        heal "$1"
    fi
    ;;
restart-db)
    [ $# -eq 0 ] || usage
    need_root
    need_rig
    lock
    svc_logged db restart postgres
    log "db: PostgreSQL restarted"
    ;;
netns)
    [ $# -eq 1 ] || usage
    valid_host "$1"
    ns "$1"
    ;;
exec)
    [ $# -ge 2 ] || usage
    need_root
    valid_host "$1"
    ns_exists "$1" || die "no namespace $(ns "$1"): run deploy/cluster.sh up"
    h="$1"
    shift
    exec ip netns exec "$(ns "$h")" "$@"
    ;;
*) usage ;;
esac
