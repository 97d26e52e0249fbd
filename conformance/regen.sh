#!/usr/bin/env bash
# Regenerates conformance/expected/<case>.json with a real BuildKit (docker 20.10's, DOCKER_BUILDKIT=1).
# Usage: conformance/regen.sh [CASE...]      (no argument: every case)
# Needs: dockerd 20.10 running (Debian's /usr/bin/docker CLI), busybox-static, and the compiled tests
# (`npx tsc -p .` first: the flattener and recorder are test/helpers/flatten.ts and test/conformance/*.ts).
# Idempotent: builds start from the same deterministic busybox import; nothing depends on time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
docker=${DOCKER:-/usr/bin/docker}
cli="$repo/dist/test/conformance/regen-cli.js"
[ -f "$cli" ] || { echo "regen: $cli missing: run 'npx tsc -p .' first" >&2; exit 1; }
"$docker" info >/dev/null 2>&1 || { echo "regen: '$docker info' fails: start dockerd (see conformance/README.md)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash "$repo/scripts/make-busybox-rootfs.sh" "$tmp/busybox.tar"
"$docker" import "$tmp/busybox.tar" busybox:latest >/dev/null
base_diffid="sha256:$(sha256sum "$tmp/busybox.tar" | cut -d' ' -f1)"
version="docker $("$docker" version --format '{{.Server.Version}}') BuildKit dockerfile.v0 (BuildKit 0.8)"

if [ $# -gt 0 ]; then cases=("$@"); else mapfile -t cases < <(ls "$here/cases"); fi
jq_get() { node -e 'const c=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));const v=c[process.argv[2]];if(v!==undefined)console.log(typeof v==="object"?Object.entries(v).map(([k,x])=>k+"="+x).join("\n"):v)' "$1" "$2"; }

fail=0
for name in "${cases[@]}"; do
  dir="$here/cases/$name"
  [ -d "$dir" ] || { echo "regen: no case $name" >&2; fail=1; continue; }
  cj="$dir/case.json"; [ -f "$cj" ] || { echo '{}' > "$tmp/empty.json"; cj="$tmp/empty.json"; }
  ctx="$tmp/ctx-$name"
  rm -rf "$ctx"
  node "$cli" prepare "$name" "$ctx"
  from=$(jq_get "$cj" expectedFrom)
  is_error=$(jq_get "$cj" error)
  dockerfile="$ctx/Dockerfile"
  if [ "$from" = reference ]; then
    if [ "$is_error" = true ]; then
      echo "(reference: written from the Dockerfile reference; BuildKit 0.8 lacks the feature)" > "$tmp/log"
      node "$cli" error "$name" "$tmp/log" "$version"
      echo "regen: $name (reference error)"
      continue
    fi
    # the filesystem comes from an equivalent Dockerfile BuildKit 0.8 understands; case.json overrides the rest
    cp "$dir/Dockerfile.buildkit08" "$ctx/Dockerfile.buildkit08"
    dockerfile="$ctx/Dockerfile.buildkit08"
  fi
  args=(build --network=none --progress=plain -f "$dockerfile" -t "conformance/$name:latest")
  while IFS= read -r kv; do [ -n "$kv" ] && args+=(--build-arg "$kv"); done < <(jq_get "$cj" buildArgs)
  target=$(jq_get "$cj" target); [ -n "$target" ] && args+=(--target "$target")
  for id in $(node -e 'const c=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));for(const k of Object.keys(c.secrets??{}))console.log(k)' "$cj"); do
    node -e 'const fs=require("fs");const c=JSON.parse(fs.readFileSync(process.argv[1],"utf8"));fs.writeFileSync(process.argv[3],c.secrets[process.argv[2]])' "$cj" "$id" "$tmp/secret-$id"
    args+=(--secret "id=$id,src=$tmp/secret-$id")
  done
  set +e
  DOCKER_BUILDKIT=1 "$docker" "${args[@]}" "$ctx" >"$tmp/log" 2>&1
  rc=$?
  set -e
  if [ "$is_error" = true ]; then
    if [ $rc -eq 0 ]; then "$docker" rmi "conformance/$name:latest" >/dev/null 2>&1 || true; echo "regen: $name: BuildKit succeeded but the case expects an error" >&2; fail=1; continue; fi
    node "$cli" error "$name" "$tmp/log" "$version" || fail=1
    echo "regen: $name (error: $(tail -n1 "$tmp/log"))"
    continue
  fi
  if [ $rc -ne 0 ]; then echo "regen: $name: BuildKit failed:" >&2; tail -n 15 "$tmp/log" >&2; fail=1; continue; fi
  rm -rf "$tmp/save" && mkdir "$tmp/save"
  "$docker" save "conformance/$name:latest" | tar -C "$tmp/save" -xf -
  node "$cli" image "$name" "$tmp/save" "$tmp/busybox.tar" "$base_diffid" "$version" || fail=1
  "$docker" rmi "conformance/$name:latest" >/dev/null 2>&1 || true
  echo "regen: $name"
done
exit $fail
