#!/usr/bin/env bash
# Times a cold build and a no-op rebuild of fixtures/hello with tsbuild, and with BuildKit (docker build)
# and Buildah beside it when they are available, in the same run on the same machine.
#
# Usage: bench/build.sh [--runs N] [--start-dockerd]
#   --start-dockerd  start a private dockerd (--iptables=false --bridge=none) for the BuildKit column
# Each tool builds FROM a busybox base imported from the same rootfs tar; base import is not timed.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
runs=5
start_dockerd=no
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --start-dockerd) start_dockerd=yes; shift ;;
    *) echo "usage: bench/build.sh [--runs N] [--start-dockerd]" >&2; exit 2 ;;
  esac
done
bash scripts/setup.sh >/dev/null
work=$(mktemp -d /tmp/tsb-bench-XXXXXX)
dockerd_pid=
cleanup() {
  [ -n "$dockerd_pid" ] && kill "$dockerd_pid" 2>/dev/null && wait "$dockerd_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
bash scripts/make-busybox-rootfs.sh "$work/busybox.tar"
ctx=fixtures/hello

# Let the disk settle before a timed cold run: a big deletion just before slows file creation for a while.
settle() { sync; sleep "${SETTLE_SECONDS:-3}"; }

results=()
report() { results+=("$(printf '%-22s %10s ms %12s ms' "$1" "$2" "$3")"); }

# tsbuild: every cold run gets a fresh store with the base image imported (untimed).
cold=(); warm=()
for i in $(seq "$runs"); do
  root="$work/tsb-$i"
  bin/tsbuild --root "$root" import "$work/busybox.tar" busybox:latest >/dev/null
  settle
  cold+=("$(time_ms bin/tsbuild --root "$root" build -t hello:bench "$ctx")")
  warm+=("$(time_ms bin/tsbuild --root "$root" build -t hello:bench "$ctx")")
done
rm -rf "$work"/tsb-*
tsb_cold=$(printf '%s\n' "${cold[@]}" | median)
tsb_warm=$(printf '%s\n' "${warm[@]}" | median)
report tsbuild "$tsb_cold" "$tsb_warm"

# BuildKit through docker build. Debian's docker.io CLI (/usr/bin/docker) carries BuildKit's client;
# a newer CLI without the buildx plugin refuses DOCKER_BUILDKIT=1, so prefer Debian's.
docker=${DOCKER:-$( [ -x /usr/bin/docker ] && echo /usr/bin/docker || echo docker )}
docker() { "$docker" "$@"; }
if [ "$start_dockerd" = yes ] && ! docker info >/dev/null 2>&1; then
  command -v dockerd >/dev/null || { echo "bench: dockerd not installed (apt-get install docker.io)" >&2; exit 1; }
  dockerd --iptables=false --bridge=none >"$work/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
fi
if docker info >/dev/null 2>&1; then
  docker import "$work/busybox.tar" busybox:latest >/dev/null
  cold=(); warm=()
  for i in $(seq "$runs"); do
    docker builder prune -af >/dev/null 2>&1
    docker rmi -f hello:bench >/dev/null 2>&1 || true
    settle
    cold+=("$(time_ms env DOCKER_BUILDKIT=1 "$docker" build --network=none -t hello:bench "$ctx")")
    warm+=("$(time_ms env DOCKER_BUILDKIT=1 "$docker" build --network=none -t hello:bench "$ctx")")
  done
  bk_cold=$(printf '%s\n' "${cold[@]}" | median)
  bk_warm=$(printf '%s\n' "${warm[@]}" | median)
  report "BuildKit (docker)" "$bk_cold" "$bk_warm"
else
  bk_cold=
  echo "bench: no docker daemon; pass --start-dockerd for the BuildKit column" >&2
fi

# Buildah, with its layer cache (--layers), OCI isolation through runc.
if command -v buildah >/dev/null 2>&1; then
  store="$work/buildah"
  B=(buildah --root "$store/root" --runroot "$store/run")
  podman --root "$store/root" --runroot "$store/run" import "$work/busybox.tar" busybox:latest >/dev/null
  cold=(); warm=()
  for i in $(seq "$runs"); do
    "${B[@]}" rmi -f hello:bench >/dev/null 2>&1 || true
    "${B[@]}" rmi --prune >/dev/null 2>&1 || true
    settle
    cold+=("$(time_ms "${B[@]}" bud --layers --pull=never --runtime runc --network none --ulimit nofile=1024:1024 -t hello:bench "$ctx")")
    warm+=("$(time_ms "${B[@]}" bud --layers --pull=never --runtime runc --network none --ulimit nofile=1024:1024 -t hello:bench "$ctx")")
  done
  bh_cold=$(printf '%s\n' "${cold[@]}" | median)
  bh_warm=$(printf '%s\n' "${warm[@]}" | median)
  report "Buildah" "$bh_cold" "$bh_warm"
else
  bh_cold=
fi

echo
echo "fixtures/hello, median of $runs runs ($(nproc) cores, $(date -u +%F))"
printf '%-22s %13s %15s\n' tool "cold build" "no-op rebuild"
printf '%s\n' "${results[@]}"
if [ -n "$bk_cold" ]; then
  echo "BuildKit / tsbuild: cold $(ratio "$bk_cold" "$tsb_cold"), no-op $(ratio "$bk_warm" "$tsb_warm")"
fi
if [ -n "$bh_cold" ]; then
  echo "Buildah / tsbuild:  cold $(ratio "$bh_cold" "$tsb_cold"), no-op $(ratio "$bh_warm" "$tsb_warm")"
fi
