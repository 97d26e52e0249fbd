#!/usr/bin/env bash
# The whole test suite: unit tests, then integration tests on the real sandbox (root, runc, overlayfs),
# a real registry and peer tools. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
if [ "${CI:-}" = true ] && [ "$(id -u)" != 0 ]; then
  echo "test: CI=true but not root: the integration tests need root, runc and overlayfs" >&2
  exit 1
fi
unit=$(find dist/src -name '*.test.js' | sort)
integration=$(find dist/test -name '*.test.js' | sort)
# Integration tests mount and run containers: one file at a time keeps their output readable.
exec node --test --test-concurrency=1 $unit $integration
