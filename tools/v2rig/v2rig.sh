#!/bin/bash
# v2rig: run nsbox's tests in a QEMU guest that is a pure cgroup v2 host.
#
# Usage: tools/v2rig/v2rig.sh test|test-all|bench [BUILD_DIR]
#   test      the tests listed in tests/v2-tests.txt + an `nsbox run` smoke test
#   test-all  every unit and integration test (slow under TCG: manual use)
#   bench     bench/'s measure binary with nsbox, runc and crun (EMULATED ratios)
#
# The guest is Debian's kernel (downloaded once, cached in BUILD_DIR/v2rig/)
# and an initramfs holding busybox-static, the built binaries (at the same
# absolute paths as on the host: the integration tests have them compiled in)
# and their shared libraries. Results come back on the serial console as
# "NSBOX-V2-RESULT: N"; the script exits with N.
#
# Environment: V2RIG_ACCEL=auto|kvm|tcg (auto: KVM if a probe boot works),
# V2RIG_TIMEOUT (seconds, default 1200), V2RIG_MEM (MiB, default 2048),
# V2RIG_CPUS (default nproc), V2RIG_ARGS (extra args to the guest job).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
mode=${1:-test}
build=$(cd "${2:-$src/build}" && pwd)
rig=$build/v2rig
timeout_s=${V2RIG_TIMEOUT:-1200}
mem=${V2RIG_MEM:-2048}
cpus=${V2RIG_CPUS:-$(nproc)}

log() { echo "v2rig: $*" >&2; }
die() { log "error: $*"; exit 2; }

# ------------------------------------------------------------------ kernel

kernel_package() {
  apt-cache depends linux-image-amd64 2>/dev/null |
    awk '/Depends: linux-image-[0-9]/ {print $2; exit}'
}

# The bzImage payload as an uncompressed vmlinux (QEMU boots it via PVH,
# ~3 s faster under TCG); empty output when the format is not recognised.
extract_vmlinux() {
  local bz=$1 out=$2 magic off
  for magic in '\xfd7zXZ\x00' '\x28\xb5\x2f\xfd' '\x1f\x8b\x08'; do
    while IFS=: read -r off _; do
      tail -c +"$((off + 1))" "$bz" | decompress "$magic" >"$out" 2>/dev/null || true
      if [ "$(head -c 4 "$out" | od -An -c | tr -d ' ')" = '177ELF' ]; then return 0; fi
    done < <(LC_ALL=C grep -obUaP "$magic" "$bz")
  done
  rm -f "$out"
}

decompress() {
  case "$1" in
    '\xfd7zXZ\x00') xz -dc ;;
    '\x28\xb5\x2f\xfd') zstd -dcq ;;
    *) gzip -dc ;;
  esac
}

# build/v2rig/kernel/{vmlinux or bzImage}, downloaded and unpacked once.
fetch_kernel() {
  local kdir=$rig/kernel pkg tmp
  if [ -e "$kdir/ok" ]; then return 0; fi
  pkg=$(kernel_package)
  [ -n "$pkg" ] || die "cannot resolve the package linux-image-amd64 depends on (apt-get update?)"
  log "downloading $pkg"
  rm -rf "$kdir" && mkdir -p "$kdir"
  tmp=$kdir/tmp && mkdir -p "$tmp"
  (cd "$tmp" && apt-get download -q "$pkg" 2>&1) | grep -v '^W: Download is performed unsandboxed' >&2 || true
  ls "$tmp"/*.deb >/dev/null 2>&1 || die "apt-get download $pkg failed"
  dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$tmp" --wildcards './boot/vmlinuz-*'
  cp "$tmp"/boot/vmlinuz-* "$kdir/bzImage"
  extract_vmlinux "$kdir/bzImage" "$kdir/vmlinux"
  if [ -e "$kdir/vmlinux" ]; then log "booting the uncompressed vmlinux"; else log "booting the bzImage"; fi
  echo "$pkg" >"$kdir/package"
  rm -rf "$tmp"
  touch "$kdir/ok"
}

kernel_image() {
  if [ -e "$rig/kernel/vmlinux" ]; then echo "$rig/kernel/vmlinux"; else echo "$rig/kernel/bzImage"; fi
}

# -------------------------------------------------------------- initramfs

# Copy a dynamically linked program and the libraries it needs into $root.
copy_with_libs() {
  local root=$1 prog=$2 dest=${3:-$2} lib
  mkdir -p "$root$(dirname "$dest")"
  strip_copy "$prog" "$root$dest"
  for lib in $(ldd "$prog" 2>/dev/null | grep -o '/[^ ]*'); do
    [ -e "$root$lib" ] && continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}

# Debug info is most of a RelWithDebInfo binary: the guest does not need it.
strip_copy() {
  objcopy --strip-debug "$1" "$2" 2>/dev/null || cp "$1" "$2"
}

add_busybox() {
  local root=$1 applet
  mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/etc"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
  # /bin/sh is dash, as on a Debian host (busybox ash ignores SIGQUIT,
  # which hooks run through /bin/sh would inherit).
  if [ -x /bin/dash ]; then rm "$root/bin/sh" && copy_with_libs "$root" /bin/dash /bin/sh; fi
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
    >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
}

add_nsbox() {
  local root=$1
  mkdir -p "$root$build"
  strip_copy "$build/nsbox" "$root$build/nsbox"
  cp -a "$build/bundle" "$root$build/bundle"
  cp -a "$build/bundle-tools" "$root$build/bundle-tools"
  copy_with_libs "$root" "$build/nsbox_unit_tests"
  copy_with_libs "$root" "$build/nsbox_integration_tests"
  # AppArmor.* load a test profile with it (package apparmor; skipped without).
  local parser
  parser=$(command -v apparmor_parser || true)
  if [ -n "$parser" ]; then copy_with_libs "$root" "$parser"; fi
}

# "nsbox_unit_tests" -> "A.*:B.*" from tests/v2-tests.txt.
v2_filter() {
  awk -v bin="$1" '$1 == bin {f = f (f ? ":" : "") $2} END {print f}' "$src/tests/v2-tests.txt"
}

write_test_job() {
  local job=$1 unit_filter=$2 it_filter=$3
  cat >"$job" <<EOF
cd '$build' || exit 2
rc=0
run_gtest() {
  echo "v2rig: === \$1 --gtest_filter=\$2"
  "./\$1" --gtest_filter="\$2" --gtest_brief=1 ${V2RIG_ARGS:-} || rc=1
}
run_gtest nsbox_unit_tests '$unit_filter'
run_gtest nsbox_integration_tests '$it_filter'
echo "v2rig: === smoke: nsbox run of the default bundle"
out=\$(echo 'echo smoke-ok; cat /proc/self/cgroup' | ./nsbox --root /run/nsbox-smoke run -b bundle v2rig-smoke 2>&1)
src=\$?
echo "\$out"
case "\$src:\$out" in
  0:*smoke-ok*0::/*) echo "v2rig: smoke OK" ;;
  *) echo "v2rig: smoke FAILED (exit \$src)"; rc=1 ;;
esac
exit \$rc
EOF
}

# The benchmark: bench/ and its tools, Debian's python3 (stdlib without
# tests), runc and crun with their libraries (Makefile deps installs them).
add_bench() {
  local root=$1 py lib rt
  mkdir -p "$root$src" "$root$build/bench"
  cp -a "$src/bench" "$root$src/bench"
  strip_copy "$build/bench/nsbox_bench_measure" "$root$build/bench/nsbox_bench_measure"
  strip_copy "$build/bench/nsbox_floor" "$root$build/bench/nsbox_floor"
  py=$(readlink -f /usr/bin/python3)
  copy_with_libs "$root" "$py" /usr/bin/python3
  lib=/usr/lib/$(basename "$py")
  mkdir -p "$root$lib"
  tar -C "$lib" --exclude=test --exclude=tests --exclude=__pycache__ --exclude=idlelib \
    --exclude=tkinter --exclude=ensurepip --exclude=lib2to3 --exclude=site-packages \
    --exclude=dist-packages -cf - . | tar -C "$root$lib" -xf -
  for rt in runc crun; do
    if command -v "$rt" >/dev/null; then copy_with_libs "$root" "$(command -v "$rt")" "/usr/bin/$rt"; fi
  done
}

write_bench_job() {
  local job=$1
  cat >"$job" <<EOF
cd '$src' || exit 2
echo "v2rig: ===== EMULATED ($accel): the ratios below come from a QEMU guest; TCG slows"
echo "v2rig: ===== CPU work and syscalls by different factors: not comparable to a real host"
python3 bench/nsbench.py --build-dir '$build' --out /tmp/bench ${V2RIG_BENCH_ARGS:---runs 20 --concurrency 1,8}
rc=\$?
echo "v2rig: ===== EMULATED ($accel) ratios above"
echo NSBOX-V2-BENCH-JSON-BEGIN
cat /tmp/bench/bench.json; echo
echo NSBOX-V2-BENCH-JSON-END
exit \$rc
EOF
}

# The guest's bench.json, from the console log to build/v2rig/bench.json.
save_bench_json() {
  tr -d '\r' <"$1" | sed -n '/^NSBOX-V2-BENCH-JSON-BEGIN$/,/^NSBOX-V2-BENCH-JSON-END$/p' |
    sed '1d;$d' >"$rig/bench.json"
  if [ -s "$rig/bench.json" ]; then log "EMULATED benchmark results: $rig/bench.json"; fi
}

build_initramfs() {
  local root=$rig/root
  rm -rf "$root" && mkdir -p "$root/v2rig"
  add_busybox "$root"
  add_nsbox "$root"
  case $mode in
    test) write_test_job "$root/v2rig/job" "$(v2_filter nsbox_unit_tests)" \
      "$(v2_filter nsbox_integration_tests)" ;;
    test-all) write_test_job "$root/v2rig/job" '*' '*' ;;
    bench) add_bench "$root" && write_bench_job "$root/v2rig/job" ;;
    *) die "unknown mode $mode" ;;
  esac
  cp "$here/guest-init.sh" "$root/init"
  chmod +x "$root/init"
  (cd "$root" && find . | cpio -o -H newc --quiet) >"$rig/initramfs.cpio"
  rm -rf "$root"
}

# ------------------------------------------------------------------- boot

cmdline() {
  echo "console=ttyS0 panic=-1 quiet cgroup_no_v1=all tsc=reliable rdinit=/init"
}

# qemu ACCEL TIMEOUT LOG: boots the guest, console to LOG (and stdout).
qemu() {
  local accel=$1 t=$2 logf=$3 accel_args
  accel_args=(-accel "tcg,thread=multi" -cpu max)
  if [ "$accel" = kvm ]; then accel_args=(-accel kvm -cpu host); fi
  timeout --foreground -k 10 "$t" qemu-system-x86_64 "${accel_args[@]}" \
    -m "$mem" -smp "$cpus" -nographic -no-reboot -nodefaults -serial stdio \
    -kernel "$(kernel_image)" -initrd "$rig/initramfs.cpio" -append "$(cmdline)" \
    </dev/null 2>&1 | tee "$logf"
  return "${PIPESTATUS[0]}"
}

# KVM if a probe boot reaches the marker within 60 s; the answer is cached.
pick_accel() {
  local want=${V2RIG_ACCEL:-auto}
  if [ "$want" != auto ]; then echo "$want"; return; fi
  if [ -s "$rig/accel" ]; then cat "$rig/accel"; return; fi
  local accel=tcg
  if [ -w /dev/kvm ]; then
    log "probing KVM (one short boot)"
    qemu kvm 60 "$rig/kvm-probe.log" >/dev/null 2>&1 || true
    if grep -q 'NSBOX-V2-RESULT: 0' "$rig/kvm-probe.log"; then accel=kvm; fi
  fi
  echo "$accel" >"$rig/accel"
  echo "$accel"
}

probe_initramfs() {
  local saved=$mode
  mode=probe
  local root=$rig/root
  rm -rf "$root" && mkdir -p "$root/v2rig"
  add_busybox "$root"
  echo 'exit 0' >"$root/v2rig/job"
  cp "$here/guest-init.sh" "$root/init" && chmod +x "$root/init"
  (cd "$root" && find . | cpio -o -H newc --quiet) >"$rig/initramfs.cpio"
  rm -rf "$root"
  mode=$saved
}

run_guest() {
  local accel=$1 logf=$rig/console-$mode.log start rc result
  start=$(date +%s)
  log "booting ($accel, $cpus CPUs, ${mem} MiB, timeout ${timeout_s} s); console log: $logf"
  rc=0
  qemu "$accel" "$timeout_s" "$logf" || rc=$?
  log "guest ran $(($(date +%s) - start)) s"
  result=$(tr -d '\r' <"$logf" | sed -n 's/^NSBOX-V2-RESULT: \([0-9]*\)$/\1/p' | tail -n 1)
  if [ -z "$result" ]; then
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
      log "FAILED: the guest did not finish within ${timeout_s} s and was killed"
    else
      log "FAILED: the guest stopped (qemu exit $rc) without a NSBOX-V2-RESULT line"
    fi
    return 2
  fi
  log "NSBOX-V2-RESULT: $result"
  if [ "$mode" = bench ]; then save_bench_json "$logf" || true; fi
  return "$result"
}

main() {
  command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (make deps-v2)"
  [ -x "$build/nsbox" ] || die "$build/nsbox missing (make build)"
  mkdir -p "$rig"
  fetch_kernel
  if [ -z "${V2RIG_ACCEL:-}" ] && [ ! -s "$rig/accel" ]; then probe_initramfs; fi
  accel=$(pick_accel)  # global: the bench job names it
  build_initramfs
  run_guest "$accel"
}

main
