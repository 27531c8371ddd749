"""The runtimes compared: nsbox (the built binary), runc and crun (from PATH),
and the floor (bench/floor.cpp, which can only `run`), also as "floor-cg":
the floor plus the one cgroup the config's device rules need.

Every OCI runtime gets its own --root under the benchmark's temporary
directory. Container IDs in the argvs are the measurer's "@ID@" placeholder.
"""

import shutil
import subprocess
from dataclasses import dataclass

ID = "@ID@"
WAIT_STEP = "@WAIT@"  # nsbox_bench_measure's wait-for-the-init step


@dataclass(frozen=True)
class Bundle:
    path: str
    args: tuple[str, ...]   # process.args of its config.json

    @property
    def rootfs(self) -> str:
        return f"{self.path}/rootfs"


# verb -> argv after `RUNTIME --root ROOT`, given the bundle and pid file.
OCI_VERBS = {
    "run": lambda b, pid: ["run", "--bundle", b.path, ID],
    "create": lambda b, pid: ["create", "--bundle", b.path, "--pid-file", pid, ID],
    "start": lambda b, pid: ["start", ID],
    "delete": lambda b, pid: ["delete", ID],
    "delete-force": lambda b, pid: ["delete", "--force", ID],
    # `true` found through the container's PATH, as an engine's exec does.
    "exec": lambda b, pid: ["exec", ID, "true"],
}
FLOOR_VERBS = {
    "run": lambda b: [b.rootfs, *b.args],
}


@dataclass(frozen=True)
class Runtime:
    name: str
    binary: str | None      # None: not installed
    root: str = ""          # --root (OCI runtimes)
    is_floor: bool = False
    flags: tuple[str, ...] = ()   # before the verb's arguments

    @property
    def installed(self) -> bool:
        return self.binary is not None

    def supports(self, verbs: set[str]) -> bool:
        return verbs <= (FLOOR_VERBS.keys() if self.is_floor else OCI_VERBS.keys())

    def argv(self, verb: str, bundle: Bundle, pidfile: str) -> list[str]:
        """The measurer step for `verb` ("wait" included)."""
        if verb == "wait":
            return [WAIT_STEP, pidfile]
        if self.is_floor:
            return [self.binary, *self.flags, *FLOOR_VERBS[verb](bundle)]
        return [self.binary, "--root", self.root, *self.flags, *OCI_VERBS[verb](bundle, pidfile)]

    def version(self) -> str:
        if not self.installed or self.is_floor:
            return ""
        out = subprocess.run([self.binary, "--version"], capture_output=True, text=True)
        lines = (out.stdout or out.stderr).strip().splitlines()
        return lines[0] if lines else ""


def discover(nsbox: str, floor: str, roots: str, names: list[str]) -> list[Runtime]:
    """The runtimes named, in order; runc/crun from PATH (None if absent)."""
    known = {
        "floor": Runtime("floor", floor, is_floor=True),
        "floor-cg": Runtime("floor-cg", floor, is_floor=True, flags=("--cgroup", ID)),
        "nsbox": Runtime("nsbox", nsbox, f"{roots}/nsbox"),
        "runc": Runtime("runc", shutil.which("runc"), f"{roots}/runc"),
        "crun": Runtime("crun", shutil.which("crun"), f"{roots}/crun"),
    }
    unknown = set(names) - known.keys()
    if unknown:
        raise SystemExit(f"nsbench: unknown runtime(s): {', '.join(sorted(unknown))}")
    return [known[n] for n in names]
