#!/usr/bin/env bash
# End-to-end syslog benchmark: the same N RFC 3164 messages over one loopback TCP connection to
#   (a) rsyslog writing them to a plain file (imtcp -> omfile), and
#   (b) medsoc serve with a TCP listener: framed, parsed (rfc3164), normalized, stored durably in
#       the SQLite event store with its indexes and FTS.
# Reports messages per second for both (from the first byte sent until the last message is in the
# file / committed in the store: a block of events is indexed in the transaction that stores it)
# and the ratio medsoc/rsyslog, and medsoc's peak RSS (the
# sender is faster than the store, so this is also the overload case: TCP backpressure bounds it).
#
# Usage: bench/syslog_e2e.sh [BUILD_DIR] [N]     (defaults: build/release, 1000000)
# Build medsoc in Release first: cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release
# rsyslog is installed with apt-get when missing (needs root); the sender is loggen (syslog-ng)
# when installed, else the Python generator below (it pre-builds the stream and sendall()s it).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build/release}
N=${2:-1000000}
MEDSOC=$BUILD/medsoc
[ -x "$MEDSOC" ] || { echo "no medsoc binary at $MEDSOC (build it first)"; exit 2; }

if ! command -v rsyslogd >/dev/null 2>&1; then
  echo "rsyslog not installed: installing Debian's rsyslog"
  if ! (apt-get install -y rsyslog >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get install -y rsyslog >/dev/null)); then
    echo "rsyslog is unavailable (apt-get failed); only medsoc will be measured"
  fi
fi

WORK=$(mktemp -d /tmp/medsoc-e2e.XXXXXX)
cleanup() {
  [ -n "${RS_PID:-}" ] && kill "$RS_PID" 2>/dev/null || true
  [ -n "${MS_PID:-}" ] && kill "$MS_PID" 2>/dev/null && wait "$MS_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The generator: N messages on one connection, as fast as the receiver takes them.
cat > "$WORK/gen.py" <<'PY'
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
hosts = ["fw01", "core-sw", "his-db", "pacs01", "vpn-gw"]
parts = []
for i in range(n):
    parts.append("<%d>Mar %2d 10:%02d:%02d %s sshd[%d]: Failed password for user%d from 10.1.%d.%d port %d ssh2 seq=%d\n" % (
        8 + i % 100, 1 + i % 28, i % 60, (i // 60) % 60, hosts[i % 5], 1000 + i % 5000, i % 97, i % 250, i % 200,
        1024 + i % 60000, i))
data = "".join(parts).encode()
s = socket.create_connection(("127.0.0.1", port))
t0 = time.time()
s.sendall(data)
s.close()
print("%.6f" % t0)
PY

send() {  # send PORT -> prints the start time
  if command -v loggen >/dev/null 2>&1; then
    date +%s.%N
    loggen --inet --stream --rate 100000000 --number "$N" --size 120 127.0.0.1 "$1" >/dev/null 2>&1
  else
    python3 "$WORK/gen.py" "$1" "$N"
  fi
}

RS_RATE=""
if command -v rsyslogd >/dev/null 2>&1; then
  RS_PORT=$(free_port)
  mkdir -p "$WORK/rs"
  cat > "$WORK/rsyslog.conf" <<EOF2
global(workDirectory="$WORK/rs")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="$RS_PORT" ruleset="bench")
ruleset(name="bench") { action(type="omfile" file="$WORK/rs/out.log" asyncWriting="on" ioBufferSize="256k") }
EOF2
  rsyslogd -n -f "$WORK/rsyslog.conf" -i "$WORK/rs/pid" &
  RS_PID=$!
  for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$RS_PORT) 2>/dev/null && break; sleep 0.1; done
  T0=$(send "$RS_PORT")
  while [ "$(wc -l < "$WORK/rs/out.log" 2>/dev/null || echo 0)" -lt "$N" ]; do sleep 0.05; done
  T1=$(date +%s.%N)
  RS_RATE=$(python3 -c "print(round($N/($T1-$T0)))")
  kill "$RS_PID"; wait "$RS_PID" 2>/dev/null || true; RS_PID=""
  echo "rsyslog (imtcp -> omfile):            $RS_RATE msg/s"
fi

MS_PORT=$(free_port)
cat > "$WORK/medsoc.yaml" <<EOF2
log:
  level: warn
ingest:
  batch_events: 4096
  listeners:
    - name: bench
      protocol: tcp
      listen: 127.0.0.1:$MS_PORT
      format: rfc3164
EOF2
MEDSOC_SOURCE_DIR=$ROOT "$MEDSOC" serve --config "$WORK/medsoc.yaml" --data "$WORK/data" --listen 127.0.0.1:0 > "$WORK/serve.log" 2>&1 &
MS_PID=$!
for _ in $(seq 200); do (echo >/dev/tcp/127.0.0.1/$MS_PORT) 2>/dev/null && break; sleep 0.1; done
sleep 0.5
T0=$(send "$MS_PORT")
count_stored() {  # events committed in the partitions (a block is indexed when it is written)
  python3 - "$WORK/data/events" <<'PY'
import glob, sqlite3, sys
stored = 0
for db in glob.glob(sys.argv[1] + "/*.db"):
    try:
        c = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
        stored += c.execute("select coalesce(sum(count), 0) from blocks").fetchone()[0]
        c.close()
    except sqlite3.Error:
        pass
print(stored)
PY
}
while true; do
  STORED=$(count_stored)
  [ "$STORED" -ge "$N" ] && break
  sleep 0.1
done
T1=$(date +%s.%N)
MS_RATE=$(python3 -c "print(round($N/($T1-$T0)))")
RSS=$(grep VmHWM /proc/$MS_PID/status | awk '{print $2}')
echo "medsoc (tcp -> parse -> SQLite store, durable and indexed): $MS_RATE msg/s   (peak RSS ${RSS} kB)"
if [ -n "$RS_RATE" ]; then
  python3 -c "print('ratio medsoc/rsyslog: %.2f' % ($MS_RATE/$RS_RATE))"
fi
