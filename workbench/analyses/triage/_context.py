"""The resolved triage window and scope, and the raw evidence rows every signal module returns.

A signal module is a function ``(ctx: Context) -> pl.DataFrame`` with :data:`RAW_COLUMNS`: one
row per piece of evidence, about the object it was observed on (a Pod, a Workload, a Node or a
Service). :mod:`workbench.analyses.triage._rank` rolls them up into suspects.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import numpy as np
import polars as pl

from workbench.analyses._kept import kept, signature
from workbench.store import Dataset

__all__ = [
    "KEEP_SAMPLES",
    "RAW_COLUMNS",
    "KeptSamples",
    "TS",
    "Context",
    "fmt_time",
    "kept",
    "raw",
    "raw_frame",
    "signature",
    "spans_named",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Snapshots with at most this many metric samples keep the samples the signals read (every
#: cluster, the snapshot's whole time) in memory, shared by every scope, window and session of a
#: process (32 bytes a sample with their index, :class:`KeptSamples`; at most 260 MB a snapshot, for the last two snapshot versions: a process serving two snapshots keeps both): a new
#: window, namespace or cluster reads none again, it takes its series' samples in its window
#: from them. Larger snapshots read each scope's own samples.
KEEP_SAMPLES = 8_000_000
#: Guards the creation of a context's per-name locks (:meth:`Context.once`).
_ONCE_LOCK = threading.Lock()


TS = pl.Datetime("us", "UTC")

#: One piece of evidence about the object it was seen on, before roll-up. ``level`` is Pod,
#: Workload, Node or Service; ``workload_kind`` is set for Workload rows when known;
#: ``strength`` is in [0, 1].
RAW_COLUMNS: dict[str, pl.DataType] = {
    "level": pl.String(),
    "cluster": pl.String(),
    "namespace": pl.String(),
    "name": pl.String(),
    "workload_kind": pl.String(),
    "signal": pl.String(),
    "time": TS,
    "strength": pl.Float64(),
    "detail": pl.String(),
    "how_to_see": pl.String(),
}


@dataclasses.dataclass(frozen=True)
class Context:
    """What every signal module needs: the snapshot, the scope and the resolved times.

    ``start``/``end`` is the incident window, ``base_start``/``base_end`` the baseline before
    it (``base_end == start``; empty when the window starts at the snapshot's start),
    ``history_start`` how far back series are read so that the baseline itself can be scored,
    ``step`` the bucket of every time series. The samples of the ``metrics`` the signals read
    are read together, once (:meth:`metric_samples`). ``spans``: the snapshot's spans linked
    once (:class:`~workbench.analyses.servicemap.LinkedSpans`), to take the scope's from, or None.
    """

    ds: Dataset
    cluster: str | None
    namespace: str | None
    start: dt.datetime
    end: dt.datetime
    base_start: dt.datetime
    base_end: dt.datetime
    history_start: dt.datetime
    step: dt.timedelta
    change_lead: dt.timedelta
    notes: list[str] = dataclasses.field(default_factory=list)
    metrics: tuple[str, ...] = ()
    spans: Any = dataclasses.field(default=None, repr=False, compare=False)
    _read: dict[Any, Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @property
    def has_baseline(self) -> bool:
        return self.base_end > self.base_start

    @property
    def samples_kept(self) -> bool:
        """Whether the snapshot is small enough (:data:`KEEP_SAMPLES`) for its metric samples to
        be kept in memory for every scope and window."""
        return self.ds.row_counts.get("metrics", 0) <= KEEP_SAMPLES

    @property
    def minutes(self) -> float:
        return (self.end - self.start).total_seconds() / 60

    @property
    def base_minutes(self) -> float:
        return (self.base_end - self.base_start).total_seconds() / 60

    def scope_args(self) -> str:
        """``cluster='c', namespace='n'`` for the how-to-see hints."""
        parts = []
        if self.cluster:
            parts.append(f"cluster={self.cluster!r}")
        if self.namespace:
            parts.append(f"namespace={self.namespace!r}")
        return ", ".join(parts)

    def window_args(self) -> str:
        return f"start='{fmt_time(self.start)}', end='{fmt_time(self.end)}'"

    def metric_samples(
        self, metric: str | Sequence[str], *, namespace: bool = True
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The series of ``metric`` in scope (in the scope's namespace, or in every namespace)
        and samples (series_id, ts, value, in storage order) from ``history_start`` to ``end``
        that hold theirs. The samples of all :attr:`metrics` (every namespace; in a small
        snapshot every cluster) are read together on first use and shared, so they hold other
        series' too: ``metric_series`` skips those; filter by ``series_id`` otherwise."""
        names = [metric] if isinstance(metric, str) else list(metric)
        window = {"cluster": self.cluster, "start": self.history_start, "end": self.end}
        if not set(names) <= set(self.metrics):
            series, samples = self.ds.metric_samples(metric=names, namespace=self.namespace if namespace else None,
                                                     **window)  # fmt: skip
            return series, samples.select("series_id", "ts", "value").collect()
        series, samples = self.once("metrics", self._read_metrics)
        series = series.filter(pl.col("metric").is_in(names))
        if namespace and self.namespace is not None:
            series = series.filter(pl.col("namespace") == self.namespace)
        if isinstance(samples, KeptSamples):
            samples = samples.of(series["series_id"], self.history_start, self.end)
        return series, samples

    def _read_metrics(self) -> tuple[pl.DataFrame, pl.DataFrame | KeptSamples]:
        """The series of all :attr:`metrics` in the cluster and their samples from
        ``history_start`` to ``end``. A small snapshot's (:data:`KEEP_SAMPLES`) are read for
        every cluster and the whole snapshot once, and kept (:class:`KeptSamples`): each
        :meth:`metric_samples` takes the window's samples of its series from them (in storage
        order, as a read of the window gives them); the cluster's series are chosen from them."""

        def read(
            cluster: str | None, start: dt.datetime | None, end: dt.datetime | None
        ) -> tuple[pl.DataFrame, pl.DataFrame]:
            series, samples = self.ds.metric_samples(
                metric=list(self.metrics), cluster=cluster, start=start, end=end
            )
            return series, samples.select("series_id", "ts", "value").collect().rechunk()

        if not self.samples_kept:
            return read(self.cluster, self.history_start, self.end)

        def read_all() -> tuple[pl.DataFrame, KeptSamples]:
            series, samples = read(None, None, None)
            return series, KeptSamples.of_frame(samples)

        key = (signature(self.ds), self.metrics)
        series, samples = kept("metric samples", key, read_all, size=2)
        if self.cluster is not None:
            series = series.filter(pl.col("cluster") == self.cluster)
        return series, samples

    def once(self, name: str, compute: Callable[[], T]) -> T:
        """``compute()``, computed once for this context (what several signals ask, e.g. whether
        the scope has logs). Thread-safe: signals run concurrently, and a context made from this
        one by :func:`dataclasses.replace` shares what it computed; a second caller of ``name``
        waits for the first's value."""
        with _ONCE_LOCK:
            lock = self._read.setdefault(("lock", name), threading.Lock())
        with lock:
            if name not in self._read:
                self._read[name] = compute()
            return self._read[name]  # type: ignore[no-any-return]

    def note(self, text: str) -> None:
        """Record what a signal could not use (shown in the result's ``notes``)."""
        log.info("triage: %s", text)
        self.notes.append(text)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _us(t: dt.datetime) -> int:
    """Microseconds since the epoch (exactly, as polars stores a UTC time)."""
    return (t - _EPOCH) // dt.timedelta(microseconds=1)


@dataclasses.dataclass(frozen=True)
class KeptSamples:
    """Metric samples (series_id, ts, value, in storage order) kept in memory with the *runs*
    they come in (each part of the table is sorted by series and time, so a series' samples are
    a few runs of consecutive rows): :meth:`of` takes the samples of some series in a time
    range without looking at the others' rows (nor, when every run is in time order, at the
    rows of theirs outside the range)."""

    samples: pl.DataFrame
    #: Per run, in row order: its series id, first row and the row after its last.
    run_series: np.ndarray
    run_start: np.ndarray
    run_end: np.ndarray
    #: Every sample's time, µs since the epoch (null: the smallest int64); empty when ``order``
    #: is known (it is not needed then).
    ts: np.ndarray
    #: When every run is in time order: ``(run number × (span + 1) + ts − earliest)`` of every
    #: sample, which grows along the rows (a binary search finds a run's rows in a time range),
    #: and the earliest time and the span; else None.
    order: tuple[np.ndarray, int, int] | None

    @classmethod
    def of_frame(cls, samples: pl.DataFrame) -> KeptSamples:
        """Index ``samples`` (a frame with series_id, ts, value) by its runs."""
        samples = samples.rechunk()
        sid = samples["series_id"].to_numpy()
        cut = np.flatnonzero(sid[1:] != sid[:-1]) + 1
        starts = np.concatenate([np.zeros(min(1, sid.size), dtype=np.int64), cut])
        ends = np.concatenate([cut, np.full(min(1, sid.size), sid.size, dtype=np.int64)])
        ts = samples["ts"].to_physical().fill_null(np.iinfo(np.int64).min).to_numpy()
        order = None
        if sid.size and not samples["ts"].has_nulls():
            lo, span = int(ts.min()), int(ts.max() - ts.min())
            if (span + 1) * starts.size < 2**62:
                run = np.repeat(np.arange(starts.size, dtype=np.int64), ends - starts)
                key = run * (span + 1) + (ts - lo)
                if bool(np.all(key[1:] >= key[:-1])):
                    order = (key, lo, span)
        return cls(samples, sid[starts], starts, ends, ts if order is None else ts[:0], order)

    def of(self, series_ids: pl.Series, start: dt.datetime, end: dt.datetime) -> pl.DataFrame:
        """The samples of ``series_ids`` with a time in ``[start, end]``, in storage order: the
        rows ``samples.filter(pl.col("series_id").is_in(series_ids), pl.col("ts").is_between(start,
        end))`` gives."""
        chosen = np.flatnonzero(np.isin(self.run_series, series_ids.to_numpy()))
        lo, hi = _us(start), _us(end)
        if self.order is not None:
            key, earliest, span = self.order
            base = chosen * (span + 1)
            first = np.searchsorted(key, base + min(max(lo - earliest, 0), span + 1), side="left")
            after = np.searchsorted(key, base + min(max(hi - earliest, -1), span), side="right")
            after = np.maximum(after, first)
        else:
            first, after = self.run_start[chosen], self.run_end[chosen]
        length = after - first
        # the rows of the chosen runs, in order: each run's first row repeated, plus 0, 1, 2…
        # counted over all of them, minus what the runs before it counted
        rows = np.repeat(first - (np.cumsum(length) - length), length) + np.arange(int(length.sum()))
        if self.order is None:
            t = self.ts[rows]
            rows = rows[(t >= lo) & (t <= hi)]
        return self.samples[rows.astype(np.uint32) if self.samples.height < 2**32 else rows]


def spans_named(ds: Dataset) -> bool:
    """Whether every span of the snapshot names its service (spans linked once name the others
    ``unknown``, where a read of the spans keeps them apart); kept per snapshot version."""
    return kept("spans named", signature(ds), lambda: ds.scan("spans").select(pl.col("service").null_count())
                .collect().item() == 0, size=4)  # fmt: skip


def fmt_time(t: dt.datetime | None) -> str:
    """``2026-11-02T08:42:00Z`` (seconds, UTC)."""
    if t is None:
        return "?"
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def raw(
    *,
    level: str,
    cluster: str | None,
    namespace: str | None,
    name: str,
    signal: str,
    time: dt.datetime | None,
    strength: float,
    detail: str,
    how_to_see: str,
    workload_kind: str | None = None,
) -> dict[str, Any]:
    """One evidence row (a dict with :data:`RAW_COLUMNS`); strength is clipped to [0, 1]."""
    return {
        "level": level, "cluster": cluster, "namespace": namespace, "name": name, "workload_kind": workload_kind,
        "signal": signal, "time": time, "strength": float(min(1.0, max(0.0, strength))), "detail": detail,
        "how_to_see": how_to_see,
    }  # fmt: skip


def raw_frame(rows: Iterable[dict[str, Any]]) -> pl.DataFrame:
    """Evidence rows as a frame with :data:`RAW_COLUMNS` (empty rows → empty frame)."""
    rows = list(rows)
    if not rows:
        return pl.DataFrame(schema=RAW_COLUMNS)
    return pl.DataFrame(rows, schema=RAW_COLUMNS)
