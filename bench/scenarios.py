"""The scenario table: what the benchmark measures.

A scenario is a sequence of runtime verbs measured per container, on a bundle
whose config.json is the one `nsbox spec` writes with `patch` applied - the
same config for every runtime. New measurements slot in as new rows:

* exec latency (issue 7): a long-running container is set up unmeasured and
  `exec` is measured, e.g.
      Scenario("exec", "`exec` of /bin/true in a running container",
               steps=("exec",), setup=("create", "start"),
               teardown=("delete-force",), patch=set_args("/bin/sleep", "1000"))
  plus an "exec" entry in runtimes.OCI_VERBS.
* cgroup-limited run (issue 5): `run` with a config that sets limits, e.g.
      Scenario("run-limited", "`run` of /bin/true with cgroup limits",
               steps=("run",), patch=with_limits)

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

    def verbs(self) -> set[str]:
        return set(self.setup + self.steps + self.teardown) - {"wait"}


SCENARIOS = (
    Scenario("run", "`run` of /bin/true", steps=("run",), concurrent=True),
    Scenario("lifecycle", "`create` + `start` + `delete` of /bin/true",
             steps=("create", "start", "wait", "delete")),
)
