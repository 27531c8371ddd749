"""Measuring: one nsbox_bench_measure process per measurement, unique
container IDs, the long-running containers of scenarios that act on one
(exec), cleanup after failures and a final check that nothing is left behind
(state directories, cgroups, mounts)."""

import itertools
import json
import os
import re
import signal
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field

from runtimes import ID, Bundle, Runtime
from scenarios import Scenario

CGROUP_ROOT = "/sys/fs/cgroup"
CGROUP_SCAN_DEPTH = 4


@dataclass
class Measurement:
    ok: bool
    wall_us: int = 0
    chain_us: list[int] = field(default_factory=list)
    cpu_us: int = 0          # user + system, whole runtime process tree
    maxrss_kib: int = 0      # peak RSS of the largest process of that tree
    error: str | None = None


def last_lines(text: str) -> str:
    """A runtime's stderr boiled down to its last lines, logfmt noise off."""
    lines = [re.sub(r'^time="[^"]*" level=\w+ ', "", line).strip()
             for line in text.splitlines() if line.strip()]
    return " | ".join(lines[-3:])[:300]


class Harness:
    def __init__(self, measurer: str, workdir: str, prefix: str):
        self.measurer = measurer
        self.workdir = workdir
        self.prefix = prefix
        self.issued: dict[str, set[str]] = defaultdict(set)
        # (scenario, runtime) -> (runtime, ID) of a running Scenario.container
        self.containers: dict[tuple[str, str], tuple[Runtime, str]] = {}
        self._serial = itertools.count()
        for sub in ("pids", "err"):
            os.makedirs(f"{workdir}/{sub}", exist_ok=True)

    def measure(self, rt: Runtime, scn: Scenario, bundle: Bundle, jobs: int = 1) -> Measurement:
        """Measures scn.steps for `jobs` containers at once, between the
        unmeasured setup and teardown; cleans up on failure. A scenario with
        a `container`: the steps act on the runtime's long-running container,
        started by its first measurement."""
        base = f"{self.prefix}-{scn.name}-{rt.name}-{next(self._serial)}"
        if scn.container:
            target, error = self._container(rt, scn, bundle)
            if error:
                return Measurement(False, error=error)
            return self._steps(rt, scn.steps, bundle, base, jobs, target)
        ids = [f"{base}-{k}" for k in range(jobs)]
        self.issued[rt.name].update(ids)
        m = self._steps(rt, scn.setup, bundle, base, jobs)
        if m.ok:
            m = self._steps(rt, scn.steps, bundle, base, jobs)
        done = self._steps(rt, scn.teardown, bundle, base, jobs)
        if not (m.ok and done.ok):
            self.force_delete(rt, ids)
        return done if m.ok and not done.ok else m

    def _container(self, rt: Runtime, scn: Scenario, bundle: Bundle) -> tuple[str, str | None]:
        """The runtime's long-running container for scn (its ID), started
        unmeasured by scn.container's verbs if need be; or why it is not."""
        key = (scn.name, rt.name)
        if key in self.containers:
            return self.containers[key][1], None
        cid = f"{self.prefix}-{scn.name}-{rt.name}-c"
        self.issued[rt.name].add(cid)
        self.containers[key] = (rt, cid)   # from here on removed by stop_containers
        errfile = f"{self.workdir}/err/{cid}"
        for verb in scn.container:
            pidfile = f"{self.workdir}/pids/{cid}.pid"
            argv = [a.replace(ID, cid) for a in rt.argv(verb, bundle, pidfile)]
            # Not through the measurer: the container's init outlives the
            # runtime (the measurer would wait for it as an orphan). /dev/null
            # as stdin and stdout, the init inherits them.
            with open(errfile, "a") as err:
                try:
                    r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=err, timeout=30)
                    failed = f"exit {r.returncode}" if r.returncode else None
                except subprocess.TimeoutExpired:
                    failed = "timed out after 30 s"
            if failed:
                why = " | ".join(filter(None, [last_lines(read_text(errfile)),
                                               f"{verb} (container set-up): {failed}"]))
                return cid, why
        return cid, None

    def stop_containers(self) -> None:
        """Removes the long-running containers (delete --force)."""
        for rt, cid in self.containers.values():
            self.force_delete(rt, [cid])
        self.containers.clear()

    def _steps(self, rt: Runtime, verbs: tuple[str, ...], bundle: Bundle, base: str,
               jobs: int, target: str | None = None) -> Measurement:
        """The verbs as one measurement, on `jobs` new containers, or all on
        the container `target`."""
        if not verbs:
            return Measurement(True)
        errfile = f"{self.workdir}/err/{base}"
        cmd = [self.measurer, "-j", str(jobs), "-e", errfile, "-i", base]
        for verb in verbs:
            argv = rt.argv(verb, bundle, f"{self.workdir}/pids/{ID}.pid")
            if target:
                argv = [a.replace(ID, target) for a in argv]
            cmd += ["--step", *argv]
        m = self._run_measurer(cmd, verbs, timeout=30 + jobs)
        if not m.ok:
            m.error = " | ".join(filter(None, [last_lines(read_text(errfile)), m.error]))
        return m

    def _run_measurer(self, cmd: list[str], verbs: tuple[str, ...], timeout: float) -> Measurement:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return Measurement(False, error=f"timed out after {timeout} s")
        if proc.returncode != 0:
            return Measurement(False, error=f"measurer: {err.strip()}")
        r = json.loads(out)
        failed = [f"{verbs[f['step']]}: {f['status']}" for f in r["failures"][:1]]
        if r["orphans_left"]:
            failed.append("container processes left running")
        return Measurement(not failed, r["wall_us"], r["chain_us"], r["utime_us"] + r["stime_us"],
                           r["maxrss_kib"], "; ".join(failed) or None)

    def force_delete(self, rt: Runtime, ids: list[str]) -> None:
        if rt.is_floor:
            return
        argv = rt.argv("delete-force", None, "")
        for cid in ids:
            subprocess.run([a.replace(ID, cid) for a in argv],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def leaks(self, runtimes: list[Runtime]) -> list[str]:
        """What is left behind, removed as far as possible."""
        found = []
        for rt in runtimes:
            if rt.is_floor or not rt.installed:
                continue
            left = sorted(i for i in self.issued[rt.name] if os.path.exists(f"{rt.root}/{i}"))
            found += [f"{rt.name}: state directory {rt.root}/{i}" for i in left]
            self.force_delete(rt, left)
        for path in cgroups_named(self.prefix):
            found.append(f"cgroup {path}")
            remove_cgroup(path)
        scratch = [self.workdir] + [rt.root for rt in runtimes if rt.root]
        for target in (t for d in scratch for t in mounts_under(d)):
            found.append(f"mount {target}")
            subprocess.run(["umount", "-l", target], stderr=subprocess.DEVNULL)
        return found


def read_text(path: str) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def cgroups_named(prefix: str) -> list[str]:
    found = []
    for top, dirs, _ in os.walk(CGROUP_ROOT):
        depth = top[len(CGROUP_ROOT):].count("/")
        ours = [d for d in dirs if d.startswith(prefix + "-")]
        found += [f"{top}/{d}" for d in ours]
        dirs[:] = [] if depth >= CGROUP_SCAN_DEPTH else [d for d in dirs if d not in ours]
    return found


def remove_cgroup(path: str) -> None:
    for top, _, _ in sorted(os.walk(path), key=lambda w: -w[0].count("/")):
        try:
            os.rmdir(top)
        except OSError:
            pass


def mounts_under(path: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        targets = [line.split()[4] for line in f]
    return [t for t in targets if t == path or t.startswith(path + "/")]
