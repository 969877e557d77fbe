#!/usr/bin/env bash
# Runs every libFuzzer target of a debug build for longer than the short ctest run.
# Usage: scripts/fuzz.sh BUILD_DIR [SECONDS_PER_TARGET]
# New inputs that increase coverage are kept in BUILD_DIR/tests/fuzz/corpus-NAME/; crashes are
# written to the current directory as crash-* (reproduce with: BUILD_DIR/tests/fuzz/NAME crash-...).
set -euo pipefail
build=${1:-build/debug}
seconds=${2:-300}
src=$(cd "$(dirname "$0")/.." && pwd)
status=0
for bin in "$build"/tests/fuzz/*_fuzz; do
  [[ -x "$bin" ]] || continue
  name=$(basename "$bin")
  work="$build/tests/fuzz/corpus-$name"
  mkdir -p "$work"
  echo "== $name for ${seconds}s"
  "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    "$work" "$src/tests/fuzz/corpus/$name" || status=1
done
exit $status
