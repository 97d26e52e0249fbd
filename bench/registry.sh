#!/usr/bin/env bash
# Registry benchmark: push of a ~200 MB image (4 layers of random data) to a local docker-registry, a re-push
# where every blob exists, and a pull into an empty store (without and with unpacking), each beside
# `skopeo copy` of the same image in the same run. Prints medians and ratios (tsbuild / skopeo).
# Usage: bench/registry.sh [--runs N] [--mb SIZE]   (root; needs docker-registry, skopeo, runc)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=3; MB=200
while [ $# -gt 0 ]; do case "$1" in --runs) RUNS=$2; shift 2 ;; --mb) MB=$2; shift 2 ;; *) echo "unknown $1" >&2; exit 2 ;; esac; done
for t in docker-registry skopeo; do command -v $t >/dev/null || { echo "bench: $t is not installed" >&2; exit 1; }; done
[ -f dist/bundle/tsbuild.cjs ] || node scripts/bundle.mjs
W=$(mktemp -d /tmp/tsb-bench-reg-XXXX); REG_PID=
cleanup() { [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null; wait 2>/dev/null || true; for m in $(awk '{print $5}' /proc/self/mountinfo | grep "^$W" | sort -r); do umount -l "$m" || true; done; rm -rf "$W"; }
trap cleanup EXIT
PORT=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
H=127.0.0.1:$PORT
start_registry() { # fresh storage each time, so no run can mount or skip what an earlier run pushed
  [ -n "$REG_PID" ] && { kill "$REG_PID"; wait "$REG_PID" 2>/dev/null || true; }
  rm -rf "$W/regdata"; mkdir -p "$W/regdata"
  printf 'version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n' "$W/regdata" "$H" > "$W/config.yml"
  docker-registry serve "$W/config.yml" 2>>"$W/registry.log" & REG_PID=$!
  for _ in $(seq 100); do curl -fs "http://$H/v2/" >/dev/null 2>&1 && return; sleep 0.05; done; echo "registry did not start" >&2; exit 1
}
# tsbuild runs as users run it: the bundled CLI (bin/tsbuild). `pull --no-unpack` is the store-only pull
# to compare with skopeo copy to an oci: dir; plain `pull` also unpacks the layers into snapshots.
tsb() { bin/tsbuild --root "$@"; }
now() { date +%s.%N; }
time_it() { local s; s=$(now); "$@" >/dev/null; echo "$(now) - $s" | bc; }

echo "bench: making a ${MB} MB image (4 layers of random data)..."
SRC=$W/src; bash scripts/make-busybox-rootfs.sh "$W/busybox.tar"
bin/tsbuild --root "$SRC" import "$W/busybox.tar" busybox:latest >/dev/null
CTX=$W/ctx; mkdir -p "$CTX"; Q=$((MB / 4))
printf 'FROM busybox\nRUN dd if=/dev/urandom of=/a bs=1048576 count=%s 2>/dev/null\nRUN dd if=/dev/urandom of=/b bs=1048576 count=%s 2>/dev/null\nRUN dd if=/dev/urandom of=/c bs=1048576 count=%s 2>/dev/null\nRUN dd if=/dev/urandom of=/d bs=1048576 count=%s 2>/dev/null\n' $Q $Q $Q $Q > "$CTX/Dockerfile"
bin/tsbuild --root "$SRC" build -q -t "$H/bench/img:1" "$CTX" >/dev/null
declare -A T
add() { T[$1]="${T[$1]:-} $2"; }
for i in $(seq "$RUNS"); do
  start_registry; rm -f "$SRC/registry/sources.json"
  add tsb_push "$(time_it tsb "$SRC" push -q "$H/bench/img:1")"
  add tsb_repush "$(time_it tsb "$SRC" push -q "$H/bench/img:1")"
  rm -rf "$W/p1"; add tsb_pull "$(time_it tsb "$W/p1" pull -q --no-unpack "$H/bench/img:1")"
  for m in $(awk '{print $5}' /proc/self/mountinfo | grep "^$W/p2" | sort -r); do umount -l "$m"; done; rm -rf "$W/p2"
  add tsb_pull_unpack "$(time_it tsb "$W/p2" pull -q "$H/bench/img:1")"
  start_registry
  add sk_push "$(time_it skopeo copy -q --dest-tls-verify=false "oci:$SRC:$H/bench/img:1" "docker://$H/bench/sk:1")"
  add sk_repush "$(time_it skopeo copy -q --dest-tls-verify=false "oci:$SRC:$H/bench/img:1" "docker://$H/bench/sk:1")"
  rm -rf "$W/sk"; add sk_pull "$(time_it skopeo copy -q --src-tls-verify=false "docker://$H/bench/sk:1" "oci:$W/sk:img")"
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
printf '\n%-26s %10s %10s %8s   (%s runs, %s MB)\n' operation tsbuild skopeo ratio "$RUNS" "$MB"
for op in push repush pull; do
  a=$(echo "${T[tsb_$op]}" | median); b=$(echo "${T[sk_$op]}" | median)
  printf '%-26s %9.2fs %9.2fs %7.2fx\n' "$op" "$a" "$b" "$(echo "$a / $b" | bc -l)"
done
a=$(echo "${T[tsb_pull_unpack]}" | median); b=$(echo "${T[sk_pull]}" | median)
printf '%-26s %9.2fs %9.2fs %7.2fx\n' "pull + unpack (tsbuild)" "$a" "$b" "$(echo "$a / $b" | bc -l)"
