#!/usr/bin/env bash
# Installs what medsoc needs to build, test and run, from Debian 12 packages only.
# Idempotent and non-interactive: installs only the packages that are absent, and does nothing
# (not even `apt-get update`) when everything is present. Needs root or sudo for installing.
#
# Usage: scripts/install-deps.sh [--check]   (--check: list what is missing, exit 1 if anything is)
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config ccache clang libclang-rt-14-dev
  # core libraries
  libboost1.81-dev libssl-dev libsqlite3-dev libyaml-cpp-dev nlohmann-json3-dev
  libsodium-dev libcli11-dev libspdlog-dev libfmt-dev libzstd-dev zstd
  # ingest and detection: JSON on the hot path, compressed files, multi-pattern matching
  libsimdjson-dev zlib1g-dev libhyperscan-dev libre2-dev
  # notifications (SMTP, webhooks)
  libcurl4-openssl-dev
  # assets: MAC vendor data (OUI), spreadsheets (XLSX) for the asset ledger
  ieee-data libxlsxwriter-dev libminizip-dev libexpat1-dev
  # web portal: end-to-end tests in Debian's chromium, CJK fonts for screenshots and PDF reports
  chromium fonts-noto-cjk
  # asset-identification tests start real servers on loopback and in network namespaces
  nginx-light openssh-server redis-server vsftpd postgresql iproute2 bc
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev curl openssl sqlite3 python3
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

# Node.js for building the portal: any node already on PATH is used (the portal needs >= 20.19,
# checked by scripts/web.sh); only when there is none are Debian's nodejs and npm installed.
if ! command -v node >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ "${1:-}" == "--check" ]]; then
  printf 'missing: %s\n' "${missing[*]}"
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install packages" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
