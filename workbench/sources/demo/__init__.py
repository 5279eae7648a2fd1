"""The demo cluster: a deterministic simulator that writes a full snapshot of two clusters
(EKS-like and GKE-like) running a shop, with known incidents and a ``ground_truth.json``.

Kubernetes objects are rendered as real API manifests and go through the same
:class:`workbench.kube.Normalizer` as every real source; metrics, spans and logs are built as
tables of the snapshot schema. The same ``seed``, ``scale``, ``hours`` and ``start`` always give
identical tables. ``scale`` multiplies the application namespaces and the nodes; the work is
streamed to disk by part and by hour, so memory stays bounded at any scale.

>>> from workbench.sources.demo import generate
>>> path = generate("data/demo", hours=1)          # doctest: +SKIP
>>> import workbench as wb
>>> wb.open(path).ground_truth["incidents"][0]["kind"]  # doctest: +SKIP
'slow_start'
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numpy as np
import polars as pl

from workbench.errors import ParameterError
from workbench.schema import conform
from workbench.sources.demo.ids import Ids
from workbench.sources.demo.logs import part_logs
from workbench.sources.demo.metrics import MetricState, node_metrics, part_metrics
from workbench.sources.demo.objects import render_objects
from workbench.sources.demo.plan import SYSTEM_PART, Plan
from workbench.sources.demo.scenario import build_plan
from workbench.sources.demo.series import STEP, SeriesBuffer, metrics_frame
from workbench.sources.demo.traces import part_spans
from workbench.sources.demo.world import build_clusters
from workbench.store import SnapshotWriter

__all__ = ["DEFAULT_START", "generate"]

log = logging.getLogger(__name__)

#: The demo window starts here unless told otherwise (a Monday morning, UTC).
DEFAULT_START = dt.datetime(2026, 11, 2, 6, 0, tzinfo=dt.UTC)

Progress = Callable[[str, float], None]

#: Pods whose metric samples are built and written together (bounds memory at any scale).
POD_BATCH = 150
NODE_BATCH = 25


def _check(scale: int, hours: float, start: dt.datetime | None) -> dt.datetime:
    if not isinstance(scale, int) or scale < 1:
        msg = f"scale must be a whole number >= 1 (got {scale!r}); e.g. --scale 10 for ten copies of the shop"
        raise ParameterError(msg)
    if not 0.25 <= float(hours) <= 24 * 7:
        msg = f"hours must be between 0.25 and 168 (got {hours!r})"
        raise ParameterError(msg)
    if start is None:
        return DEFAULT_START
    if start.tzinfo is None:
        msg = f"start must be timezone-aware (e.g. datetime(2026, 11, 2, 6, tzinfo=UTC)), got {start!r}"
        raise ParameterError(msg)
    return start.astimezone(dt.UTC).replace(microsecond=0)


def generate(out: str | os.PathLike[str], *, scale: int = 1, seed: int = 0, hours: float = 6,
             start: dt.datetime | None = None, progress: Progress | None = None,
             overwrite: bool = False) -> Path:  # fmt: skip
    """Write the demo snapshot to ``out`` and return its path.

    ``progress(stage, fraction)`` is called as work advances (for a CLI progress bar).
    ``overwrite`` replaces an existing snapshot; otherwise ``out`` must not exist.
    """
    t0 = _check(scale, hours, start)
    t1 = t0 + dt.timedelta(hours=float(hours))
    ids = Ids(seed=seed)
    report = progress or (lambda stage, frac: None)
    truths: list[dict] = []
    with SnapshotWriter(out, mode="overwrite" if overwrite else "create") as w:
        w.set_window(t0, t1)
        w.add_source("demo", seed=seed, scale=scale, hours=float(hours), start=t0.isoformat())
        clusters = build_clusters(ids, start=t0, scale=scale)
        for ci, cluster in enumerate(clusters):
            plan, found = build_plan(ids, cluster, start=t0, end=t1, scale=scale)
            truths += found
            batcher = _Batcher(w, cluster.name)
            _write_objects(batcher, ids, plan, report, ci / len(clusters))
            _write_signals(batcher, ids, plan, report, ci / len(clusters), len(clusters))
        for i, truth in enumerate(truths, start=1):
            truth["id"] = f"inc-{i:02d}"
        w.add_file("ground_truth.json", {
            "seed": seed, "scale": scale, "hours": float(hours), "start": _z(t0), "end": _z(t1),
            "clusters": [c.name for c in clusters],
            "incidents": [{"id": t.pop("id"), **t} for t in truths],
        })  # fmt: skip
    report("done", 1.0)
    log.info(
        "demo snapshot written to %s (seed %s, scale %s, %s h, %d incidents)",
        out,
        seed,
        scale,
        hours,
        len(truths),
    )
    return Path(out)


def _z(t: dt.datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


class _Batcher:
    """Collects frames per table and writes them in fewer, larger files. A table is flushed when
    its rows reach :attr:`ROWS` or its frames :attr:`BYTES` (estimated): memory stays bounded
    whatever the scale, since everything upstream is produced per part, per pod batch and per
    hour. Metric series are written once each (``seen`` remembers their ids); samples are kept
    as arrays, added in time order, and written sorted by series."""

    ROWS: ClassVar[dict[str, int]] = {"metrics": 2_000_000, "spans": 200_000, "logs": 200_000}
    BYTES: ClassVar[int] = 96 * 2**20

    def __init__(self, writer: SnapshotWriter, cluster: str) -> None:
        self.w = writer
        self.cluster = cluster
        self.frames: dict[str, list[pl.DataFrame]] = {}
        self.rows: dict[str, int] = {}
        self.size: dict[str, int] = {}
        self.seen: set[int] = set()
        self.samples: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, table: str, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        self.frames.setdefault(table, []).append(frame)
        self._grew(table, frame.height, frame.estimated_size())

    def add_series(self, buf: SeriesBuffer) -> None:
        """The new series and all samples of ``buf`` (buffers come in time order)."""
        self.add("series", buf.new_series(self.seen))
        ids, ts, values = buf.samples()
        if ids.size:
            self.samples.append((ids, ts, values))
            self._grew("metrics", ids.size, ids.nbytes * 3)

    def _grew(self, table: str, rows: int, size: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + rows
        self.size[table] = self.size.get(table, 0) + size
        if self.rows[table] >= self.ROWS.get(table, 50_000) or self.size[table] >= self.BYTES:
            self.flush(table)

    def flush(self, table: str | None = None) -> None:
        for name in [table] if table else [*self.frames, "metrics"]:
            self.rows.pop(name, None)
            self.size.pop(name, None)
            if name == "metrics":
                if self.samples:
                    self.flush("series")  # a series is listed no later than its samples
                    arrays = [np.concatenate(a) for a in zip(*self.samples, strict=True)]
                    self.samples = []
                    self.w.write("metrics", metrics_frame(self.cluster, *arrays))
                continue
            frames = self.frames.pop(name, [])
            if frames:
                self.w.write(name, pl.concat(frames, how="vertical"))


def _write_objects(out: _Batcher, ids: Ids, plan: Plan, report: Progress, base: float) -> None:
    for part in sorted(plan.parts):
        tables, warnings = render_objects(ids, plan, part)
        for message in warnings:
            out.w.warn("demo", message)
        for table, frame in tables.items():
            out.add(table, frame)
        report(f"objects {plan.cluster.name}", base)
    out.flush()


def _write_signals(out: _Batcher, ids: Ids, plan: Plan, report: Progress, base: float, n: int) -> None:
    """Metrics, spans and logs, one hour (chunk) at a time; node series after all parts."""
    total = (plan.end - plan.start).total_seconds()
    chunk_s = 3600.0
    state = MetricState()
    chunks = int(np.ceil(total / chunk_s))
    report(f"signals {plan.cluster.name}", base)
    for k in range(chunks):
        lo, hi = k * chunk_s, min((k + 1) * chunk_s, total + STEP / 2)
        grid = np.arange(np.ceil(lo / STEP) * STEP, hi, STEP)
        c0 = plan.start + dt.timedelta(seconds=lo)
        c1 = plan.start + dt.timedelta(seconds=min((k + 1) * chunk_s, total))
        for part in sorted(plan.parts):
            pods = plan.parts[part].pods
            for i in range(0, len(pods), POD_BATCH):  # the system part grows with the nodes
                buf = SeriesBuffer(plan.cluster.name, plan.start, grid)
                part_metrics(buf, ids, plan, pods[i : i + POD_BATCH], state, k)
                out.add_series(buf)
            if part == SYSTEM_PART:
                continue
            spans = conform("spans", part_spans(ids, plan, part, c0, c1))
            out.add("spans", spans)
            out.add("logs", conform("logs", part_logs(ids, plan, part, c0, c1, spans)))
        for i in range(0, len(plan.nodes), NODE_BATCH):
            buf = SeriesBuffer(plan.cluster.name, plan.start, grid)
            node_metrics(buf, ids, plan, plan.nodes[i : i + NODE_BATCH], state, k)
            out.add_series(buf)
        report(f"signals {plan.cluster.name}", base + (k + 1) / chunks / n)
    out.flush()
