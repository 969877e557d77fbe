#!/usr/bin/env bash
# Starts `medsoc serve` from the release build on the embedded SQLite store under ./var/.
# Uses ./medsoc.yaml when it exists. The first start prints a one-time administrator password.
# Usage: scripts/run.sh [HOST:PORT]
set -euo pipefail
cd "$(dirname "$0")/.."
args=(serve --data ./var)
[[ -f medsoc.yaml ]] && args+=(--config medsoc.yaml)
[[ -n "${1:-}" ]] && args+=(--listen "$1")
exec build/release/medsoc "${args[@]}"
