#!/usr/bin/env bash
# Run deploy/compose.yaml's layout here without Docker: 2 replicas of the app on free local
# ports and Debian's nginx in front with deploy/nginx.conf (only its "try-replicas:" lines
# rewritten) on 127.0.0.1:PORT. Prints `ready http://127.0.0.1:PORT` on stdout once all three
# answer, stays in the foreground, and on SIGTERM/SIGINT stops what it started and removes its
# temp dir. Progress and PIDs go to stderr; logs are in the temp dir it names.
#
#   bash deploy/try-replicas.sh 8080
set -euo pipefail

REPLICAS=2
START_TIMEOUT_S=90

usage() { echo "usage: $0 PORT" >&2; exit 2; }
[ "$#" -eq 1 ] || usage
PORT=$1
case "$PORT" in '' | *[!0-9]*) usage ;; esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONF_TEMPLATE="$ROOT/deploy/nginx.conf"

if ! command -v nginx >/dev/null 2>&1; then
    echo "try-replicas: nginx is not on PATH; install Debian's (apt-get install -y nginx)," \
        "which lands in /usr/sbin: add that to PATH if you are not root" >&2
    exit 1
fi
# The venv's python when one is active, so `python -m streamlit` is the project's streamlit.
if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
    PY="$VIRTUAL_ENV/bin/python"
else
    PY="$(command -v python3 || command -v python)"
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/fitlab-replicas.XXXXXX")"
# nginx's workers may run as another user (nobody) when started as root: they must reach the
# temp dirs nginx creates under the prefix.
chmod 711 "$TMP"
PIDS=()

# shellcheck disable=SC2329  # called by the EXIT trap below
cleanup() {
    trap - EXIT INT TERM
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Wait until URL answers "ok" (Streamlit's /_stcore/health), or fail naming the log to read.
wait_ok() {
    local url=$1 log=$2 pid=${3:-0}
    "$PY" - "$url" "$START_TIMEOUT_S" "$pid" <<'PYEOF' || { echo "try-replicas: $url did not answer ok; see $log" >&2; tail -n 20 "$log" >&2; exit 1; }
import sys, time, urllib.request
url, deadline, pid = sys.argv[1], time.monotonic() + float(sys.argv[2]), int(sys.argv[3])
while time.monotonic() < deadline:
    try:  # a replica that exited (a zombie until the script waits for it) will not answer
        gone = pid and open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        gone = True
    if gone:
        sys.exit(1)
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            if r.read().strip() == b"ok":
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit(1)
PYEOF
}

echo "try-replicas: temp dir $TMP" >&2
SERVERS=""
REPLICA_PORTS=()
for i in $(seq 1 "$REPLICAS"); do
    port="$(free_port)"
    REPLICA_PORTS+=("$port")
    # cwd = repo root, so .streamlit/config.toml applies as in the container.
    (cd "$ROOT" && exec env PYTHONUNBUFFERED=1 "$PY" -m streamlit run streamlit_app.py \
        --server.headless true --server.address 127.0.0.1 --server.port "$port" \
        --browser.gatherUsageStats false) >"$TMP/replica-$i.log" 2>&1 </dev/null &
    PIDS+=("$!")
    echo "try-replicas: replica $i pid $! on 127.0.0.1:$port" >&2
    SERVERS="$SERVERS        server 127.0.0.1:$port;\n"
done

# The compose config with its marked lines rewritten; check each marker was there.
for marker in "access log" "upstream servers" "listen address"; do
    grep -q "# try-replicas: $marker\$" "$CONF_TEMPLATE" || {
        echo "try-replicas: $CONF_TEMPLATE lost its '# try-replicas: $marker' line" >&2
        exit 1
    }
done
awk -v servers="$SERVERS" -v port="$PORT" -v tmp="$TMP" '
    /# try-replicas: access log$/ { print "    access_log " tmp "/access.log fitlab;"; next }
    /# try-replicas: upstream servers$/ { printf "%s", servers; next }
    /# try-replicas: listen address$/ { print "        listen 127.0.0.1:" port ";"; next }
    { print }
' "$CONF_TEMPLATE" >"$TMP/nginx.conf"

nginx -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/error.log" \
    -g "daemon off; pid $TMP/nginx.pid;" >"$TMP/nginx.out" 2>&1 </dev/null &
PIDS+=("$!")
echo "try-replicas: nginx pid $! on 127.0.0.1:$PORT" >&2

for i in $(seq 1 "$REPLICAS"); do
    wait_ok "http://127.0.0.1:${REPLICA_PORTS[$((i - 1))]}/_stcore/health" "$TMP/replica-$i.log" \
        "${PIDS[$((i - 1))]}"
done
wait_ok "http://127.0.0.1:$PORT/_stcore/health" "$TMP/error.log"
echo "ready http://127.0.0.1:$PORT"

# Stay up until a signal, or until one of the processes dies (then stop the others).
set +e
wait -n "${PIDS[@]}"
rc=$?
echo "try-replicas: a process exited (code $rc); stopping the rest" >&2
exit 1
