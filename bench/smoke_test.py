#!/usr/bin/python3
"""ctest `bench_smoke`: the benchmark end to end, tiny (2 runs, concurrency 1
and 2), every scenario (exec's long-running containers included). Asserts
that it completes, nsbox works in each scenario, nothing is left behind
(state, cgroups, mounts, the exec containers' processes) and the JSON is
valid and complete (and the chart written when gnuplot is installed). No
timing thresholds. Usage: smoke_test.py --build-dir BUILD --out DIR"""

import argparse
import json
import os
import shutil
import subprocess
import sys

from scenarios import SCENARIOS

HERE = os.path.dirname(os.path.abspath(__file__))
STATUSES = {"ok", "FAILING", "not installed", "n/a"}
LEVELS = ("1", "2")


def run_bench(build: str, out: str) -> None:
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, f"{HERE}/nsbench.py", "--build-dir", build, "--out", out,
           "--runs", "2", "--warmup", "1", "--concurrency", ",".join(LEVELS),
           "--concurrency-runs", "1"]
    r = subprocess.run(cmd, timeout=50)
    assert r.returncode == 0, f"nsbench exited {r.returncode}"


def check_series(where: str, s: dict, runs: int) -> None:
    assert s["status"] in STATUSES, f"{where}: status {s['status']!r}"
    if s["status"] == "FAILING":
        assert s["error"], f"{where}: FAILING without an error message"
    if s["status"] == "ok":
        done = len(s["samples"]) + len(s["failed_runs"])
        assert done == runs, f"{where}: {done} runs, not {runs}"
        for stat in s["summary"].values():
            assert stat["p10"] <= stat["median"] <= stat["p90"], f"{where}: {stat}"


def check_doc(doc: dict) -> None:
    names = set(doc["runtimes"])
    assert set(doc["scenarios"]) == {s.name for s in SCENARIOS}, set(doc["scenarios"])
    assert {"floor", "floor-cg", "nsbox", "runc", "crun"} <= names, names
    for name, scn in doc["scenarios"].items():
        assert set(scn["results"]) == names, f"{name}: runtimes {set(scn['results'])}"
        assert scn["results"]["nsbox"]["status"] == "ok", f"{name}: nsbox {scn['results']['nsbox']}"
        for rt, s in scn["results"].items():
            check_series(f"{name}/{rt}", s, 2)
    for name, levels in doc["concurrency"].items():
        assert tuple(levels) == LEVELS, f"concurrency {name}: levels {list(levels)}"
        for level, series in levels.items():
            for rt, s in series.items():
                check_series(f"concurrency {name} N={level}/{rt}", s, 1)
    assert "run" in doc["concurrency"], "no concurrency results for run"
    assert doc["leaks"] == [], doc["leaks"]
    assert len(doc["targets"]) == 3, doc["targets"]


def sleepers() -> set[int]:
    """Pids of the exec scenario's container inits (its patched process.args)."""
    scn = next(s for s in SCENARIOS if s.container)
    config = {"process": {}}
    scn.patch(config)
    want = "\0".join(config["process"]["args"]) + "\0"
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline") as f:
                if f.read() == want:
                    found.add(int(pid))
        except OSError:
            pass
    return found


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    before = sleepers()
    run_bench(args.build_dir, args.out)
    left = sleepers() - before
    assert not left, f"exec containers' processes left running: {sorted(left)}"
    with open(f"{args.out}/bench.json") as f:
        doc = json.load(f)
    check_doc(doc)
    if shutil.which("gnuplot"):
        assert doc["chart"] and os.path.getsize(doc["chart"]) > 0, doc["chart_error"]
    print("bench smoke test: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
