#!/usr/bin/env bash
# Times `tsbuild run --rm IMAGE true` beside `podman run --rm` of the same image, in the same run, and prints
# the medians and their ratio. Usage: bench/run.sh [--runs N]. Needs root, runc, podman (skipped when absent).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=15
[ "${1:-}" = --runs ] && runs=$2
[ -f dist/bundle/tsbuild-containers.cjs ] || { npx tsc -p . && node scripts/bundle.mjs; }  # the bundle run starts from
root=$(mktemp -d /tmp/tsb-bench-XXXXXX)
tar=$root.busybox.tar
trap 'rm -rf "$root" "$tar"; podman rmi -f tsb-bench-busybox >/dev/null 2>&1 || true' EXIT
bash scripts/make-busybox-rootfs.sh "$tar" >/dev/null
bin/tsbuild --root "$root" import "$tar" busybox:latest >/dev/null

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
time_ms() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }

bin/tsbuild --root "$root" run --rm busybox true   # warm-up (page cache, runc binary)
tsb=(bin/tsbuild --root "$root" run --rm busybox true)
if command -v podman >/dev/null; then
  podman import "$tar" tsb-bench-busybox >/dev/null
  p=(podman run --rm --runtime runc --network host --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 tsb-bench-busybox true)
  "${p[@]}"
  # Interleaved, so that a busy machine slows both alike.
  : >"$root.ts"; : >"$root.pm"
  for _ in $(seq "$runs"); do time_ms "${tsb[@]}" >>"$root.ts"; time_ms "${p[@]}" >>"$root.pm"; done
  ts=$(median <"$root.ts"); pm=$(median <"$root.pm"); rm -f "$root.ts" "$root.pm"
  echo "tsbuild run --rm busybox true: median ${ts} ms over $runs runs"
  echo "podman run --rm (runc) true:    median ${pm} ms over $runs runs"
  awk -v a="$ts" -v b="$pm" 'BEGIN { printf "ratio tsbuild/podman: %.2f (target <= 0.5; target tsbuild <= 150 ms)\n", a / b }'
else
  ts=$(for _ in $(seq "$runs"); do time_ms "${tsb[@]}"; done | median)
  echo "tsbuild run --rm busybox true: median ${ts} ms over $runs runs"
  echo "podman not installed: no comparison"
fi
