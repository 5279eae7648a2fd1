"""``docs/benchmarks.md``: the machine, the versions, a table per benchmark, the targets."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
from pathlib import Path

from benchmarks import REGISTRY
from benchmarks.runner import BenchResult

__all__ = ["machine", "render", "versions", "write"]

PACKAGES = ("polars", "pandas", "duckdb", "numpy", "pyarrow", "kubernetes", "drain3")


def machine() -> dict[str, str]:
    """Cores, RAM and CPU model (from /proc), OS and load."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kib = next(int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
                       if ln.startswith("MemTotal"))  # fmt: skip
        ram = f"{mem_kib / 2**20:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        ram = "unknown"
    return {
        "CPU": model,
        "cores": f"{len(os.sched_getaffinity(0))} usable ({os.cpu_count()} online)",
        "RAM": ram,
        "OS": f"{platform.system()} {platform.release()}",
    }


def versions() -> dict[str, str]:
    """Python and the engines' versions ("not installed" when absent)."""
    out = {"python": platform.python_version()}
    for pkg in PACKAGES:
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _s(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def _mark(*, met: bool | None) -> str:
    return {True: "**met**", False: "**missed**", None: "reported"}[met]


def _table(res: BenchResult) -> list[str]:
    lines = [
        "| case | median s | min s | peak MiB | ratio vs ours | runs |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    ours = {r.case.group: r.median for r in res.cases.values() if r.case.ours}
    for r in res.cases.values():
        name = f"{r.case.name}{' (ours)' if r.case.ours else ''}"
        if r.status != "ok" or r.median is None:
            peak = f"{r.peak / 2**20:,.0f}" if r.peak else "–"
            lines.append(f"| {name} | {r.status}: {r.error} | | {peak} | | {len(r.times)} |")
            continue
        base = ours.get(r.case.group)
        ratio = "1×" if r.case.ours else (f"{r.median / base:.1f}×" if base else "–")
        lines.append(
            f"| {name} | {_s(r.median)} | {_s(r.best)} | {r.peak / 2**20:,.0f} | {ratio} | {len(r.times)} |"
        )
    return lines


def render(results: list[BenchResult], *, scale: str, started: dt.datetime, load: tuple[tuple[float, ...], ...],
           command: str, slow: tuple[float, int] = (60.0, 3)) -> str:  # fmt: skip
    """The whole Markdown document."""
    out = [
        "# Benchmarks",
        "",
        f"Written by `{command}` on {started:%Y-%m-%d %H:%M} UTC, scale **{scale}**. Every case runs in its own",
        "fresh process (imports and data set-up are not timed), the cases of a benchmark interleaved; *median*",
        "and *min* are over the runs, *peak* is the case process's maximum resident set size (interpreter and",
        "imports included), *ratio* is the case's median over the workbench's median for the same work",
        "(above 1×: the workbench is faster). Every case's answer is checked against the workbench's.",
        f"A case whose first run takes over {slow[0]:g} s runs at most {slow[1]} time(s) (column *runs*).",
        "",
        "## Machine",
        "",
        *[f"- {k}: {v}" for k, v in machine().items()],
        f"- load average (1, 5, 15 min) at start {', '.join(f'{x:.1f}' for x in load[0])}; "
        f"at end {', '.join(f'{x:.1f}' for x in load[1])} (other work on the machine slows every case alike)",
        "",
        "## Versions",
        "",
        ", ".join(f"{k} {v}" for k, v in versions().items()),
        "",
        "## Summary",
        "",
        "| | workload | target | result |",
        "|---|---|---|---|",
    ]
    for res in results:
        for c in res.checks:
            out.append(
                f"| {res.bench} | {res.module.SPEC.title} | {c.target} | {_mark(met=c.met)}: {c.detail} |"
            )
    for res in results:
        spec = res.module.SPEC
        out += ["", f"## {res.bench}: {spec.title}", "", f"**Workload:** {spec.workload}. ",
                f"**Compared with:** {spec.compared_with}. ", f"**Target:** {spec.target}.", "",
                f"**Data:** {res.data} (set-up {res.setup_seconds:.1f} s, cached under `benchmarks/data/`).", ""]  # fmt: skip
        out += _table(res)
        notes = [f"- {r.case.name}: {r.case.note}" for r in res.cases.values() if r.case.note]
        if notes:
            out += ["", *notes]
        out += [
            "",
            "**Same answers:** " + ("; ".join(res.agreement) if res.agreement else "nothing to compare"),
            "",
        ]
        out += ["**Targets:**", "", *[f"- {c.target}: {_mark(met=c.met)} ({c.detail})" for c in res.checks]]
        doc = (res.module.__doc__ or "").strip()
        if doc:
            out += ["", "<details><summary>How each engine computes it</summary>", "", doc, "", "</details>"]
        bounds = getattr(res.module, "BOUNDS", "")
        if bounds and any(c.met is False for c in res.checks):
            out += ["", "**What bounds it:**", "", bounds.strip()]
        for r in res.cases.values():
            if r.profile:
                out += ["", f"Profile of {r.case.name} (cProfile, cumulative):", "", "```", r.profile, "```"]
    missing = [b for b in REGISTRY if b not in {r.bench for r in results}]
    out += ["", "## Not in this run", "", (", ".join(missing) if missing else "nothing"), ""]
    return "\n".join(out)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
