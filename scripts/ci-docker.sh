#!/usr/bin/env bash
# Best effort: make a Docker engine (with BuildKit) available for the tests that
# build images. Never fails: without an engine those tests skip with a message.
# On machines without a network bridge the engine runs with
# {"bridge":"none","iptables":false} and builds use --network host.
set -u
engine_ok() {
  for d in docker /usr/bin/docker; do
    command -v "$d" >/dev/null 2>&1 && "$d" info >/dev/null 2>&1 && return 0
  done
  return 1
}
if engine_ok; then echo "ci-docker: engine available"; exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ci-docker: no engine and cannot install one; engine tests will skip"; exit 0
fi
find_dockerd() {
  command -v dockerd 2>/dev/null && return 0
  for d in /usr/bin/dockerd /usr/sbin/dockerd; do [ -x "$d" ] && { echo "$d"; return 0; }; done
  return 1
}
if ! find_dockerd >/dev/null || ! [ -x /bin/busybox ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io busybox-static >/tmp/ci-docker-apt.log 2>&1 \
    || { echo "ci-docker: apt-get install failed; engine tests will skip"; exit 0; }
fi
mkdir -p /etc/docker
[ -f /etc/docker/daemon.json ] || echo '{"bridge":"none","iptables":false}' > /etc/docker/daemon.json
if ! pgrep -x dockerd >/dev/null 2>&1; then
  dockerd_bin=$(find_dockerd) || { echo "ci-docker: no dockerd after install; engine tests will skip"; exit 0; }
  nohup "$dockerd_bin" >/tmp/ci-dockerd.log 2>&1 &
fi
for _ in $(seq 1 30); do
  engine_ok && { echo "ci-docker: engine started"; exit 0; }
  sleep 1
done
echo "ci-docker: engine did not start; engine tests will skip"
exit 0
