#!/usr/bin/env bash
# Writes a minimal busybox root filesystem tar (from Debian's busybox-static) to $1.
# Usage: scripts/make-busybox-rootfs.sh OUT.tar
set -euo pipefail
out=${1:?usage: make-busybox-rootfs.sh OUT.tar}
bb=$(command -v busybox || true)
[ -n "$bb" ] || { echo "busybox not found: apt-get install busybox-static" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp"
mkdir -p "$tmp"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,home,proc,sys,dev,var/tmp}
chmod 1777 "$tmp/tmp" "$tmp/var/tmp"
chmod 0700 "$tmp/root"
cp "$bb" "$tmp/bin/busybox"
for applet in $("$bb" --list-full); do
  [ "$applet" = bin/busybox ] && continue
  rel=$(dirname "$applet" | sed -E 's#[^/]+#..#g')
  ln -sf "$rel/bin/busybox" "$tmp/$applet"
done
cat > "$tmp/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PW
cat > "$tmp/etc/group" <<'GR'
root:x:0:
nogroup:x:65534:
GR
echo 'root:*:19000:0:99999:7:::' > "$tmp/etc/shadow"
chmod 0640 "$tmp/etc/shadow"
tar --numeric-owner --owner=0 --group=0 --sort=name --mtime='2024-01-01 00:00:00' -C "$tmp" -cf "$out" .
