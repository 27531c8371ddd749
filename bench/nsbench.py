#!/usr/bin/python3
"""nsbench: start-up latency and memory of nsbox against runc, crun and the
kernel floor (bench/floor.cpp), on the default busybox bundle with the config
`nsbox spec` writes (process.args ["/bin/true"]) - the same for every runtime -
and exec latency (`RUNTIME exec ID true` in a container started once).

For every scenario (scenarios.py) and runtime: warm-up runs, then --runs
measured runs, the runtimes alternating run by run (rotating the order each
round) so that machine drift cancels out. Concurrent scenarios are then
measured with N containers at once for every N of --concurrency. Each
measurement is one nsbox_bench_measure process: wall time, user+sys CPU and
peak RSS of the runtime's whole process tree (wait4 rusage).

Prints the tables, writes OUT/bench.json and OUT/bench.png, and exits 1 when
nsbox failed or something was left behind. Needs root.
"""

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import report
from harness import Harness
from report import ABSENT, NOT_APPLICABLE, OK, Series
from runtimes import Bundle, Runtime, discover
from scenarios import SCENARIOS, Scenario

HERE = os.path.dirname(os.path.abspath(__file__))
RUNTIME_NAMES = ("floor", "floor-cg", "nsbox", "runc", "crun")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build-dir", default="build",
                   help="CMake build directory (nsbox, bench/nsbox_floor, "
                        "bench/nsbox_bench_measure, bundle/rootfs); default: build")
    p.add_argument("--nsbox", help="the nsbox binary (default: BUILD/nsbox)")
    p.add_argument("--out", help="results directory (default: BUILD/bench/results)")
    p.add_argument("--runs", type=int, default=50, help="measured sequential runs (default 50)")
    p.add_argument("--warmup", type=int, default=5, help="warm-up runs (default 5)")
    p.add_argument("--concurrency", type=levels, default="1,8,32,128",
                   help="containers at once, comma-separated (default 1,8,32,128)")
    p.add_argument("--concurrency-runs", type=int, default=5,
                   help="measured runs per concurrency level (default 5)")
    p.add_argument("--settle-ms", type=float, default=50,
                   help="pause before each measurement so that the kernel's deferred work of "
                        "the previous one (namespace and cgroup teardown) is done (default 50)")
    p.add_argument("--runtimes", type=names, default=",".join(RUNTIME_NAMES),
                   help=f"default {','.join(RUNTIME_NAMES)}")
    p.add_argument("--scenarios", type=names, default=",".join(s.name for s in SCENARIOS),
                   help=f"default {','.join(s.name for s in SCENARIOS)}")
    args = p.parse_args(argv)
    build = os.path.abspath(args.build_dir)
    args.nsbox = os.path.abspath(args.nsbox or f"{build}/nsbox")
    args.floor = f"{build}/bench/nsbox_floor"
    args.measurer = f"{build}/bench/nsbox_bench_measure"
    args.rootfs = f"{build}/bundle/rootfs"
    args.out = os.path.abspath(args.out or f"{build}/bench/results")
    return args


def levels(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def names(text: str) -> list[str]:
    return [x for x in text.split(",") if x]


def check_inputs(args: argparse.Namespace) -> None:
    if os.geteuid() != 0:
        sys.exit("nsbench: needs root (namespaces, mounts, cgroups)")
    for path in (args.nsbox, args.floor, args.measurer, args.rootfs):
        if not os.path.exists(path):
            sys.exit(f"nsbench: {path} missing (build first: make bench, or "
                     f"cmake --build BUILD --target bench_tools)")
    unknown = set(args.scenarios) - {s.name for s in SCENARIOS}
    if unknown:
        sys.exit(f"nsbench: unknown scenario(s): {', '.join(sorted(unknown))}")


def make_bundle(nsbox: str, rootfs: str, path: str, scn: Scenario) -> Bundle:
    """A copy of the busybox rootfs and the config `nsbox spec` writes, patched."""
    shutil.copytree(rootfs, f"{path}/rootfs", symlinks=True)
    spec = subprocess.run([nsbox, "spec"], cwd=path, capture_output=True, text=True)
    if spec.returncode != 0:
        sys.exit(f"nsbench: `{nsbox} spec` failed: {spec.stderr.strip()}")
    with open(f"{path}/config.json") as f:
        config = json.load(f)
    scn.patch(config)
    with open(f"{path}/config.json", "w") as f:
        json.dump(config, f, indent=2)
    return Bundle(path, tuple(config["process"]["args"]))


def initial_series(runtimes: list[Runtime], scn: Scenario) -> dict[str, Series]:
    def status(rt: Runtime) -> str:
        if not rt.installed:
            return ABSENT
        return OK if rt.supports(scn.verbs()) else NOT_APPLICABLE
    return {rt.name: Series(status(rt)) for rt in runtimes}


def measure_rounds(args, harness: Harness, runtimes: list[Runtime], scn: Scenario, bundle: Bundle,
                   series: dict[str, Series], runs: int, warmup: int, jobs: int = 1) -> None:
    """warmup + runs rounds; each round every working runtime once, in an
    order rotated round by round."""
    active = [rt for rt in runtimes if series[rt.name].status == OK]
    for r in range(-warmup, runs):
        k = r % len(active) if active else 0
        for rt in active[k:] + active[:k]:
            if series[rt.name].status == OK:
                time.sleep(args.settle_ms / 1000)
                series[rt.name].record(harness.measure(rt, scn, bundle, jobs), warm_up=r < 0)


def progress(text: str) -> None:
    print(f"[nsbench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def run_sequential(args, harness, runtimes, scn, bundle) -> dict[str, Series]:
    progress(f"{scn.name}: {args.warmup} warm-up + {args.runs} runs per runtime")
    series = initial_series(runtimes, scn)
    try:
        measure_rounds(args, harness, runtimes, scn, bundle, series, args.runs, args.warmup)
    finally:
        harness.stop_containers()   # a scenario's long-running containers (exec)
    return series


def run_concurrent(args, harness, runtimes, scn, bundle,
                   sequential: dict[str, Series]) -> dict[int, dict[str, Series]]:
    out = {}
    for level in args.concurrency:
        progress(f"{scn.name}: {level} at once, {args.concurrency_runs} runs per runtime")
        series = {name: Series(s.status, s.error) for name, s in sequential.items()}
        try:
            measure_rounds(args, harness, runtimes, scn, bundle, series, args.concurrency_runs, 0,
                           level)
        finally:
            harness.stop_containers()
        out[level] = series
    return out


def chart(args, runtimes: list[Runtime], seq, conc, doc: dict) -> str | None:
    """Writes OUT/bench.png; returns why not, or None. Runtimes never measured
    are named with their status under the title instead of drawn."""
    measured = [rt.name for rt in runtimes if any(s[rt.name].samples for s in seq.values())]
    if not measured:
        return "nothing was measured"
    missing = [f"{rt.name}: {report.fmt_status(seq_status(seq, rt.name))}"
               for rt in runtimes if rt.name not in measured]
    report.write_chart_data(f"{args.out}/data", seq, conc, measured)
    return report.plot(f"{HERE}/plot.gp", f"{args.out}/data", f"{args.out}/bench.png",
                       measured, chart_title(doc), "; ".join(missing))


def seq_status(seq: dict[str, dict[str, Series]], name: str) -> Series:
    """The first non-"n/a" series of a runtime, for its status."""
    all_series = [s[name] for s in seq.values()]
    return next((s for s in all_series if s.status != NOT_APPLICABLE), all_series[0])


def meta(args: argparse.Namespace) -> dict:
    return {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": platform.node(),
            "kernel": platform.release(), "cpus": os.cpu_count(), "runs": args.runs,
            "warmup": args.warmup, "concurrency": args.concurrency,
            "concurrency_runs": args.concurrency_runs,
            "config": "nsbox spec, process.args patched per scenario",
            "method": "one nsbox_bench_measure (subreaper) per measurement; "
                      "getrusage(RUSAGE_CHILDREN)"}


def document(args, runtimes, scenarios, seq, conc, targets, leaks) -> dict:
    metrics = report.SEQUENTIAL_METRICS
    return {
        "meta": meta(args),
        "runtimes": {rt.name: {"binary": rt.binary, "installed": rt.installed,
                               "version": rt.version()} for rt in runtimes},
        "scenarios": {scn.name: {
            "title": scn.title, "steps": list(scn.steps),
            "results": {n: report.series_json(s, metrics, 1) for n, s in seq[scn.name].items()},
            "ratios": {m.key: report.ratios(seq[scn.name], m) for m in metrics},
        } for scn in scenarios},
        "concurrency": {name: {str(level): {
            n: report.series_json(s, report.CONCURRENT_METRICS, level) for n, s in series.items()}
            for level, series in levels.items()} for name, levels in conc.items()},
        "targets": targets,
        "leaks": leaks,
    }


def measure_all(args, workdir: str, runtimes: list[Runtime], scenarios: list[Scenario]):
    harness = Harness(args.measurer, workdir, f"nsb{os.getpid()}")
    seq, conc = {}, {}
    try:
        bundles = {s.name: make_bundle(args.nsbox, args.rootfs, f"{workdir}/bundles/{s.name}", s)
                   for s in scenarios}
        for scn in scenarios:
            seq[scn.name] = run_sequential(args, harness, runtimes, scn, bundles[scn.name])
        for scn in (s for s in scenarios if s.concurrent):
            conc[scn.name] = run_concurrent(args, harness, runtimes, scn, bundles[scn.name],
                                            seq[scn.name])
    finally:
        leaks = harness.leaks(runtimes)
    return seq, conc, leaks


def output(args, runtimes, scenarios, seq, conc, leaks) -> None:
    for scn in scenarios:
        report.print_sequential(f"{scn.name}: {scn.title}", seq[scn.name])
    for name, levels in conc.items():
        report.print_concurrency(f"concurrent {name}", levels)
    targets = report.targets(seq)
    report.print_targets(targets)
    os.makedirs(args.out, exist_ok=True)
    doc = document(args, runtimes, scenarios, seq, conc, targets, leaks)
    png = f"{args.out}/bench.png"
    why_not = chart(args, runtimes, seq, conc, doc)
    doc["chart"], doc["chart_error"] = (None, why_not) if why_not else (png, None)
    report.write_json(f"{args.out}/bench.json", doc)
    chart_note = f" ({why_not})" if why_not else f", chart: {png}"
    print(f"\nresults: {args.out}/bench.json{chart_note}")


def chart_title(doc: dict) -> str:
    r = doc["scenarios"].get("run", {}).get("ratios", {}).get("wall_ms", {})
    ratios = ", ".join(f"{k} {v:.2f}x" for k, v in r.items() if v)
    return f"nsbench {doc['meta']['date'][:10]} on {doc['meta']['kernel']}" + \
        (f" - run wall: {ratios}" if ratios else "")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    # SIGTERM (e.g. a timeout) unwinds like an error: containers, roots and
    # scratch directories are still removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    check_inputs(args)
    scenarios = [s for s in SCENARIOS if s.name in args.scenarios]
    # Bundles, pid files and stderr under /tmp; the runtimes' --root dirs
    # under /run, where their defaults (/run/nsbox, /run/runc, ...) are.
    workdir = tempfile.mkdtemp(prefix="nsbench-")
    roots = tempfile.mkdtemp(prefix="nsbench-", dir="/run" if os.path.isdir("/run") else None)
    try:
        runtimes = discover(args.nsbox, args.floor, roots, args.runtimes)
        seq, conc, leaks = measure_all(args, workdir, runtimes, scenarios)
    finally:
        for d in (workdir, roots):
            shutil.rmtree(d, ignore_errors=True)
    output(args, runtimes, scenarios, seq, conc, leaks)
    for leak in leaks:
        print(f"LEFT BEHIND: {leak}", file=sys.stderr)
    nsbox_ok = all(s["nsbox"].status == OK for s in seq.values() if "nsbox" in s)
    return 0 if nsbox_ok and not leaks else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
