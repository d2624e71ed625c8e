#!/usr/bin/env bash
# The full pipeline (parse, every pass with unsafe fixes, apply, reparse,
# second run) over every Dockerfile under the given directories, with the
# invariants checked on each; prints counts and files/s.
# Usage: scripts/corpus.sh DIR...   (exit 1 when an invariant breaks)
# CORPUS_PROFILE=dev uses the debug build (CI, where it is already built).
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: scripts/corpus.sh DIR..." >&2; exit 2; }
args=()
for d in "$@"; do args+=("$(realpath "$d")"); done
cd "$(dirname "$0")/.."
profile=(--release)
[ "${CORPUS_PROFILE:-release}" = dev ] && profile=()
exec cargo run -q "${profile[@]}" -- debug corpus "${args[@]}"
