"""``python -m benchmarks [--scale tiny|small|full] [--only B1,B2] [--repeat N] [--out docs/benchmarks.md]``"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from pathlib import Path

from benchmarks import REGISTRY, SCALES, WORKDIR


def _args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--scale", choices=SCALES, default="full", help="data size (default: full)")
    p.add_argument(
        "--only", default="", help=f"comma-separated benchmarks (default: all: {','.join(REGISTRY)})"
    )
    p.add_argument(
        "--repeat", type=int, default=None, help="runs per case (default: 5 at full scale, else 1)"
    )
    p.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"), help="Markdown report to write")
    p.add_argument("--workdir", type=Path, default=WORKDIR, help="where generated data is cached")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds before one run of a case is killed")
    p.add_argument("--mem-limit-gib", type=float, default=20.0, help="a case using more memory is killed")
    p.add_argument(
        "--slow", type=float, default=60.0, help="seconds: a case whose first run takes longer is slow"
    )
    p.add_argument("--slow-runs", type=int, default=3, help="runs of a slow case at most (default 3)")
    p.add_argument(
        "--no-profile", action="store_true", help="do not profile the workbench where a target is missed"
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    a = _args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("benchmarks").setLevel(logging.INFO)
    from benchmarks.report import render, write
    from benchmarks.runner import run_benchmark

    ids = [b.strip().upper() for b in a.only.split(",") if b.strip()] or list(REGISTRY)
    unknown = [b for b in ids if b not in REGISTRY]
    if unknown:
        print(
            f"unknown benchmark(s) {', '.join(unknown)}; the benchmarks are {', '.join(REGISTRY)}",
            file=sys.stderr,
        )
        return 2
    repeat = a.repeat if a.repeat is not None else (5 if a.scale == "full" else 1)
    if repeat < 1:
        print("--repeat must be at least 1", file=sys.stderr)
        return 2
    started, load0 = dt.datetime.now(dt.UTC), os.getloadavg()
    results = [run_benchmark(b, scale=a.scale, repeat=repeat, workdir=a.workdir, timeout=a.timeout,
                             mem_limit=int(a.mem_limit_gib * 2**30), profile_missed=not a.no_profile,
                             slow=a.slow, slow_runs=a.slow_runs)
               for b in ids]  # fmt: skip
    command = "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:])
    text = render(
        results,
        scale=a.scale,
        started=started,
        load=(load0, os.getloadavg()),
        command=command.strip(),
        slow=(a.slow, a.slow_runs),
    )
    path = write(a.out, text)
    print(f"wrote {path}")
    for res in results:
        for c in res.checks:
            print(
                f"{res.bench} {c.target}: {'met' if c.met else 'missed' if c.met is False else 'reported'} ({c.detail})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
