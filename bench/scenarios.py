"""The scenario table: what the benchmark measures.

A scenario is a sequence of runtime verbs measured per container, on a bundle
whose config.json is the one `nsbox spec` writes with `patch` applied - the
same config for every runtime. New measurements slot in as new rows:

* exec latency (issue 7): "exec" below. `container` names the verbs that
  start one long-running container per runtime (here `create` + `start` of
  `sleep`), unmeasured, before that runtime's first run; every measured run
  then acts on it (`RUNTIME exec ID true`), and it is removed with
  `delete --force` when the scenario ends, also when it failed.
* cgroup-limited run (issue 5): "run-limited" below. The floor cannot apply
  limits: its rows there are its plain `run`, so nsbox's cost of limits is
  its run-limited minus its run.

Verbs are the keys of runtimes.OCI_VERBS, plus "wait": wait until the
container's init (its pid from `create --pid-file`) has exited.
"""

from dataclasses import dataclass, field
from typing import Callable

Patch = Callable[[dict], None]


def set_args(*args: str) -> Patch:
    """A patch setting process.args."""
    def patch(config: dict) -> None:
        config["process"]["args"] = list(args)
    return patch


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    steps: tuple[str, ...]           # measured, in order, per container
    setup: tuple[str, ...] = ()      # run before, not measured
    teardown: tuple[str, ...] = ()   # run after, not measured
    patch: Patch = field(default=set_args("/bin/true"))
    concurrent: bool = False         # also measured with N containers at once
    # Verbs starting one long-running container per runtime (not measured);
    # `steps` then act on it in every run; deleted (--force) at the end.
    container: tuple[str, ...] = ()

    def verbs(self) -> set[str]:
        used = self.container + self.setup + self.steps + self.teardown
        return set(used + (("delete-force",) if self.container else ())) - {"wait"}


def with_limits(config: dict) -> None:
    """/bin/true with memory, pids and cpu limits (what engines typically send)."""
    set_args("/bin/true")(config)
    config["linux"].setdefault("resources", {}).update({
        "memory": {"limit": 256 << 20, "reservation": 128 << 20},
        "pids": {"limit": 128},
        "cpu": {"shares": 512, "quota": 100000, "period": 100000},
    })


SCENARIOS = (
    Scenario("run", "`run` of /bin/true", steps=("run",), concurrent=True),
    Scenario("run-limited", "`run` of /bin/true with memory, pids and cpu limits",
             steps=("run",), patch=with_limits),
    Scenario("lifecycle", "`create` + `start` + `delete` of /bin/true",
             steps=("create", "start", "wait", "delete")),
    Scenario("exec", "`exec` of true in a running container (started once: sleep)",
             steps=("exec",), container=("create", "start"),
             patch=set_args("/bin/sleep", "86400")),
)
