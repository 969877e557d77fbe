#!/usr/bin/env bash
# Builds and tests the web portal (web/). Called by the Makefile; usable by hand.
#
#   scripts/web.sh build   npm ci (when node_modules is missing or older than package-lock.json),
#                          then type-check and build into web/dist (with .gz siblings)
#   scripts/web.sh test    Vitest component tests, then the end-to-end tests (tests/e2e/*.e2e.mjs)
#                          against a real `medsoc serve` (MEDSOC_BIN, default build/debug/medsoc)
#                          in Debian's chromium; ends with "N passed, M failed"
#   scripts/web.sh unit    Vitest only
#   scripts/web.sh e2e     end-to-end tests only (builds the portal first if needed)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
web="$root/web"
cmd=${1:-build}

say() { printf 'web: %s\n' "$*"; }
die() { printf 'web: error: %s\n' "$*" >&2; exit 1; }

need_node() {
  command -v node >/dev/null || die "node is not installed (Debian: apt-get install nodejs npm; node >= 20.19)"
  command -v npm >/dev/null || die "npm is not installed (Debian: apt-get install npm)"
  local major minor
  IFS=. read -r major minor _ <<<"$(node --version | tr -d v)"
  if (( major < 20 || (major == 20 && minor < 19) )); then
    die "node $(node --version) is too old; the portal's build tools need node >= 20.19"
  fi
}

deps() {
  need_node
  local stamp="$web/node_modules/.package-lock.json"
  if [[ ! -d "$web/node_modules" || ! -f "$stamp" || "$web/package-lock.json" -nt "$stamp" ]]; then
    say "installing dependencies (npm ci)"
    # npm ci when the lock file is complete. With this machine's npm setting
    # omit-lockfile-registry-resolved, npm 11 writes no entries for other platforms' optional
    # packages (rollup's native builds), and npm ci then refuses the lock; npm install installs
    # the same locked versions.
    if ! (cd "$web" && npm ci --no-audit --no-fund --loglevel=error 2>/dev/null); then
      say "npm ci refused the lock file; installing the locked versions with npm install"
      (cd "$web" && npm install --no-audit --no-fund --loglevel=error)
    fi
  fi
}

build() {
  deps
  say "building the portal into web/dist"
  (cd "$web" && npm run --silent build)
  say "built: $(find "$web/dist" -type f ! -name '*.gz' | wc -l) files in web/dist"
}

unit() {
  deps
  say "component tests (Vitest)"
  (cd "$web" && npx --no-install vitest run)
}

e2e() {
  deps
  [[ -f "$web/dist/index.html" ]] || build
  local chromium=${CHROMIUM:-/usr/bin/chromium}
  [[ -x "$chromium" ]] || die "chromium is not installed at $chromium (Debian: apt-get install chromium)"
  export MEDSOC_BIN=${MEDSOC_BIN:-$root/build/debug/medsoc}
  [[ -x "$MEDSOC_BIN" ]] || die "no server binary at $MEDSOC_BIN (build it, or set MEDSOC_BIN)"
  local passed=0 failed=0 f line
  for f in "$root"/tests/e2e/*.e2e.mjs; do
    say "end-to-end: $(basename "$f")"
    local log
    log=$(mktemp)
    if node "$f" | tee "$log"; then :; fi
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -1 || true)
    rm -f "$log"
    if [[ -z "$line" ]]; then
      failed=$((failed + 1))
    else
      passed=$((passed + $(cut -d' ' -f1 <<<"$line")))
      failed=$((failed + $(cut -d' ' -f3 <<<"$line")))
    fi
  done
  echo "$passed passed, $failed failed"
  (( failed == 0 ))
}

case "$cmd" in
  build) build ;;
  unit) unit ;;
  e2e) e2e ;;
  test)
    rc=0
    unit || rc=1
    e2e || rc=1
    exit $rc
    ;;
  *) die "usage: scripts/web.sh build|test|unit|e2e" ;;
esac
