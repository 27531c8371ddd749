#!/bin/sh
# The demo: a real container on the built-in busybox bundle. It shows the
# container's own hostname, that its shell is PID 1, that its network
# namespace holds only `lo`, and that its SysV IPC namespace is empty while
# the host has a message queue.
set -eu
build=${1:-build}
nsbox="$build/nsbox"
bundle="$build/bundle"
id="demo-$$"
qid=$(ipcmk -Q | awk '{print $NF}')
trap 'ipcrm -q "$qid" 2>/dev/null || true; "$nsbox" delete --force "$id" 2>/dev/null || true' EXIT
echo "== host: hostname $(hostname), SysV message queues: $(ipcs -q | grep -c '^0x')"
echo "== container (nsbox run $id, bundle $bundle):"
"$nsbox" run --bundle "$bundle" "$id" <<'SCRIPT'
echo "hostname:            $(hostname)"
echo "my PID:              $$"
echo "network interfaces:  $(ls /sys/class/net | tr '\n' ' ')"
echo "/proc/sysvipc/msg:"
cat /proc/sysvipc/msg
echo "(queues: $(($(wc -l < /proc/sysvipc/msg) - 1)))"
SCRIPT
echo "== container exited with status $?; state left behind: $(ls /run/nsbox 2>/dev/null | grep -c "$id" || true)"
