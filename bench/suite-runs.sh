#!/usr/bin/env bash
# The whole test suite, run after run on one commit: does it pass every time? Clones the
# committed HEAD into a fresh directory, runs .ci/run once there (CI=true: packages, fmt,
# clippy, docs, man pages, then README.md's test command), then README.md's test command alone
# RUNS-1 more times in the same clone. With STRESS=N, `stress-ng --cpu N` keeps N cores busy
# beside every run. Prints one line per run and a summary; exits 1 when a run failed.
#
#   sudo bash bench/suite-runs.sh               # RUNS=5 STRESS=0 DIR=/tmp/suite-runs
#   sudo STRESS=2 RUNS=1 bash bench/suite-runs.sh
#
# Each run's output is kept in $DIR/runN.log. Needs root (the namespace and VM tests) and,
# with STRESS, stress-ng (Debian package; installed here when missing and apt-get works).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
STRESS=${STRESS:-0}
DIR=${DIR:-/tmp/suite-runs}
if [ "$STRESS" != 0 ] && ! command -v stress-ng >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq stress-ng >/dev/null
fi
# The test command, as README.md writes it (the line after its <!-- test-command --> mark).
test_command=$(awk '/<!-- test-command -->/ { mark = 1; next } mark && /^```sh/ { getline; print; exit }' README.md)
[ -n "$test_command" ] || { echo "no test command in README.md" >&2; exit 2; }

rm -rf "$DIR"
git clone -q . "$DIR/clone"
cd "$DIR/clone"
stress_pid=
cleanup() { [ -z "$stress_pid" ] || kill "$stress_pid" 2>/dev/null || true; }
trap cleanup EXIT
if [ "$STRESS" != 0 ]; then
    stress-ng --cpu "$STRESS" --timeout 0 >/dev/null 2>&1 &
    stress_pid=$!
fi

echo "commit $(git rev-parse --short HEAD), $(nproc) CPUs, stress-ng --cpu $STRESS beside: $test_command"
echo
echo "| run | how | exit | seconds | test binaries | failed binaries |"
echo "|---|---|---|---|---|---|"
failed=0
for n in $(seq "$RUNS"); do
    log=$DIR/run$n.log
    start=$(date +%s)
    if [ "$n" = 1 ]; then
        how='`CI=true bash .ci/run`, fresh clone'
        rc=0; CI=true bash .ci/run > "$log" 2>&1 || rc=$?
    else
        how='the test command, same clone'
        rc=0; CI=true bash -c "$test_command" > "$log" 2>&1 || rc=$?
    fi
    [ "$rc" = 0 ] || failed=$((failed + 1))
    echo "| $n | $how | $rc | $(($(date +%s) - start)) | $(grep -c '^test result' "$log" || true) | $(grep -c '^test result: FAILED' "$log" || true) |"
done
echo
echo "$((RUNS - failed)) of $RUNS runs passed (logs: $DIR/runN.log)."
[ "$failed" = 0 ]
