#!/usr/bin/env bash
# The long fuzz runs (issue 20): each target for RUNS executions (10 million by default) on
# the nightly toolchain with cargo-fuzz, sanitizer off (docs/DECISIONS.md "Fuzzing"), starting
# from and adding to fuzz/corpus/TARGET. Prints a markdown table: executions, time, rate,
# crashes. CI runs only the short stable smoke test (crates/fuzzkit); this is for a quiet
# machine.
#
#   bash bench/fuzz-long.sh                    # every target, RUNS=10000000
#   RUNS=1000000 bash bench/fuzz-long.sh lvscf heartbeat
#
# Needs: rustup's nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`).
# A crash leaves its input under fuzz/artifacts/TARGET/ and counts in the table; the script
# goes on with the next target and exits 1 at the end.
set -uo pipefail
cd "$(dirname "$0")/../fuzz"

RUNS=${RUNS:-10000000}
if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(ls fuzz_targets | sed 's/\.rs$//')
fi
log=$(mktemp -d /tmp/fuzz-long.XXXXXX)

echo "| target | executions | seconds | executions/s | crashes | corpus files |"
echo "|---|---|---|---|---|---|"
failed=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    cargo +nightly fuzz build -s none "$t" > "$log/$t.build" 2>&1 || { echo "$t: build failed, see $log/$t.build" >&2; exit 2; }
    start=$(date +%s)
    cargo +nightly fuzz run -s none "$t" -- -runs="$RUNS" -print_final_stats=1 \
        > "$log/$t.log" 2>&1
    rc=$?
    secs=$(($(date +%s) - start))
    runs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log/$t.log" | tail -1)
    crashes=0
    if [ $rc -ne 0 ]; then
        crashes=1
        failed=1
        echo "$t: exit $rc, see $log/$t.log" >&2
    fi
    rate=$(awk -v n="${runs:-0}" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
    echo "| $t | ${runs:-?} | $secs | $rate | $crashes | $(ls "corpus/$t" | wc -l) |"
done
echo
echo "Command: \`RUNS=$RUNS bash bench/fuzz-long.sh ${*:-}\`; $(nproc) CPUs; $(rustc +nightly --version); logs in $log."
exit $failed
