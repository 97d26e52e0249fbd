#!/usr/bin/env bash
# Times rebuilds of a big build context (5,000 files, ~100 MB) with tsbuild and with BuildKit (docker build)
# beside it, in the same run: the no-op rebuild (nothing changed) and the one-file rebuild (one small file
# that only the second COPY selects changed). The Dockerfile copies the context in two steps, manifests first.
#
# Usage: bench/cache.sh [--runs N] [--start-dockerd] [--files N]
#   --start-dockerd  start a private dockerd (--iptables=false --bridge=none) for the BuildKit column
#   --files N        number of files in the generated context (default 5000)
# TSB_TRACE=1 also prints one tsbuild no-op rebuild with plain progress (step timings).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
runs=7
files=5000
start_dockerd=no
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --files) files=$2; shift 2 ;;
    --start-dockerd) start_dockerd=yes; shift ;;
    *) echo "usage: bench/cache.sh [--runs N] [--files N] [--start-dockerd]" >&2; exit 2 ;;
  esac
done
bash scripts/setup.sh >/dev/null
work=$(mktemp -d /tmp/tsb-cachebench-XXXXXX)
dockerd_pid=
tag="cachebench-$$:latest"
cleanup() {
  [ -n "$dockerd_pid" ] && kill "$dockerd_pid" 2>/dev/null && wait "$dockerd_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
bash scripts/make-busybox-rootfs.sh "$work/busybox.tar"

# A deterministic context: 4 big files (~20 MB each) and many small ones (~4 KB) in 50 directories.
ctx="$work/ctx"
node - "$ctx" "$files" <<'EOF'
const fs = require('node:fs'); const path = require('node:path');
const [dir, n] = [process.argv[2], Number(process.argv[3])];
let s = 0x9e3779b9;
const fill = (buf) => { for (let i = 0; i < buf.length; i += 4) { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; buf.writeUInt32LE(s >>> 0, i); } return buf; };
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"bench","version":"1.0.0"}\n');
fs.writeFileSync(path.join(dir, 'lock.json'), '{"lockfileVersion":3}\n');
fs.writeFileSync(path.join(dir, '.dockerignore'), '*.log\n');
fs.writeFileSync(path.join(dir, 'Dockerfile'), [
  'FROM busybox:latest',
  'WORKDIR /app',
  'COPY package.json lock.json /app/',
  'RUN wc -c package.json lock.json > /deps.txt',
  'COPY . /app/',
  'RUN ls /app/src > /listing.txt',
  ''].join('\n'));
fs.mkdirSync(path.join(dir, 'assets'));
for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(dir, 'assets', `big${i}.bin`), fill(Buffer.alloc(20 << 20)));
const small = n - 7;
for (let i = 0; i < small; i++) {
  const d = path.join(dir, 'src', `d${String(i % 50).padStart(2, '0')}`);
  if (i < 50) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(d, `f${String(i).padStart(5, '0')}.txt`), fill(Buffer.alloc(4096)).toString('base64').slice(0, 1024 + (i % 7) * 512));
}
EOF
echo "context: $(find "$ctx" -type f | wc -l) files, $(du -sm "$ctx" | cut -f1) MB" >&2
changed="$ctx/src/d07/f00007.txt"
change() { printf 'changed %s %s\n' "$1" "$(date +%s%N)" > "$changed"; }


# tsbuild
root="$work/tsb"
bin/tsbuild --root "$root" import "$work/busybox.tar" busybox:latest >/dev/null
T=(bin/tsbuild --root "$root" build -t "$tag" "$ctx")
time_ms "${T[@]}" >/dev/null   # cold build, untimed
time_ms "${T[@]}" >/dev/null   # first rebuild writes what the cold build left racy
noop=(); one=()
for i in $(seq "$runs"); do noop+=("$(time_ms "${T[@]}")"); done
for i in $(seq "$runs"); do change "tsb-$i"; one+=("$(time_ms "${T[@]}")"); done
tsb_noop=$(printf '%s\n' "${noop[@]}" | median)
tsb_one=$(printf '%s\n' "${one[@]}" | median)
if [ -n "${TSB_TRACE:-}" ]; then
  echo "--- one tsbuild no-op rebuild, plain progress:" >&2
  bin/tsbuild --root "$root" build --progress plain -t "$tag" "$ctx" >&2 || true
fi

# BuildKit through docker build (Debian's /usr/bin/docker carries BuildKit's client).
docker=${DOCKER:-$( [ -x /usr/bin/docker ] && echo /usr/bin/docker || echo docker )}
if [ "$start_dockerd" = yes ] && ! "$docker" info >/dev/null 2>&1; then
  command -v dockerd >/dev/null || { echo "bench: dockerd not installed (apt-get install docker.io)" >&2; exit 1; }
  dockerd --iptables=false --bridge=none >"$work/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 100); do "$docker" info >/dev/null 2>&1 && break; sleep 0.2; done
fi
bk_noop=; bk_one=
if "$docker" info >/dev/null 2>&1; then
  "$docker" import "$work/busybox.tar" busybox:latest >/dev/null
  D=(env DOCKER_BUILDKIT=1 "$docker" build --network=none -t "$tag" "$ctx")
  time_ms "${D[@]}" >/dev/null
  time_ms "${D[@]}" >/dev/null
  noop=(); one=()
  for i in $(seq "$runs"); do noop+=("$(time_ms "${D[@]}")"); done
  for i in $(seq "$runs"); do change "bk-$i"; one+=("$(time_ms "${D[@]}")"); done
  bk_noop=$(printf '%s\n' "${noop[@]}" | median)
  bk_one=$(printf '%s\n' "${one[@]}" | median)
  "$docker" rmi -f "$tag" >/dev/null 2>&1 || true
else
  echo "bench: no docker daemon; pass --start-dockerd for the BuildKit column" >&2
fi

echo
echo "context of $files files ($(du -sm "$ctx" | cut -f1) MB), median of $runs runs ($(nproc) cores, $(date -u +%F))"
printf '%-22s %16s %18s\n' tool "no-op rebuild" "one-file rebuild"
printf '%-22s %13s ms %15s ms\n' tsbuild "$tsb_noop" "$tsb_one"
if [ -n "$bk_noop" ]; then
  printf '%-22s %13s ms %15s ms\n' "BuildKit (docker)" "$bk_noop" "$bk_one"
  echo "tsbuild / BuildKit: no-op $(ratio "$tsb_noop" "$bk_noop"), one-file $(ratio "$tsb_one" "$bk_one")   (targets: no-op <= 150 ms and <= 0.50x, one-file <= 0.50x)"
fi
