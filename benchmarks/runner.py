"""The runner: data set-up, interleaved runs of every case in fresh processes, agreement
checks and targets. :func:`run_benchmark` returns a :class:`BenchResult` for the report."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl
import psutil

from benchmarks import Case, Check, load, missing_modules, with_hint
from benchmarks.compare import agree

__all__ = ["BenchResult", "CaseResult", "run_benchmark"]

log = logging.getLogger(__name__)


@dataclasses.dataclass
class CaseResult:
    """What the runs of one case gave."""

    case: Case
    times: list[float] = dataclasses.field(default_factory=list)
    peak: int = 0
    baseline: int = 0
    status: str = "ok"
    error: str = ""
    answer: dict[str, str] | None = None
    profile: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None

    @property
    def best(self) -> float | None:
        return min(self.times) if self.times else None


@dataclasses.dataclass
class BenchResult:
    """One benchmark's results."""

    bench: str
    module: Any
    data: str
    setup_seconds: float
    cases: dict[str, CaseResult]
    agreement: list[str]
    checks: list[Check]
    repeat: int


def _child(bench: str, scale: str, workdir: Path, name: str, *, answer_dir: Path | None, timeout: float,
           mem_limit: int, profile: bool = False) -> dict[str, Any]:  # fmt: skip
    """Run one case in a fresh interpreter, watching its memory; kill it past ``mem_limit``."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        result = Path(fh.name)
    cmd = [sys.executable, "-m", "benchmarks._child", bench, scale, str(workdir), name, str(result)]
    if answer_dir is not None:
        cmd.append(str(answer_dir))
    if profile:
        cmd.append("--profile")
    root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    }
    proc = subprocess.Popen(cmd, cwd=root, env=env)
    watched = psutil.Process(proc.pid)
    t0, seen, why = time.monotonic(), 0, ""
    try:
        while proc.poll() is None:
            try:
                seen = max(seen, watched.memory_info().rss)
            except psutil.Error:
                pass
            if seen > mem_limit:
                why = f"killed: over the {mem_limit / 2**30:.1f} GiB memory limit"
            elif time.monotonic() - t0 > timeout:
                why = f"killed: over the {timeout:.0f} s time limit"
            if why:
                proc.kill()
                proc.wait()
                break
            time.sleep(0.05)
        if why:
            return {"status": "failed", "error": why, "peak": seen}
        if proc.returncode != 0 or not result.stat().st_size:
            return {"status": "failed", "error": f"the case's process exited with code {proc.returncode}"}
        out = json.loads(result.read_text(encoding="utf-8"))
        if out.get("status") == "ok":
            out["peak"] = max(out["peak"], seen)
        return out
    finally:
        result.unlink(missing_ok=True)


def _order(names: list[str], rep: int, fallbacks: set[str]) -> list[str]:
    """Rotate the cases each repetition, so no case always runs first (cold caches) or last;
    fallback cases (``only_if_failed``) come after the cases they stand in for."""
    main = [n for n in names if n not in fallbacks]
    k = rep % len(main) if main else 0
    return main[k:] + main[:k] + [n for n in names if n in fallbacks]


def _agreement(cases: dict[str, CaseResult]) -> list[str]:
    """Compare each checked case's answer with its group's workbench case (or the first)."""
    lines = []
    groups: dict[str, list[CaseResult]] = {}
    for r in cases.values():
        if r.case.check and r.answer:
            groups.setdefault(r.case.group, []).append(r)
    for group, members in groups.items():
        ref = next((m for m in members if m.case.ours), members[0])
        ref_ans = {t: pl.read_parquet(p) for t, p in (ref.answer or {}).items()}
        for m in members:
            if m is ref:
                continue
            problems = agree(ref_ans, {t: pl.read_parquet(p) for t, p in (m.answer or {}).items()})
            verdict = "same answer" if not problems else "DIFFERENT: " + "; ".join(problems[:3])
            lines.append(f"{group}: {m.case.engine} vs {ref.case.engine}: {verdict}")
    return lines


def _skip(r: CaseResult, results: dict[str, CaseResult], slow: float, slow_runs: int, rep: int) -> bool:
    if r.status != "ok":
        return True
    if r.case.only_if_failed is not None:
        other = results.get(r.case.only_if_failed)
        if other is None or other.status == "ok":
            r.status, r.error = "not needed", f"runs only if {r.case.only_if_failed} cannot"
            return True
    # a case slower than ``slow`` seconds runs at most ``slow_runs`` times
    return rep >= slow_runs and bool(r.times) and r.times[0] > slow


def run_benchmark(bench: str, *, scale: str, repeat: int, workdir: Path, timeout: float = 1800.0,
                  mem_limit: int = 20 * 2**30, profile_missed: bool = True, slow: float = 60.0,
                  slow_runs: int = 3) -> BenchResult:  # fmt: skip
    """Set up ``bench`` at ``scale`` and run each of its cases ``repeat`` times, interleaved
    (a case whose first run took over ``slow`` seconds: ``slow_runs`` times at most)."""
    mod = load(bench)
    t0 = time.perf_counter()
    mod.setup(scale, workdir)
    setup_s = time.perf_counter() - t0
    cases = mod.run()
    results = {name: CaseResult(case) for name, case in cases.items()}
    for r in results.values():
        missing = missing_modules(r.case.requires)
        if missing:
            r.status, r.error = "not installed", "; ".join(with_hint(m) for m in missing)
    answers = Path(tempfile.mkdtemp(prefix=f"bench-{bench}-answers-"))
    names = list(results)
    for rep in range(repeat):
        for name in _order(names, rep, {n for n, r in results.items() if r.case.only_if_failed}):
            r = results[name]
            if _skip(r, results, slow, slow_runs, rep):
                continue
            adir = answers / f"{names.index(name):02d}" if rep == 0 else None
            log.info("%s %s: run %d/%d of %s", bench, scale, rep + 1, repeat, name)
            out = _child(bench, scale, workdir, name, answer_dir=adir, timeout=timeout, mem_limit=mem_limit)
            if out.get("status") != "ok":
                r.status, r.error = out.get("status", "failed"), out.get("error", "")
                r.peak = max(r.peak, int(out.get("peak", 0)))
                log.warning("%s: %s (%s)", name, r.status, r.error)
                if out.get("traceback"):
                    log.warning("%s", out["traceback"])
                continue
            r.times.append(out["seconds"])
            r.peak, r.baseline = max(r.peak, out["peak"]), max(r.baseline, out["baseline"])
            if out.get("answer"):
                r.answer = out["answer"]
            log.info("%s: %.3f s, peak %.0f MiB", name, out["seconds"], out["peak"] / 2**20)
    medians = {n: r.median for n, r in results.items() if r.median is not None}
    checks = mod.judge(medians, {n: r.peak for n, r in results.items() if r.median is not None})
    if scale != "full":  # the targets are about the full sizes; small data mostly measures start-up costs
        checks = [Check(c.target, None, f"{c.detail}; judged at full scale only") for c in checks]
    # cProfile only helps where the time is spent in Python (a module says so with PROFILE = True)
    if profile_missed and getattr(mod, "PROFILE", False) and any(c.met is False for c in checks):
        for r in results.values():
            if r.case.ours and r.status == "ok":
                out = _child(bench, scale, workdir, r.case.name, answer_dir=None, timeout=timeout,
                             mem_limit=mem_limit, profile=True)  # fmt: skip
                r.profile = out.get("profile", "")
    agreement = _agreement(results)
    shutil.rmtree(answers, ignore_errors=True)
    return BenchResult(bench, mod, mod.describe(), setup_s, results, agreement, checks, repeat)
