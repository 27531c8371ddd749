"""Results: per-runtime series, statistics, the printed tables, the targets,
the JSON file and the gnuplot chart."""

import json
import os
import shutil
import statistics
import subprocess
from dataclasses import dataclass, field
from typing import Callable

from harness import Measurement

OK, FAILING, ABSENT, NOT_APPLICABLE = "ok", "FAILING", "not installed", "n/a"


@dataclass
class Series:
    """One runtime in one scenario (at one concurrency level)."""
    status: str = OK
    error: str | None = None
    attempts: int = 0
    samples: list[Measurement] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)   # errors of failed later runs

    def record(self, m: Measurement, warm_up: bool) -> None:
        self.attempts += 1
        if not m.ok and self.attempts == 1:
            self.status, self.error = FAILING, m.error
        elif not m.ok:
            self.failures.append(m.error)
        elif not warm_up:
            self.samples.append(m)


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    value: Callable[[Measurement, int], float]   # (measurement, containers)


SEQUENTIAL_METRICS = (
    Metric("wall_ms", "wall ms", lambda m, n: m.wall_us / 1000),
    Metric("cpu_ms", "user+sys ms", lambda m, n: m.cpu_us / 1000),
    Metric("maxrss_mib", "peak RSS MiB", lambda m, n: m.maxrss_kib / 1024),
)
CONCURRENT_METRICS = (
    Metric("total_ms", "total ms", lambda m, n: m.wall_us / 1000),
    Metric("per_container_ms", "ms/container", lambda m, n: m.wall_us / 1000 / n),
    Metric("cpu_per_container_ms", "CPU ms/container", lambda m, n: m.cpu_us / 1000 / n),
    Metric("maxrss_mib", "peak RSS MiB", lambda m, n: m.maxrss_kib / 1024),
)
RATIOS = (("nsbox", "floor"), ("nsbox", "floor-cg"), ("runc", "nsbox"), ("crun", "nsbox"))


def percentile(sorted_values: list[float], q: float) -> float:
    pos = (len(sorted_values) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def summarize(values: list[float]) -> dict:
    v = sorted(values)
    med = statistics.median(v)
    return {"median": med, "p10": percentile(v, 0.1), "p90": percentile(v, 0.9),
            "mad": statistics.median(abs(x - med) for x in v), "n": len(v)}


def summaries(s: Series, metrics: tuple[Metric, ...], containers: int) -> dict:
    if not s.samples:
        return {}
    return {m.key: summarize([m.value(x, containers) for x in s.samples]) for m in metrics}


def median(s: Series, metric: Metric, containers: int = 1) -> float | None:
    st = summaries(s, (metric,), containers)
    return st[metric.key]["median"] if st else None


def ratios(series: dict[str, Series], metric: Metric) -> dict[str, float | None]:
    out = {}
    for a, b in RATIOS:
        ma = median(series[a], metric) if a in series else None
        mb = median(series[b], metric) if b in series else None
        out[f"{a}/{b}"] = ma / mb if ma and mb else None
    return out


def series_json(s: Series, metrics: tuple[Metric, ...], containers: int) -> dict:
    return {"status": s.status, "error": s.error, "failed_runs": s.failures,
            "summary": summaries(s, metrics, containers),
            "samples": [{"wall_us": m.wall_us, "cpu_us": m.cpu_us, "maxrss_kib": m.maxrss_kib}
                        for m in s.samples]}


# ---- targets (issue 3) ------------------------------------------------------

WALL, RSS = SEQUENTIAL_METRICS[0], SEQUENTIAL_METRICS[2]


def targets(seq: dict[str, dict[str, Series]]) -> list[dict]:
    run = seq.get("run", {})
    r = ratios(run, WALL) if run else {}
    rss = [median(s["nsbox"], RSS) for s in seq.values() if "nsbox" in s]
    rss = [x for x in rss if x is not None]
    return [
        target("nsbox run within 2x of the floor (wall)", r.get("nsbox/floor"), "<=", 2),
        target("nsbox run at least 4x faster than runc (wall)", r.get("runc/nsbox"), ">=", 4),
        target("nsbox peak RSS under 3 MiB (median, worst scenario)",
               max(rss) if rss else None, "<", 3),
    ]


def target(name: str, value: float | None, op: str, limit: float) -> dict:
    met = None if value is None else {"<=": value <= limit, ">=": value >= limit,
                                      "<": value < limit}[op]
    return {"target": name, "value": value, "limit": f"{op} {limit}", "met": met}


# ---- printed tables ---------------------------------------------------------

def fmt_stat(st: dict | None) -> str:
    if not st:
        return "-"
    return f"{st['median']:.2f} [{st['p10']:.2f}-{st['p90']:.2f}]"


def fmt_status(s: Series) -> str:
    text = s.status if not s.error else f"{s.status}: {s.error}"
    if s.failures:
        text += f" ({len(s.failures)} failed runs: {s.failures[0]})"
    return text


def fmt_ratio(x: float | None) -> str:
    return f"{x:.2f}x" if x else "-"


def print_sequential(title: str, series: dict[str, Series]) -> None:
    print(f"\n== {title}: median [p10-p90]")
    head = "".join(f"{m.label:>24}" for m in SEQUENTIAL_METRICS)
    print(f"{'runtime':<10}{head}  status")
    for name, s in series.items():
        st = summaries(s, SEQUENTIAL_METRICS, 1)
        cells = "".join(f"{fmt_stat(st.get(m.key)):>24}" for m in SEQUENTIAL_METRICS)
        print(f"{name:<10}{cells}  {fmt_status(s)}")
    for m in SEQUENTIAL_METRICS:
        r = ratios(series, m)
        print(f"  ratios ({m.label}): " + "  ".join(f"{k} {fmt_ratio(v)}" for k, v in r.items()))


def print_concurrency(title: str, levels: dict[int, dict[str, Series]]) -> None:
    print(f"\n== {title}, N at once: median total ms / ms per container"
          " / CPU ms per container / peak RSS MiB")
    names = list(next(iter(levels.values())))
    print(f"{'N':>4}" + "".join(f"{n:>28}" for n in names))
    for level, series in levels.items():
        cells = []
        for name in names:
            st = summaries(series[name], CONCURRENT_METRICS, level)
            cells.append(" / ".join(f"{st[m.key]['median']:.1f}" for m in CONCURRENT_METRICS)
                         if st else series[name].status)
        print(f"{level:>4}" + "".join(f"{c:>28}" for c in cells))


def print_targets(results: list[dict]) -> None:
    print("\n== targets")
    for t in results:
        verdict = "n/a" if t["met"] is None else "met" if t["met"] else "MISSED"
        value = "-" if t["value"] is None else f"{t['value']:.2f}"
        print(f"  {verdict:<7} {t['target']}: {value} ({t['limit']})")


# ---- files ------------------------------------------------------------------

def write_json(path: str, doc: dict) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, path)


def write_dat(path: str, header: list[str], rows: list[list]) -> None:
    def cell(x):
        return "NaN" if x is None else f"{x:.4f}" if isinstance(x, float) else str(x)
    with open(path, "w") as f:
        f.write("# " + " ".join(header) + "\n")
        for row in rows:
            f.write(" ".join(cell(x) for x in row) + "\n")


def write_chart_data(datadir: str, seq: dict, conc: dict, names: list[str]) -> None:
    os.makedirs(datadir, exist_ok=True)
    for m in SEQUENTIAL_METRICS:
        rows = []
        for scn, series in seq.items():
            row = [scn]
            for name in names:
                st = summaries(series[name], (m,), 1).get(m.key)
                row += [st[k] if st else None for k in ("median", "p10", "p90")]
            rows.append(row)
        write_dat(f"{datadir}/seq_{m.key}.dat", ["scenario"] + names, rows)
    levels = next(iter(conc.values()), {})
    for m in CONCURRENT_METRICS:
        rows = [[level] + [median(series[n], m, level) for n in names]
                for level, series in levels.items()]
        write_dat(f"{datadir}/conc_{m.key}.dat", ["N"] + names, rows)


def plot(script: str, datadir: str, png: str, labels: list[str], title: str,
         note: str) -> str | None:
    """Renders the chart with gnuplot; returns why not, or None."""
    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        return "gnuplot not installed (apt-get install gnuplot-nox)"
    defs = {"datadir": datadir, "out": png, "labels": " ".join(labels), "title": title,
            "note": note}
    args = [gnuplot]
    for k, v in defs.items():
        quoted = v.replace("'", "''")   # a gnuplot single-quoted string
        args += ["-e", f"{k}='{quoted}'"]
    r = subprocess.run(args + [script], capture_output=True, text=True)
    return None if r.returncode == 0 else f"gnuplot failed: {r.stderr.strip()[:300]}"
