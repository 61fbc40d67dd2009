#!/usr/bin/env bash
# The userspace data plane (lvsd --dataplane userspace) against HAProxy in TCP mode with one
# and with two threads, in one run: the same two nginx backends, the same wrk load, the same
# machine. The proxies take turns: ROUNDS rounds, each running wrk against every proxy in turn
# (HAProxy 1 thread, HAProxy 2 threads, uplane; each round starts one further along), so that
# a quiet or a busy moment of the machine falls on all of them, after a 2-second uncounted
# warm-up through each. Prints every round, then the medians and the worst p99.
#
#   bash bench/uplane-vs-haproxy.sh     # ROUNDS=5 DURATION=8 CONNECTIONS=64 THREADS=2 BODY=64
#
#   RESPONSE=close  a new connection per request (Connection: close)
#   RESPONSE=1m     a 1 MiB body, keep-alive
#
# Needs: nginx-light, haproxy, wrk (Debian packages; installed here when missing and apt-get
# works), and a release build of lvsd and nanny (built here). Exits 1 when a uplane round's p99
# is above the HAProxy rounds' p99 of the same round (both thread counts) or when a round saw
# errors, with CHECK=1. lvsd's log is kept in $LVSD_LOG (/tmp/uplane-bench-lvsd.log).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-8}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
BODY=${BODY:-64}
RESPONSE=${RESPONSE:-keepalive}
CHECK=${CHECK:-0}
LVSD_LOG=${LVSD_LOG:-/tmp/uplane-bench-lvsd.log}
missing=()
for p in nginx:nginx-light haproxy:haproxy wrk:wrk; do
    command -v "${p%%:*}" >/dev/null || missing+=("${p#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
cargo build -q --release -p lvsd -p nanny

dir=$(mktemp -d /tmp/uplane-bench.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    cp "$dir/lvsd.log" "$LVSD_LOG" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT

# Backends: two nginx, one worker each, serving the same pages.
mkdir -p "$dir/www" "$dir/tmp"
head -c "$BODY" /dev/zero | tr '\0' x > "$dir/www/body"
head -c $((1024 * 1024)) /dev/urandom > "$dir/www/1m"
chmod a+rx "$dir" "$dir/www" && chmod a+r "$dir/www/"*
for n in 1 2; do
    cat > "$dir/nginx$n.conf" <<NGINX
worker_processes 1;
daemon off;
pid $dir/nginx$n.pid;
error_log $dir/nginx$n.err;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp; fastcgi_temp_path $dir/tmp;
    uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
    keepalive_requests 1000000;
    server { listen 127.0.0.1:1800$n; root $dir/www; }
}
NGINX
    nginx -c "$dir/nginx$n.conf" & pids+=($!)
done

# HAProxy: plain TCP forwarding as an L4 balancer, round robin over both backends.
declare -A proxy_pid
for t in 1 2; do
    cat > "$dir/haproxy$t.cfg" <<HAP
global
    nbthread $t
    maxconn 4000
defaults
    mode tcp
    balance roundrobin
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend f
    bind 127.0.0.1:1810$t
    default_backend b
backend b
    server nginx1 127.0.0.1:18001
    server nginx2 127.0.0.1:18002
HAP
    haproxy -f "$dir/haproxy$t.cfg" -db & pids+=($!)
    proxy_pid[haproxy-$t]=$!
done

# lvsd with the userspace data plane and one nanny per backend.
cat > "$dir/lvs.cf" <<CF
primary = 127.0.0.1
service = lvs
dataplane = userspace
hard_shutdown = 0
virtual bench {
    active = 1
    address = 127.0.0.81 lo:1
    port = 18201
    scheduler = rr
    send = "GET /body HTTP/1.0\r\n\r\n"
    expect = "HTTP"
    server nginx1 {
        address = 127.0.0.1
        port = 18001
        active = 1
    }
    server nginx2 {
        address = 127.0.0.1
        port = 18002
        active = 1
    }
}
CF
target/release/lvsd -n --nanny target/release/nanny -c "$dir/lvs.cf" \
    --socket "$dir/lvsd.sock" --state-file "$dir/lvsd.state" > "$dir/lvsd.log" 2>&1 & pids+=($!)
proxy_pid[uplane]=$!
for _ in $(seq 100); do
    grep -q 'the table is complete' "$dir/lvsd.log" && break
    sleep 0.1
done
if [ "$(grep -c 'making 127.0.0.1:1800[12] available' "$dir/lvsd.log")" -lt 2 ]; then
    echo "lvsd did not put both backends in rotation within 10 s:" >&2
    cat "$dir/lvsd.log" >&2
    exit 1
fi
sleep 1

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tck=$(getconf CLK_TCK)
# wrk prints latencies as 812.00us, 2.29ms or 1.10s: in milliseconds.
to_ms() { awk '{ v = $1; if (v ~ /us$/) printf "%.2f", v / 1000; else if (v ~ /ms$/) printf "%.2f", v + 0; else printf "%.2f", v * 1000 }' <<<"$1"; }

case $RESPONSE in
    keepalive) path=body; header=(); label="$BODY B, keep-alive" ;;
    close) path=body; header=(-H "Connection: close"); label="$BODY B, new connection per request" ;;
    1m) path=1m; header=(); label="1 MiB, keep-alive" ;;
    *) echo "RESPONSE must be keepalive, close or 1m" >&2; exit 2 ;;
esac
order=(haproxy-1 haproxy-2 uplane)
declare -A url=([haproxy-1]=http://127.0.0.1:18101/$path [haproxy-2]=http://127.0.0.1:18102/$path
    [uplane]=http://127.0.0.81:18201/$path)
declare -A rps_all p99_all

echo "### userspace data plane vs HAProxy (TCP mode, nbthread 1 and 2), two nginx backends"
echo
echo "$label; wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s per proxy and round; $ROUNDS rounds."
echo
echo "| round | proxy | requests/s | p50 ms | p90 ms | p99 ms | max ms | proxy CPU s per 100k requests | errors |"
echo "|---|---|---|---|---|---|---|---|---|"
# Warm-up: a short uncounted run through each proxy (first connections, page cache, threads).
for proxy in "${order[@]}"; do
    wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "${header[@]}" "${url[$proxy]}" >/dev/null
done
fail=0
for round in $(seq "$ROUNDS"); do
    declare -A p99_round=()
    # Each round starts with the next proxy, so that none is always the last to run.
    k=$(((round - 1) % ${#order[@]}))
    for proxy in "${order[@]:k}" "${order[@]:0:k}"; do
        pid=${proxy_pid[$proxy]}
        c0=$(cpu_ticks "$pid")
        out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "${header[@]}" "${url[$proxy]}")
        c1=$(cpu_ticks "$pid")
        rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
        total=$(awk '/requests in/ {print $1}' <<<"$out")
        p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
        p90=$(to_ms "$(awk '$1 == "90%" {print $2}' <<<"$out")")
        p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
        max=$(to_ms "$(awk '$1 == "Latency" {print $4}' <<<"$out")")
        errors=$(awk '/Socket errors|Non-2xx/ {print}' <<<"$out" | tr '\n' ' ')
        cpu=$(awk -v d=$((c1 - c0)) -v t="$tck" -v n="$total" 'BEGIN { printf "%.2f", d / t / n * 100000 }')
        echo "| $round | $proxy | $rps | $p50 | $p90 | $p99 | $max | $cpu | ${errors:-none} |"
        rps_all[$proxy]+="$rps "
        p99_all[$proxy]+="$p99 "
        p99_round[$proxy]=$p99
        if [ -n "$errors" ] || [ "$total" = 0 ]; then
            echo "round $round: $proxy saw errors (lvsd's log: $LVSD_LOG)" >&2
            fail=1
        fi
    done
    for h in haproxy-1 haproxy-2; do
        if awk -v u="${p99_round[uplane]}" -v h="${p99_round[$h]}" 'BEGIN { exit !(u > h) }'; then
            echo "round $round: uplane p99 ${p99_round[uplane]} ms above $h's ${p99_round[$h]} ms" >&2
            fail=1
        fi
    done
done

median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
worst() { tr ' ' '\n' <<<"$1" | grep . | sort -g | tail -1; }
echo
echo "| proxy | median requests/s | median p99 ms | worst p99 ms |"
echo "|---|---|---|---|"
for proxy in "${order[@]}"; do
    echo "| $proxy | $(median "${rps_all[$proxy]}") | $(median "${p99_all[$proxy]}") | $(worst "${p99_all[$proxy]}") |"
done
echo
echo "Command: \`bash bench/uplane-vs-haproxy.sh\` (ROUNDS=$ROUNDS DURATION=$DURATION CONNECTIONS=$CONNECTIONS THREADS=$THREADS BODY=$BODY RESPONSE=$RESPONSE); $(nproc) CPUs; $(haproxy -v | head -1 | cut -d' ' -f1-3); lvsd runtime threads: $(ls /proc/"${proxy_pid[uplane]}"/task | wc -l) tasks."
[ "$CHECK" = 1 ] && exit $fail
exit 0
