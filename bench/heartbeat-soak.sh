#!/bin/sh
# Heartbeat soak and flapping (issue 20), not part of CI: the fault matrix's LVS pair (real
# pulse, lvsd on the userspace data plane, nannies, in network namespaces; run as root with
# nftables) under
#   - 30 % random heartbeat loss in both directions (nftables `numgen random mod 100 < 30
#     drop`) at keepalive 0.1 / deadtime 0.3 for SOAK_SECS (default 300 s), and
#   - the heartbeat link cut and restored every second for FLAP_SECS (default 60 s),
# with a client asking the VIP all along. Prints one row per run: false takeovers by the
# backup (the master never stopped), whether the master gave up, the client's failed requests
# and longest gap. The tests are tests/tests/soak.rs (ignored in the normal run).
#
#   sudo sh bench/heartbeat-soak.sh            # both, 5 min + 1 min
#   SOAK_SECS=60 FLAP_SECS=20 sh bench/heartbeat-soak.sh
#   SOAK_DEADTIME=0.35 sh bench/heartbeat-soak.sh   # the loss run's deadtime (0.3)
set -eu
cd "$(dirname "$0")/.."
export SOAK_SECS="${SOAK_SECS:-300}" FLAP_SECS="${FLAP_SECS:-60}"
cargo build --workspace --locked -q
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# One at a time: each run has both directors' timing to itself.
cargo test -p e2e --test soak --locked -q -- --ignored --nocapture --test-threads=1 2>&1 | tee "$log" | grep -E 'SOAK-ROW|panicked|test result' >&2 || true
echo
echo "| run | length | false takeovers (backup) | master gave up | client failed / requests | longest gap | notes |"
echo "|---|---|---|---|---|---|---|"
grep -o 'SOAK-ROW .*' "$log" | sed 's/^SOAK-ROW //' | awk -F' [|] ' '{
    sub(/backup took over /, "", $3); sub(/master gave up /, "", $4);
    sub(/ failed of /, " / ", $5); sub(/ requests/, "", $5); sub(/longest gap /, "", $6);
    notes = $7; for (i = 8; i <= NF; i++) notes = notes "; " $i
    printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, notes }'
grep -q 'test result: ok' "$log"
