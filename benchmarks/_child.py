"""Run one case of one benchmark in this (fresh) process and write what happened as JSON.

``python -m benchmarks._child BENCH SCALE WORKDIR CASE RESULT_JSON [ANSWER_DIR] [--profile]``

Only ``case.work()`` is timed. The peak is this process's maximum resident set size
(``getrusage(RUSAGE_SELF).ru_maxrss``), so each case's peak is its own; ``baseline`` is the
resident size just before the work (interpreter, imports, setup).
"""

from __future__ import annotations

import cProfile
import gc
import importlib
import io
import json
import pstats
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from benchmarks import load, missing_modules, with_hint


def _rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()


def _profile_text(prof: cProfile.Profile, top: int = 15) -> str:
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(top)
    lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
    start = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls")), 0)
    return "\n".join(lines[start : start + top + 1])


def run_case(bench: str, scale: str, workdir: Path, name: str, *, answer_dir: Path | None,
             profile: bool = False) -> dict[str, Any]:  # fmt: skip
    mod = load(bench)
    mod.setup(scale, workdir)
    cases = mod.run()
    if name not in cases:
        return {"status": "error", "error": f"no case {name!r}; cases: {', '.join(cases)}"}
    case = cases[name]
    missing = missing_modules(case.requires)
    if missing:
        return {"status": "not installed", "error": "; ".join(with_hint(m) for m in missing)}
    for module in case.requires:  # imports are not the workload
        importlib.import_module(module)
    if case.prepare is not None:  # nor is loading compiled code
        case.prepare()
    gc.collect()
    base = _rss()
    prof = cProfile.Profile() if profile else None
    t0 = time.perf_counter()
    if prof is not None:
        prof.enable()
    raw = case.work()
    if prof is not None:
        prof.disable()
    secs = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out: dict[str, Any] = {"status": "ok", "seconds": secs, "peak": peak, "baseline": base}
    if prof is not None:
        out["profile"] = _profile_text(prof)
    if answer_dir is not None:
        answer_dir.mkdir(parents=True, exist_ok=True)
        files = {}
        for table, frame in case.answer(raw).items():
            path = answer_dir / f"{table}.parquet"
            frame.write_parquet(path)
            files[table] = str(path)
        out["answer"] = files
    return out


def main(argv: list[str]) -> int:
    profile = "--profile" in argv
    args = [a for a in argv if a != "--profile"]
    bench, scale, workdir, name, result = args[:5]
    answer_dir = Path(args[5]) if len(args) > 5 else None
    try:
        out = run_case(bench, scale, Path(workdir), name, answer_dir=answer_dir, profile=profile)
    except MemoryError:
        out = {"status": "failed", "error": "MemoryError"}
    except Exception as err:  # noqa: BLE001 - reported to the runner, which carries on
        out = {
            "status": "failed",
            "error": f"{type(err).__name__}: {err}",
            "traceback": traceback.format_exc(),
        }
    Path(result).write_text(json.dumps(out), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
