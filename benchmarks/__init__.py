"""Benchmarks: the workbench against the tools people use today, on the same data, side by side.

Run them with ``python -m benchmarks [--scale tiny|small|full] [--only B1,B2] [--repeat N]
[--out docs/benchmarks.md]``; the results land in ``docs/benchmarks.md``.

**A benchmark is a module** listed in :data:`REGISTRY` with

- ``SPEC`` (:class:`Spec`): what is measured, against what, and the target;
- ``setup(scale, workdir)``: makes (or finds cached) the data for ``scale`` under ``workdir``;
  fast when cached, because every measured case runs it again in its own process;
- ``run() -> dict[str, Case]``: the cases (:class:`Case`), keyed by :attr:`Case.name`;
- ``judge(medians, peaks) -> list[Check]``: the target, met or missed, from the cases' median
  seconds and peak bytes (keyed by case name; a case that did not run is absent);
- ``describe() -> str``: one line about the data at this scale (rows, bytes on disk);
- optionally ``BOUNDS`` (Markdown shown when a target is missed: what bounds the workbench,
  with the figures) and ``PROFILE = True`` (cProfile the workbench cases then: useful where
  their time is Python).

Cases of one ``group`` compute the same answer in different engines; the runner times them
interleaved, each run in a fresh process (peak memory per case), and checks that their answers
agree. Adding a benchmark (B5 dashboard, B6 report…) is a new module and a line in
:data:`REGISTRY`.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import polars as pl

__all__ = [
    "REGISTRY",
    "REALDATA",
    "SCALES",
    "WORKDIR",
    "Answer",
    "Case",
    "Check",
    "Spec",
    "load",
    "missing_modules",
]

#: Benchmark id → module.
REGISTRY: dict[str, str] = {
    "B1": "benchmarks.b1_rightsizing",
    "B2": "benchmarks.b2_hitmap",
    "B3": "benchmarks.b3_ingest",
    "B4": "benchmarks.b4_logs",
    "B5": "benchmarks.b5_dashboard",
    "B6": "benchmarks.b6_report",
    "B7": "benchmarks.b7_streaming",
}

SCALES = ("tiny", "small", "full")

#: Where generated data is cached (git-ignored).
WORKDIR = Path(__file__).resolve().parent / "data"

#: Real samples recorded from clusters (``<repo>/../shared/realdata``), used to seed B3 and B4.
REALDATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "realdata"

#: A case's answer in comparable form: named tables.
Answer = dict[str, pl.DataFrame]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Spec:
    """What a benchmark measures."""

    id: str
    title: str
    workload: str
    compared_with: str
    target: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class Case:
    """One way of computing a group's answer.

    ``work`` is timed and returns the raw result; ``answer`` (untimed) turns it into named
    tables that :func:`benchmarks.compare.agree` compares across the cases of the group.
    ``requires`` lists modules that must import (a missing one: reported "not installed");
    they are imported before the clock starts, and then ``prepare`` is called (untimed, like
    the imports: e.g. loading compiled code once per process).
    ``ours`` marks the workbench case the others' ratios refer to; ``check=False`` leaves a
    case out of the agreement check (it computes something different on purpose);
    ``only_if_failed`` names a case: this one runs only when that one could not (e.g. pandas
    on part of the data when the whole does not fit in memory).
    """

    group: str
    engine: str
    work: Callable[[], Any]
    answer: Callable[[Any], Answer]
    ours: bool = False
    requires: tuple[str, ...] = ()
    prepare: Callable[[], Any] | None = None
    note: str = ""
    check: bool = True
    only_if_failed: str | None = None

    @property
    def name(self) -> str:
        return f"{self.group} / {self.engine}"


@dataclasses.dataclass(frozen=True)
class Check:
    """One target: its text, whether it was met (None: could not be judged) and the figure."""

    target: str
    met: bool | None
    detail: str


def missing_modules(names: tuple[str, ...]) -> list[str]:
    """The modules of ``names`` that cannot be imported here."""
    out = []
    for n in names:
        try:
            found = importlib.util.find_spec(n) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            out.append(n)
    return out


def load(bench: str) -> ModuleType:
    """The module of benchmark ``bench`` (``"B1"``); an unknown id lists the known ones."""
    key = bench.strip().upper()
    if key not in REGISTRY:
        msg = f"unknown benchmark {bench!r}; the benchmarks are {', '.join(REGISTRY)}"
        raise KeyError(msg)
    return importlib.import_module(REGISTRY[key])


def by_name(cases: list[Case]) -> dict[str, Case]:
    """Cases keyed by their name (names must be unique)."""
    out: dict[str, Case] = {}
    for c in cases:
        if c.name in out:
            msg = f"two cases are named {c.name!r}"
            raise ValueError(msg)
        out[c.name] = c
    return out


def ratio_check(medians: dict[str, float], *, target: str, ours: str, other: str, at_least: float) -> Check:
    """``other`` must take at least ``at_least`` times as long as ``ours``."""
    if ours not in medians or other not in medians:
        gone = [n for n in (ours, other) if n not in medians]
        return Check(target, None, f"not measured: {', '.join(gone)}")
    r = medians[other] / medians[ours] if medians[ours] > 0 else float("inf")
    return Check(target, r >= at_least, f"{r:.1f}× ({medians[other]:.3g} s vs {medians[ours]:.3g} s)")


def with_hint(module: str) -> str:
    """How to get a missing optional engine."""
    return f"{module} not installed (uv pip install {module})"


def fmt_bytes(n: float) -> str:
    """1.2 GiB, 340 MiB…"""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"
