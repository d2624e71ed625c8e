#!/usr/bin/env bash
# Prepares the base image the multi-stage end-to-end test builds on:
#
#   dockfix-test/python3:bookworm-offline
#
# a Debian bookworm with python3, python3-venv and python3-pip installed (pip
# may install system-wide, as in the official python images), and a local,
# file-based apt repository (/var/local/debs) holding gcc, libc6-dev,
# python3-dev and zlib1g-dev with every dependency they need. Its apt sources
# point only at that repository, so `apt-get update && apt-get install gcc …`
# works inside a build with no network at all: the test itself never leaves
# the machine.
#
# THIS SCRIPT NEEDS THE NETWORK, once: it runs `apt-get update` and downloads
# packages from Debian's archive (the build uses `--network host`). It builds
# on the local image `dockfix-test/debian:bookworm` (a debootstrap minbase)
# and never pulls an image from a registry.
#
# Usage: scripts/prepare-e2e-python-base.sh [TAG]
set -euo pipefail

TAG="${1:-dockfix-test/python3:bookworm-offline}"
BASE="${DOCKFIX_E2E_DEBIAN:-dockfix-test/debian:bookworm}"
DOCKER="${DOCKER:-/usr/bin/docker}"

if ! "$DOCKER" image inspect "$BASE" >/dev/null 2>&1; then
    echo "error: the local base image $BASE is missing" >&2
    exit 1
fi

dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT

cat >"$dir/Dockerfile" <<DOCKERFILE
FROM $BASE AS base
RUN apt-get update \\
 && apt-get install -y --no-install-recommends python3 python3-venv python3-pip \\
 && rm -rf /var/lib/apt/lists/*
ENV PIP_BREAK_SYSTEM_PACKAGES=1

# Download the build tools (and only what base lacks) without installing them.
FROM base AS download
RUN apt-get update \\
 && mkdir -p /debs/partial \\
 && apt-get install -y --download-only --no-install-recommends \\
      -o Dir::Cache::archives=/debs \\
      gcc libc6-dev python3-dev zlib1g-dev \\
 && rm -rf /debs/partial /debs/lock

# Index them as a flat repository.
FROM download AS index
RUN apt-get install -y --no-install-recommends dpkg-dev \\
 && cd /debs && dpkg-scanpackages --multiversion . > Packages

FROM base
COPY --from=index /debs /var/local/debs
RUN rm -f /etc/apt/sources.list.d/* \\
 && echo 'deb [trusted=yes] file:/var/local/debs ./' > /etc/apt/sources.list
DOCKERFILE

DOCKER_BUILDKIT=1 "$DOCKER" build --network host -t "$TAG" "$dir"
echo "prepared $TAG"
