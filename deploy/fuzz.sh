#!/usr/bin/env bash
# Coverage-guided fuzzing of crates/fuzz's targets (cargo-bolero + libFuzzer),
# longer than the test command's 10 s of random inputs per target. Runs each
# target for SECONDS, one after the other, then prints one table row per
# target: time, executions, executions per second, corpus size, crashes.
#
#   deploy/fuzz.sh [SECONDS] [TARGET...]    default: 180 s, every target
#
# Needs a nightly toolchain and cargo-bolero (installed when missing:
# `cargo install cargo-bolero --locked`). Builds into CARGO_TARGET_DIR
# (default target/) with the profile `fuzz` and its own flags (sanitizer
# coverage, AddressSanitizer), for the host triple. Corpora and crashes are kept between runs, outside the
# repository, in NEWSPIPE_FUZZ_DIR (default: that target dir's fuzz-work/),
# so a second run continues where the first stopped; one log per target
# there too. Exits non-zero if any target crashed or failed to build: the
# crashing input is in NEWSPIPE_FUZZ_DIR/<target>/crashes/ (and the panic in
# the log): make it a regression test in the crate at fault, then fix that.
#
# NEWSPIPE_FUZZ_MAX_LEN (default 65536) bounds the input length; nice it
# when sharing the machine: `nice -n 19 deploy/fuzz.sh 180`.
set -euo pipefail

# shellcheck source=deploy/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$NEWSPIPE_REPO"

seconds="${1:-180}"
[ "$#" -gt 0 ] && shift
[[ "$seconds" =~ ^[0-9]+$ ]] || die "SECONDS must be a whole number of seconds, not '$seconds'"

all_targets() {
    # Every #[test] in the targets file is a target.
    sed -n 's/^fn \([a-z0-9_]*\)() {$/\1/p' crates/fuzz/tests/targets.rs
}
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(all_targets)
fi
[ "${#targets[@]}" -gt 0 ] || die "no fuzz targets found in crates/fuzz/tests/targets.rs"

# Its artifacts go to <target dir>/x86_64-unknown-linux-gnu/fuzz/, apart from the usual ones.
target_dir="${CARGO_TARGET_DIR:-$NEWSPIPE_REPO/target}"
work="${NEWSPIPE_FUZZ_DIR:-$target_dir/fuzz-work}"
max_len="${NEWSPIPE_FUZZ_MAX_LEN:-65536}"

rustup run nightly rustc --version >/dev/null 2>&1 ||
    die "a nightly toolchain is needed (rustup toolchain install nightly)"
if ! cargo bolero --version >/dev/null 2>&1; then
    log "installing cargo-bolero"
    cargo install cargo-bolero --locked
fi

rows=()
failed=()
for t in "${targets[@]}"; do
    section "fuzz $t (${seconds}s)"
    mkdir -p "$work/$t/corpus" "$work/$t/crashes"
    logfile="$work/$t/log"
    # The whole log goes to the file; the terminal gets libFuzzer's milestones and any crash.
    {
        rc=0
        cargo +nightly bolero test -p newspipe-fuzz "$t" --engine libfuzzer \
            -T "${seconds}s" -l "$max_len" --target-dir "$target_dir" \
            --corpus-dir "$work/$t/corpus" --crashes-dir "$work/$t/crashes" 2>&1 || rc=$?
        echo "$rc" >"$work/$t/exit-code"
    } | tee "$logfile" | { grep -E '^(#[0-9]+[[:space:]]+(INITED|pulse|DONE)|Done |==[0-9]+==|SUMMARY|.*panicked|error)' || true; }
    rc="$(cat "$work/$t/exit-code")"
    # libFuzzer's last status line carries the totals: "#N ... exec/s: E ...".
    last="$(grep -E '^#[0-9]+' "$logfile" | tail -n 1 || true)"
    execs="$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$logfile" | tail -n 1)"
    [ -n "$execs" ] || execs="$(printf '%s' "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')"
    rate="$(printf '%s' "$last" | sed -n 's/.*exec\/s: \([0-9]*\).*/\1/p')"
    corpus="$(find "$work/$t/corpus" -type f | wc -l)"
    crashes="$(find "$work/$t/crashes" -type f | wc -l)"
    rows+=("$(printf '| %s | %ss | %s | %s | %s | %s |' "$t" "$seconds" "${execs:-?}" "${rate:-?}" "$corpus" "$crashes")")
    if [ "$rc" -ne 0 ] || [ "$crashes" -gt 0 ]; then
        failed+=("$t")
        log "$t: exit $rc, $crashes file(s) in $work/$t/crashes (log: $logfile)"
    fi
done

section "summary ($(date -u +%Y-%m-%d))"
echo "| target | time | executions | exec/s | corpus | crash files |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "CRASHED or FAILED: ${failed[*]}" >&2
    exit 1
fi
