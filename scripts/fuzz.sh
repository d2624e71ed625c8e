#!/usr/bin/env bash
# Fuzzes the parser and the whole pipeline for a bounded time each.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 60)
#
# Needs a nightly toolchain and cargo-fuzz (installed when missing). Starts
# from the committed seeds (fuzz/seeds: the fixtures' Dockerfiles) plus
# ../shared/conformance when present; new inputs go to a temporary corpus.
# A crash is copied to fuzz/regressions/ (tests/fuzz_regressions.rs runs
# every file there in the normal test suite) and the script fails.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: no nightly toolchain (rustup toolchain install nightly)" >&2; exit 2
fi
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
extra=()
[ -d ../shared/conformance ] && extra+=(../shared/conformance/cases ../shared/conformance/buildkit)
status=0
for t in parse pipeline; do
  mkdir -p "$work/$t"
  echo "fuzz: $t for ${secs}s"
  if ! (cd fuzz && cargo +nightly fuzz run "$t" "$work/$t" ../fuzz/seeds "${extra[@]/#/../}" -- \
      -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1); then
    status=1
  fi
  for c in fuzz/artifacts/"$t"/crash-* fuzz/artifacts/"$t"/timeout-* fuzz/artifacts/"$t"/oom-*; do
    [ -e "$c" ] || continue
    cp "$c" "fuzz/regressions/$t-$(basename "$c")"
    echo "fuzz: $t found $(basename "$c"), saved to fuzz/regressions/" >&2
    status=1
  done
done
exit $status
