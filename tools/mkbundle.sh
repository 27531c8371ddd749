#!/bin/sh
# Build the default bundle: a busybox rootfs (from Debian's busybox-static)
# and the config.json that `nsbox spec` writes. Usage: mkbundle.sh DIR NSBOX
set -eu
dir=$1
nsbox=$2
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "mkbundle: $busybox missing (apt-get install busybox-static)" >&2; exit 1; }
if ldd "$busybox" >/dev/null 2>&1; then
  echo "mkbundle: $busybox is not static (apt-get install busybox-static)" >&2; exit 1
fi
rm -rf "$dir.tmp"
mkdir -p "$dir.tmp/rootfs"
r="$dir.tmp/rootfs"
mkdir -p "$r/bin" "$r/sbin" "$r/usr/bin" "$r/usr/sbin" "$r/etc" "$r/proc" "$r/sys" "$r/dev" \
  "$r/tmp" "$r/root" "$r/var" "$r/run" "$r/home"
chmod 1777 "$r/tmp"
cp "$busybox" "$r/bin/busybox"
for applet in $("$busybox" --list); do
  [ -e "$r/bin/$applet" ] || ln -s busybox "$r/bin/$applet"
done
# Debian-style symlink: /var/run -> /run (mount targets must resolve inside).
ln -s /run "$r/var/run"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$r/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
echo nsbox >"$r/etc/hostname"
(cd "$dir.tmp" && "$nsbox" spec)
rm -rf "$dir"
mv "$dir.tmp" "$dir"
