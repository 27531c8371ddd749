#!/bin/busybox sh
# shellcheck shell=dash
# /init of the v2rig guest (busybox sh). Stage 1 runs on the initramfs,
# copies it into a tmpfs and switch_roots (pivot_root fails on an initramfs);
# stage 2 sets up a pure cgroup v2 host, runs /v2rig/job and prints
#   NSBOX-V2-RESULT: <exit status>
# on the serial console, then powers off.
PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH

stage1() {
  mount -t devtmpfs dev /dev
  exec </dev/console >/dev/console 2>&1
  mkdir -p /newroot
  mount -t tmpfs -o mode=0755 tmpfs /newroot
  for e in /*; do
    case "$e" in /newroot | /dev) ;; *) cp -a "$e" /newroot/ ;; esac
  done
  mkdir -p /newroot/dev
  mount --move /dev /newroot/dev
  touch /newroot/.v2rig-stage2
  exec switch_root /newroot /init
}

mount_all() {
  mkdir -p /proc /sys /dev /tmp /run
  mount -t proc proc /proc
  mount -t sysfs sysfs /sys
  # securityfs: /sys/kernel/security/lsm and AppArmor's interface (AppArmor.*).
  mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
  mount -t devtmpfs dev /dev 2>/dev/null
  mkdir -p /dev/pts /dev/shm /dev/mqueue
  mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
  mount -t tmpfs tmpfs /dev/shm
  mount -t mqueue mqueue /dev/mqueue
  # The root is already a tmpfs: no mounts over /tmp or /run, which would
  # hide the build tree when it lives there (CI clones under /tmp).
  chmod 1777 /tmp
  chmod 0755 /run
  mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
  mount --make-rshared /
  hostname v2rig
  ip link set lo up 2>/dev/null
}

enable_controllers() {
  local c
  read -r controllers </sys/fs/cgroup/cgroup.controllers
  for c in $controllers; do
    echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control || echo "v2rig: cannot enable $c"
  done
  echo "v2rig: cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
}

stage2() {
  exec </dev/null >/dev/console 2>&1
  mount_all
  enable_controllers
  echo "v2rig: kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {print $2}' /proc/meminfo) kB"
  echo "v2rig: LSMs: $(cat /sys/kernel/security/lsm 2>/dev/null || echo '?')"
  echo "v2rig: uptime at job start: $(cut -d' ' -f1 /proc/uptime) s"
  sh /v2rig/job
  rc=$?
  echo "v2rig: uptime at job end: $(cut -d' ' -f1 /proc/uptime) s"
  echo "NSBOX-V2-RESULT: $rc"
  sync
  poweroff -f
}

if [ -e /.v2rig-stage2 ]; then stage2; else stage1; fi
