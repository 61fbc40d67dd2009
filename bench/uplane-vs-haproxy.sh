#!/usr/bin/env bash
# The userspace data plane (lvsd --dataplane userspace) against HAProxy in TCP mode, in one
# run: same nginx backend, same wrk load, same machine. Prints a markdown table.
#
#   bash bench/uplane-vs-haproxy.sh            # DURATION=10 CONNECTIONS=50 THREADS=2
#
# Needs: nginx-light, haproxy, wrk (Debian packages; installed here when missing and apt-get
# works), and a release build of lvsd and nanny (built here).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-2}
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
    rm -rf "$dir"
}
trap cleanup EXIT

# Backend: nginx with a small page and a 1 MB file.
mkdir -p "$dir/www"
echo "hello from nginx" > "$dir/www/small"
head -c $((1024 * 1024)) /dev/urandom > "$dir/www/1m"
cat > "$dir/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/nginx.err;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp; fastcgi_temp_path $dir/tmp;
    uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
    keepalive_requests 1000000;
    server { listen 127.0.0.1:18001; root $dir/www; }
}
NGINX
mkdir -p "$dir/tmp"
# nginx's worker runs as www-data: let it read the pages.
chmod a+rx "$dir" "$dir/www" && chmod a+r "$dir/www/"*
nginx -c "$dir/nginx.conf" & pids+=($!)

# HAProxy: plain TCP forwarding, as an L4 balancer.
cat > "$dir/haproxy.cfg" <<HAP
global
    nbthread 2
    maxconn 4000
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend f
    bind 127.0.0.1:18101
    default_backend b
backend b
    server nginx 127.0.0.1:18001
HAP
haproxy -f "$dir/haproxy.cfg" -db & pids+=($!)
haproxy_pid=$!

# lvsd with the userspace data plane and one nanny.
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
    send = "GET /small HTTP/1.0\r\n\r\n"
    expect = "HTTP"
    server nginx {
        address = 127.0.0.1
        port = 18001
        active = 1
    }
}
CF
target/release/lvsd -n --nanny target/release/nanny -c "$dir/lvs.cf" \
    --socket "$dir/lvsd.sock" --state-file "$dir/lvsd.state" > "$dir/lvsd.log" 2>&1 & pids+=($!)
lvsd_pid=$!
for _ in $(seq 100); do
    grep -q 'making 127.0.0.1:18001 available' "$dir/lvsd.log" && break
    sleep 0.1
done
sleep 1

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tck=$(getconf CLK_TCK)

echo "### userspace data plane vs HAProxy (TCP mode), nginx backend, wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s"
echo
echo "| proxy | response | requests/s | p50 | p99 | proxy CPU s per 100k requests |"
echo "|---|---|---|---|---|---|"
for mode in small close 1m; do
    path=$([ "$mode" = 1m ] && echo 1m || echo small)
    header=()
    [ "$mode" = close ] && header=(-H "Connection: close")
    for proxy in haproxy uplane; do
        case $proxy in
            haproxy) url=http://127.0.0.1:18101/$path; pid=$haproxy_pid ;;
            uplane) url=http://127.0.0.81:18201/$path; pid=$lvsd_pid ;;
        esac
        c0=$(cpu_ticks "$pid")
        out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "${header[@]}" "$url")
        c1=$(cpu_ticks "$pid")
        rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
        total=$(awk '/requests in/ {print $1}' <<<"$out")
        p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
        p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
        errors=$(awk '/Socket errors|Non-2xx/ {print}' <<<"$out" | tr '\n' ' ')
        cpu=$(awk -v d=$((c1 - c0)) -v t="$tck" -v n="$total" 'BEGIN { printf "%.2f", d / t / n * 100000 }')
        case $mode in
            small) label="17 B, keep-alive" ;;
            close) label="17 B, new connection per request" ;;
            1m) label="1 MiB, keep-alive" ;;
        esac
        echo "| $proxy | $label | $rps | $p50 | $p99 | $cpu |${errors:+ $errors}"
    done
done
echo
echo "Command: \`bash bench/uplane-vs-haproxy.sh\` (DURATION=$DURATION CONNECTIONS=$CONNECTIONS THREADS=$THREADS); $(nproc) CPUs; $(haproxy -v | head -1)."
