#!/usr/bin/env bash
# The main job: set up, make a busybox base image with `tsbuild import`, build fixtures/hello, run it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
tsbuild() { bin/tsbuild "$@"; }

if ! tsbuild inspect busybox:latest >/dev/null 2>&1; then
  tar=$(mktemp --suffix=.tar)
  bash scripts/make-busybox-rootfs.sh "$tar"
  echo "==> tsbuild import (busybox rootfs) busybox:latest"
  tsbuild import "$tar" busybox:latest
  rm -f "$tar"
fi
echo "==> tsbuild build -t hello:1 fixtures/hello"
tsbuild build -t hello:1 fixtures/hello
echo "==> tsbuild run --rm hello:1"
tsbuild run --rm hello:1
