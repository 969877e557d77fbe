#!/bin/sh
# Compares `medsoc scan` with `nmap -n -sV` (Debian's nmap, used only as a peer here) on a
# network of namespaces this script builds: HOSTS hosts on a private bridge, each running a mix
# of real services (nginx, OpenSSH, Redis, vsftpd when installed) plus DICOM and HL7 responders
# (tests/integration/test_assets_scan.py serve ...). Reports the wall-time ratio and, where both
# identify a service, the agreement on service names and versions; DICOM and HL7 show what nmap
# cannot identify. Needs root. Usage:
#   bench/scan_vs_nmap.sh BUILD_DIR [HOSTS=10] [PORTS=1-10000]   (MEDSOC_SCAN_ARGS: extra scan flags)
# MEDICAL=0 replaces the DICOM and HL7 responders by SSH and Redis: nmap -sV spends most of its
# time on those two (its probes get no answer it knows and it waits out every probe's timeout), so
# this isolates the comparison on services both scanners know.
set -eu
BUILD=${1:?usage: scan_vs_nmap.sh BUILD_DIR [HOSTS] [PORTS]}
HOSTS=${2:-10}
PORTS=${3:-1-10000}
SRC=$(cd "$(dirname "$0")/.." && pwd)
MEDSOC="$BUILD/medsoc"
TAG=$$
NET=10.251.$((TAG % 250))
BR=msbb$((TAG % 10000))
WORK=$(mktemp -d)
PIDS=""

cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null || true; done
  i=0
  while [ $i -lt "$HOSTS" ]; do ip netns del "msbn$TAG-$i" 2>/dev/null || true; i=$((i + 1)); done
  ip link del "$BR" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

[ "$(id -u)" = 0 ] || { echo "scan_vs_nmap: needs root (ip netns)"; exit 1; }
ip link add "$BR" type bridge
ip addr add "$NET.1/24" dev "$BR"
ip link set "$BR" up

start() {  # NS CMD...: start a service inside a namespace
  ns=$1; shift
  ip netns exec "$ns" "$@" >/dev/null 2>&1 &
  PIDS="$PIDS $!"
}

i=0
while [ $i -lt "$HOSTS" ]; do
  ns="msbn$TAG-$i"; ip="$NET.$((10 + i))"
  ip netns add "$ns"
  ip link add "mb${TAG}h$i" type veth peer name "mb${TAG}p$i"
  ip link set "mb${TAG}p$i" netns "$ns"
  ip link set "mb${TAG}h$i" master "$BR"; ip link set "mb${TAG}h$i" up
  ip netns exec "$ns" ip addr add "$ip/24" dev "mb${TAG}p$i"
  ip netns exec "$ns" ip link set "mb${TAG}p$i" up
  ip netns exec "$ns" ip link set lo up
  # A mix per host: every host has a web server; others rotate.
  mkdir -p "$WORK/$i"
  if command -v nginx >/dev/null; then
    cat > "$WORK/$i/nginx.conf" <<NGX
daemon off; pid $WORK/$i/nginx.pid; error_log $WORK/$i/error.log; worker_processes 1;
events { worker_connections 64; }
http { access_log off; client_body_temp_path $WORK/$i; proxy_temp_path $WORK/$i; fastcgi_temp_path $WORK/$i;
  uwsgi_temp_path $WORK/$i; scgi_temp_path $WORK/$i; server { listen $ip:80; return 200 "ok"; } }
NGX
    start "$ns" nginx -c "$WORK/$i/nginx.conf" -p "$WORK/$i"
  fi
  kind=$((i % 4))
  [ "${MEDICAL:-1}" = 0 ] && [ $kind -ge 2 ] && kind=$((kind - 2))
  case $kind in
    0) [ -x /usr/sbin/sshd ] && { ssh-keygen -q -t ed25519 -N "" -f "$WORK/$i/hk"; mkdir -p /run/sshd;
         start "$ns" /usr/sbin/sshd -D -f /dev/null -o "ListenAddress=$ip:22" -o "HostKey=$WORK/$i/hk"; } ;;
    1) command -v redis-server >/dev/null && start "$ns" redis-server --port 6379 --bind "$ip" --save "" ;;
    2) start "$ns" python3 "$SRC/tests/integration/test_assets_scan.py" serve dicom "$ip" 104 ;;
    3) start "$ns" python3 "$SRC/tests/integration/test_assets_scan.py" serve hl7 "$ip" 2575 ;;
  esac
  i=$((i + 1))
done
sleep 2
TARGETS="$NET.10-$((10 + HOSTS - 1))"

t0=$(date +%s.%N)
"$MEDSOC" scan --targets "$TARGETS" --ports "$PORTS" --format json -n --rate 0 ${MEDSOC_SCAN_ARGS:-} > "$WORK/medsoc.json"
t1=$(date +%s.%N)
MEDSOC_S=$(echo "$t1 - $t0" | bc)
echo "medsoc scan: $MEDSOC_S s ($HOSTS hosts x ports $PORTS)"

if ! command -v nmap >/dev/null; then
  echo "nmap is not installed: no comparison (apt-get install nmap to compare)"
  python3 - "$WORK/medsoc.json" <<'PY'
import json, sys
hosts = json.load(open(sys.argv[1]))
svcs = [s for h in hosts for s in h["services"]]
print(f"  {len(hosts)} hosts up, {len(svcs)} services, {sum(1 for s in svcs if s['product'])} with a product")
for name in ("dicom", "hl7-mllp"):
    print(f"  {name}: {sum(1 for s in svcs if s['service'] == name)} identified")
PY
  exit 0
fi

t0=$(date +%s.%N)
nmap -n -sV -Pn -p "$PORTS" -oX "$WORK/nmap.xml" "$(echo "$TARGETS" | sed 's/-\([0-9]*\)$/-\1/')" >/dev/null
t1=$(date +%s.%N)
NMAP_S=$(echo "$t1 - $t0" | bc)
echo "nmap -n -sV: $NMAP_S s"
echo "ratio (nmap / medsoc): $(echo "scale=1; $NMAP_S / $MEDSOC_S" | bc)x"

python3 - "$WORK/medsoc.json" "$WORK/nmap.xml" <<'PY'
import json, sys, xml.etree.ElementTree as ET
ours = {(h["ip"], s["port"]): s for h in json.load(open(sys.argv[1])) for s in h["services"]}
theirs = {}
for host in ET.parse(sys.argv[2]).getroot().iter("host"):
    ip = host.find("address").get("addr")
    for p in host.iter("port"):
        if p.find("state").get("state") != "open":
            continue
        s = p.find("service")
        theirs[(ip, int(p.get("portid")))] = {} if s is None else s.attrib
alias = {"https": "http", "ssl/http": "http", "http-proxy": "http", "ms-wbt-server": "rdp", "microsoft-ds": "smb"}
def norm(name): return alias.get(name, name)
both = [k for k in ours if k in theirs and theirs[k].get("method") == "probed" and ours[k]["service"] not in ("unknown", "")]
agree_name = sum(1 for k in both if norm(ours[k]["service"]) == norm(theirs[k].get("name", "")))
ver = [k for k in both if ours[k]["version"] and theirs[k].get("version")]
agree_ver = sum(1 for k in ver if theirs[k]["version"].startswith(ours[k]["version"]) or ours[k]["version"].startswith(theirs[k]["version"].split()[0]))
print(f"ports open: medsoc {len(ours)}, nmap {len(theirs)}, both identified {len(both)}")
if both:
    print(f"service name agreement: {agree_name}/{len(both)} = {100.0 * agree_name / len(both):.1f}%")
if ver:
    print(f"version agreement: {agree_ver}/{len(ver)} = {100.0 * agree_ver / len(ver):.1f}%")
for name in ("dicom", "hl7-mllp"):
    ks = [k for k in ours if ours[k]["service"] == name]
    print(f"{name}: medsoc identified {len(ks)}; nmap said: {sorted(set(theirs.get(k, {}).get('name', '-') for k in ks))}")
PY
