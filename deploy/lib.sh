# shellcheck shell=bash
# Helpers shared by the deploy/ scripts. Sourced, never run: it sets no
# shell options of its own so that each script keeps control of its own.

# The one folder every local run writes to: services' data, logs, passwords,
# worker pidfiles. Outside the repository on purpose (nothing to .gitignore,
# nothing to leak into a commit) and overridable so that two checkouts can
# keep separate stacks.
NEWSPIPE_SERVICES_DIR="${NEWSPIPE_SERVICES_DIR:-/tmp/newspipe-services}"
export NEWSPIPE_SERVICES_DIR

# The repository root, whatever the caller's working directory.
# shellcheck disable=SC2034 # used by the scripts that source this file
NEWSPIPE_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf '%s %s\n' "[$(date -u +%H:%M:%S)]" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# A header that stands out in a long CI log, so a failure is easy to place.
section() {
    printf '\n==================== %s ====================\n' "$*" >&2
}

pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# Installs the named Debian packages that are missing, and only those: a
# fresh CI machine lacks some of them, a developer's laptop usually has them
# all, and `apt-get update` alone costs tens of seconds.
ensure_apt_packages() {
    local missing=() p
    for p in "$@"; do
        pkg_installed "$p" || missing+=("$p")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        die "missing Debian packages: ${missing[*]} (install them as root: apt-get install ${missing[*]})"
    fi
    command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get to install them"
    log "installing Debian packages: ${missing[*]}"
    # Package scripts would start the distribution's own RabbitMQ and
    # PostgreSQL on their default ports: we run our own instances instead,
    # so forbid service starts for the duration of the install.
    local policy=/usr/sbin/policy-rc.d added_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        added_policy=1
    fi
    local rc=0
    {
        DEBIAN_FRONTEND=noninteractive apt-get update -q &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
                -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
                "${missing[@]}"
    } >&2 || rc=$?
    [ "$added_policy" -eq 1 ] && rm -f "$policy"
    [ "$rc" -eq 0 ] || die "apt-get install ${missing[*]} failed (exit $rc)"
}

# Is PID a live process? `kill -0` alone says yes for a zombie, and in some
# containers nothing reaps the orphans we detach, so look at its state too.
pid_alive() {
    local pid="$1" state
    kill -0 "$pid" 2>/dev/null || return 1
    state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" || return 0
    [ "$state" != Z ]
}
