#!/usr/bin/env bash
# Stops what deploy/up.sh started: the workers (SIGTERM, then SIGKILL for
# any still running after the grace period) and the demo web server.
#
#   deploy/down.sh [--services]
#
#   --services  also stop RabbitMQ and PostgreSQL (their data is kept;
#               deploy/services.sh destroy deletes it)
#
# NEWSPIPE_STOP_GRACE (seconds, default 30): how long a worker may take to
# finish the messages it holds before it is killed.
set -euo pipefail

# shellcheck source=deploy/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

services=0
case "${1:-}" in
"") ;;
--services) services=1 ;;
*) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac

DIR="$NEWSPIPE_SERVICES_DIR"
GRACE="${NEWSPIPE_STOP_GRACE:-30}"

pids=() names=()
for pidf in "$DIR"/workers/*.pid "$DIR/demo/http.pid"; do
    [ -s "$pidf" ] || continue
    pid="$(cat "$pidf")"
    rm -f "$pidf"
    pid_alive "$pid" || continue
    # TERM all at once so they drain in parallel, not one after another.
    kill -TERM "$pid" 2>/dev/null || true
    pids+=("$pid")
    names+=("$(basename "$pidf" .pid)")
done

if [ "${#pids[@]}" -eq 0 ]; then
    log "no workers running"
else
    log "stopping ${names[*]} (grace ${GRACE}s)"
    deadline=$((SECONDS + GRACE))
    while :; do
        left=()
        for pid in "${pids[@]}"; do
            pid_alive "$pid" && left+=("$pid")
        done
        [ "${#left[@]}" -eq 0 ] && break
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "killing ${left[*]} (still running after ${GRACE}s)"
            kill -KILL "${left[@]}" 2>/dev/null || true
            break
        fi
        sleep 0.5
    done
    log "workers stopped"
fi

if [ "$services" -eq 1 ]; then
    "$NEWSPIPE_REPO/deploy/services.sh" stop
fi
