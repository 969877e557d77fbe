#!/usr/bin/env bash
# Runs every benchmark binary of a build tree and prints its results, machine description first.
# Usage: scripts/bench.sh BUILD_DIR [extra Google Benchmark flags...]
# Build first with: cmake -S . -B BUILD_DIR -G Ninja -DCMAKE_BUILD_TYPE=Release -DMEDSOC_TESTS=OFF \
#                     -DMEDSOC_BENCH=ON && ninja -C BUILD_DIR
# MEDSOC_BENCH_PORTAL=1 also runs bench/portal_perf.mjs against BUILD_DIR/medsoc (needs the built
# portal, web/dist, and chromium).
set -uo pipefail
if [[ $# -lt 1 ]]; then
  echo "usage: $0 BUILD_DIR [benchmark flags...]" >&2
  exit 2
fi
build=$1
shift
dir="$build/bench"
if [[ ! -d "$dir" ]]; then
  echo "$0: no $dir (configure with -DMEDSOC_BENCH=ON and build)" >&2
  exit 2
fi

cpu=$(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | sed 's/^model name[[:space:]]*:[[:space:]]*//')
echo "machine: $(nproc) CPUs, ${cpu:-unknown CPU}, $(uname -sr)"
if [[ -r "$build/CMakeCache.txt" ]]; then
  echo "build:   $(grep -m1 '^CMAKE_BUILD_TYPE:' "$build/CMakeCache.txt" | cut -d= -f2) ($(grep -m1 '^CMAKE_CXX_COMPILER:' "$build/CMakeCache.txt" | cut -d= -f2))"
fi
echo

rc=0
found=0
for bin in "$dir"/*_bench; do
  [[ -f "$bin" && -x "$bin" ]] || continue
  found=1
  echo "=== $(basename "$bin")"
  if ! "$bin" --benchmark_format=console "$@"; then
    echo "$0: $(basename "$bin") failed" >&2
    rc=1
  fi
  echo
done
if [[ $found -eq 0 ]]; then
  echo "$0: no *_bench binaries in $dir" >&2
  exit 2
fi
# The portal benchmark (a server, 10k assets, 100k alerts, chromium) takes minutes: opt-in.
if [[ "${MEDSOC_BENCH_PORTAL:-0}" == 1 ]]; then
  echo "=== portal_perf (bench/portal_perf.mjs)"
  if ! MEDSOC_BIN="$build/medsoc" node "$(dirname "$0")/../bench/portal_perf.mjs"; then
    echo "$0: portal_perf failed" >&2
    rc=1
  fi
fi
exit $rc
