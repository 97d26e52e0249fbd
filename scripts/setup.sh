#!/usr/bin/env bash
# Installs what tsbuild and its tests need on a fresh Debian machine (as root), then compiles the code.
# Safe to run again: it installs only what is missing.
# Usage: scripts/setup.sh [--test]   (--test adds the peer tools the test suite checks against)
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
want() { command -v "$1" >/dev/null 2>&1 || need+=("$2"); }
want runc runc
want busybox busybox-static
want getfattr attr
want setfattr attr
want mount mount
want xz xz-utils
want bzip2 bzip2
if [ "${1:-}" = "--test" ]; then
  want skopeo skopeo
  want podman podman
  want umoci umoci
  want docker-registry docker-registry
  want zstd zstd
  want pgrep procps
  want ssh-agent openssh-client
  want slirp4netns slirp4netns
  want tini-static tini
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing ${need[*]}; run as root (or install them with apt-get)" >&2
    exit 1
  fi
  echo "setup: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ ! -f dist/bundle/tsbuild.cjs ] || [ ! -f dist/.built ] || [ scripts/bundle.mjs -nt dist/.built ] || [ -n "$(find src test -newer dist/.built -name '*.ts' 2>/dev/null | head -1)" ]; then
  npx tsc -p tsconfig.json
  node scripts/bundle.mjs
  touch dist/.built
fi
