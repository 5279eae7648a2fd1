"""Incident triage: a ranked list of suspects for an incident window, from all signals, with the
evidence for each.

>>> from workbench.analyses import triage
>>> r = triage.triage(ds, triage.TriageParams(start="2026-11-02T08:37Z", end="2026-11-02T09:12Z",
...                                           cluster="eks-prod-us-east-1"))        # doctest: +SKIP
>>> r.suspects.select("rank", "score", "object", "signals")                           # doctest: +SKIP
>>> print(r.explain(1))                                                               # doctest: +SKIP

**Window and baseline.** The incident window is ``[start, end)``, clipped to the snapshot; a
window wholly outside the snapshot is an error that names the snapshot's window. The baseline
is the ``baseline`` duration (default: the window's length) just before ``start``, clipped to
the snapshot's start. Series are read from one more baseline length before that, so that the
baseline's own points are scored too, and bucketed by a step of about 1/150 of the whole span
(15 s to 1 h).

**Signals** — each piece of evidence has a strength in [0, 1]; how each is computed is in the
docstring of the module named:

=================== ============================================================ ===========
signal              what                                                          module
=================== ============================================================ ===========
errors_caused       errors that start at a service (not passed on from a callee)  _traces
latency_caused      a service's own work per request (self time) or the wire grew _traces
oom_killed          containers OOM-killed in the window                            _kube, _kstate, _events
node_not_ready      node Ready false/unknown, pressure conditions                  _kube, _kstate, _events
pending_pods        pods waiting for a node, creations refused by a quota          _kube, _kstate
restarts            container terminations and restart counters                    _kube, _kstate, _events
failing_pods        pods in an error status (ImagePullBackOff, CrashLoopBackOff…)  _kube
manifest_change     image, resources, config, replicas, taints… changed            _events
throttling          CPU throttled in a large share of CFS periods                  _metrics
metric_anomaly      CPU, memory, disk, network, node metrics out of their band     _metrics
warning_events      Warning events, by reason, weighted by rarity                  _events
error_burst         a container logged far more errors than usual                  _logs
new_log_pattern     log patterns new (or much more frequent) in the window         _logs
=================== ============================================================ ===========

Every signal degrades to nothing when its table is empty (the result's ``notes`` say which
were not used), so a snapshot with only metrics and traces still gets a ranking.

**Roll-up.** Evidence is observed on a Pod, a Service, a Node or a controller. A pod's evidence
goes to its workload (``pods.workload_kind/name``; without a pods table, read off the pod's
name), a traced service's to the workload its pods belong to (or the one of the same name), a
ReplicaSet's to its Deployment. A workload whose evidence all comes from one of its several
pods is reported as that Pod; otherwise the workload (``Deployment/checkout``, not its three
pods). A manifest change's strength is multiplied by its *nearness*: exp(−Δ / 15 min), Δ being
the time from the change to the first other evidence after it (of the same suspect, else of
any), 0.3 when nothing follows it.

**Score.** ``score = Σ over signals of WEIGHTS[signal] × (the strongest evidence of that
signal)``; weights are in :data:`WEIGHTS` (errors and latency a service causes weigh 3, OOM
kills, node failures and pending pods 2.5, restarts, failing pods, manifest changes and
throttling 2, metric anomalies, Warning events and error bursts 1.5, new log patterns 1). Ties
go to the suspect seen first. Same snapshot and parameters → same ranking.

**Result** (:class:`TriageResult`):

- ``suspects``: :data:`SUSPECT_COLUMNS` — rank, score, kind (Workload, Pod, Node or Service),
  cluster, namespace, name, object (``Deployment/checkout``, ``Pod/x``, ``Node/n``,
  ``Service/s``), summary, signals (by contribution), first_seen, pods (its pods that showed
  evidence). At most ``top`` rows.
- ``evidence``: :data:`EVIDENCE_COLUMNS` — the suspect's rank and key, signal, time, score (the
  evidence's strength), weight, subject (what it was observed on), detail (human text),
  how_to_see (the call or notebook that shows it).
- ``timeline``: :data:`TIMELINE_COLUMNS` — time, signal, object, detail, score, suspect:
  everything found (also what does not rank: inherited latency, changes of ConfigMaps…), in
  time order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import polars as pl

from workbench.analyses._kept import kept_tables
from workbench.analyses.manifests._objects import as_time, parse_duration, resolve_params
from workbench.analyses.params import Params, field, require_one_of
from workbench.analyses.servicemap import LinkedSpans
from workbench.analyses.triage import _events, _kstate, _kube, _logs, _metrics, _traces
from workbench.analyses.triage._context import RAW_COLUMNS, Context, fmt_time, kept, signature
from workbench.analyses.triage._identity import Identity, infer_workload
from workbench.analyses.triage._rank import (
    EVIDENCE_COLUMNS,
    SIGNAL_LABELS,
    SUSPECT_COLUMNS,
    TIMELINE_COLUMNS,
    WEIGHTS,
    rank,
)
from workbench.errors import ParameterError
from workbench.store import Dataset

__all__ = [
    "EVIDENCE_COLUMNS", "SIGNAL_LABELS", "SUSPECT_COLUMNS", "TIMELINE_COLUMNS", "WEIGHTS", "TriageParams",
    "TriageResult", "infer_workload", "triage",
]  # fmt: skip

log = logging.getLogger(__name__)

_STEPS = [dt.timedelta(seconds=s) for s in (15, 30, 60, 120, 300, 600, 900, 1800, 3600)]


@dataclasses.dataclass(frozen=True, kw_only=True)
class TriageParams(Params):
    """The incident window and scope of a triage."""

    start: dt.datetime | str | None = field(None, "incident window start, UTC (required)")
    end: dt.datetime | str | None = field(None, "incident window end, UTC (required)")
    cluster: str | None = field(None, "cluster to triage (all when empty)")
    namespace: str | None = field(None, "namespace to triage (all when empty; nodes always count)")
    baseline: dt.timedelta | str | None = field(
        None, "how long before start is normal (default: the window's length)"
    )
    top: int = field(10, "suspects to list", ge=1, le=1000)
    change_lead: dt.timedelta | str = field("30m", "how long before start a manifest change still counts")

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("start", "end"):
            object.__setattr__(self, name, as_time(getattr(self, name), what=name))
        for name in ("cluster", "namespace"):
            if getattr(self, name) == "":
                object.__setattr__(self, name, None)
        if self.baseline is not None and self.baseline != "":
            object.__setattr__(self, "baseline", parse_duration(self.baseline, what="baseline"))
        else:
            object.__setattr__(self, "baseline", None)
        object.__setattr__(self, "change_lead", parse_duration(self.change_lead, what="change_lead"))
        if self.start is not None and self.end is not None and self.start >= self.end:
            msg = f"start ({fmt_time(self.start)}) must be before end ({fmt_time(self.end)})"  # type: ignore[arg-type]
            raise ParameterError(msg)


@dataclasses.dataclass(frozen=True)
class TriageResult:
    """Suspects (ranked), the evidence for each, and the timeline of everything found."""

    suspects: pl.DataFrame
    evidence: pl.DataFrame
    timeline: pl.DataFrame
    window: tuple[dt.datetime, dt.datetime] | None = None
    baseline: tuple[dt.datetime, dt.datetime] | None = None
    step: dt.timedelta | None = None
    notes: tuple[str, ...] = ()

    def explain(self, rank: int = 1) -> str:
        """A suspect and its evidence as Markdown text."""
        row = self.suspects.filter(pl.col("rank") == rank)
        if row.is_empty():
            return f"no suspect ranked {rank} (there are {self.suspects.height})"
        s = row.row(0, named=True)
        lines = [
            f"**#{s['rank']} {s['object']}** ({s['cluster']}, {s['namespace'] or 'cluster-wide'}), "
            f"score {s['score']:.2f}, first seen {fmt_time(s['first_seen'])}"
        ]
        for e in self.evidence.filter(pl.col("rank") == rank).iter_rows(named=True):
            lines.append(
                f"- {SIGNAL_LABELS.get(e['signal'], e['signal'])} ({e['score']:.2f} × {e['weight']:g}) at "
                f"{fmt_time(e['time'])}: {e['detail']} — see `{e['how_to_see']}`"
            )
        return "\n".join(lines)


def _empty(ctx: Context | None = None) -> TriageResult:
    return TriageResult(
        pl.DataFrame(schema=SUSPECT_COLUMNS),
        pl.DataFrame(schema=EVIDENCE_COLUMNS),
        pl.DataFrame(schema=TIMELINE_COLUMNS),
        window=(ctx.start, ctx.end) if ctx else None,
        baseline=(ctx.base_start, ctx.base_end) if ctx else None,
        step=ctx.step if ctx else None,
        notes=tuple(ctx.notes) if ctx else ("the snapshot holds no data",),
    )


def _check_scope(ds: Dataset, p: TriageParams) -> None:
    if p.cluster is not None:
        require_one_of("cluster", p.cluster, ds.clusters)
    if p.namespace is not None:
        require_one_of("namespace", p.namespace, kept("namespaces", (signature(ds), p.cluster),
                                                      lambda: _namespaces(ds, p.cluster), size=16))  # fmt: skip


def _namespaces(ds: Dataset, cluster: str | None) -> frozenset[str]:
    """The namespaces of the cluster (every cluster: None) that hold series, pods, spans or logs."""
    found: set[str] = set()
    for table in ("series", "pods", "spans", "logs"):
        if ds.row_counts.get(table):
            got = ds.scan(table, cluster=cluster).select("namespace").unique().collect()["namespace"]
            found.update(got.drop_nulls().to_list())
    return frozenset(found)


def _step(span: dt.timedelta) -> dt.timedelta:
    want = span / 150
    return next((s for s in _STEPS if s >= want), _STEPS[-1])


def _context(ds: Dataset, p: TriageParams) -> Context | None:
    if p.start is None or p.end is None:
        msg = "triage needs an incident window: give start and end (ISO 8601 UTC, e.g. start='2026-11-02T08:40Z')"
        raise ParameterError(msg)
    start, end = p.start, p.end
    assert isinstance(start, dt.datetime) and isinstance(end, dt.datetime)
    lo, hi = ds.window
    if lo is None or hi is None:
        return None
    if end <= lo or start >= hi:
        msg = (
            f"the window {fmt_time(start)} → {fmt_time(end)} is outside the snapshot, which covers "
            f"{fmt_time(lo)} → {fmt_time(hi)}; pick a window inside it"
        )
        raise ParameterError(msg)
    start, end = max(start, lo), min(end, hi)
    length = p.baseline if isinstance(p.baseline, dt.timedelta) else end - start
    base_start = max(lo, start - length)
    history = max(lo, base_start - length)
    lead = p.change_lead if isinstance(p.change_lead, dt.timedelta) else dt.timedelta(minutes=30)
    ctx = Context(
        ds=ds,
        cluster=p.cluster,
        namespace=p.namespace,
        start=start,
        end=end,
        base_start=base_start,
        base_end=start,
        history_start=history,
        step=_step(end - history),
        change_lead=lead,
        metrics=(*_metrics.METRICS, *_kstate.METRICS),
    )
    if (start, end) != (p.start, p.end):
        ctx.note(f"window clipped to the snapshot: {fmt_time(start)} → {fmt_time(end)}")
    if not ctx.has_baseline:
        ctx.note("the window starts at the snapshot's start: there is no baseline, so novelty is not judged")
    return ctx


#: (name, function, needs the identity lookups) of every signal; each takes the context.
_SIGNALS: tuple[tuple[str, Callable[..., pl.DataFrame], bool], ...] = (
    ("metric anomalies", _metrics.metric_evidence, True),
    ("CPU throttling", _metrics.throttling_evidence, False),
    ("restart counters", _kstate.restart_evidence, False),
    ("node conditions (metrics)", _kstate.node_condition_evidence, False),
    ("traces", _traces.trace_evidence, False),
    ("Warning events", _events.event_evidence, True),
    ("manifest changes", _events.change_evidence, True),
    ("pending pods", _kube.pending_evidence, False),
    ("container terminations and pod statuses", _kube.container_evidence, False),
    ("node conditions", _kube.node_evidence, False),
    ("new log patterns", _logs.pattern_evidence, False),
    ("error bursts", _logs.burst_evidence, False),
)


#: Signals run concurrently on this many threads (their work is mostly polars, which releases
#: the GIL); 1 runs them one after another.
WORKERS = 2


def _run_signal(ctx: Context, ident: Identity, i: int) -> tuple[pl.DataFrame | None, list[str]]:
    """Signal ``i`` of :data:`_SIGNALS` on a copy of ``ctx`` with notes of its own (it shares
    the rest, and what :meth:`Context.once` computed): its evidence (None when it failed) and
    its notes, the failure's last."""
    name, fn, needs_ident = _SIGNALS[i]
    own = dataclasses.replace(ctx, notes=[])
    try:
        return (fn(own, ident) if needs_ident else fn(own)), own.notes
    except Exception as err:  # noqa: BLE001 - one broken signal must not lose the others
        log.warning("triage: %s failed: %s", name, err, exc_info=True)
        own.note(f"{name} failed: {err}")
        return None, own.notes


#: The order signals are started in on :data:`WORKERS` threads: the costliest first.
_START_ORDER = (4, 0, *(i for i in range(len(_SIGNALS)) if i not in (4, 0)))


def collect_evidence(ds: Dataset, ctx: Context, ident: Identity) -> pl.DataFrame:
    """Every signal's raw evidence (``RAW_COLUMNS``); a signal that fails is noted, not fatal.
    The signals run on :data:`WORKERS` threads; their evidence and notes are put together in
    the order of :data:`_SIGNALS`, as when they run one after another."""
    results: list[tuple[pl.DataFrame | None, list[str]]]
    if WORKERS > 1:
        with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="triage") as pool:
            futures = {i: pool.submit(_run_signal, ctx, ident, i) for i in _START_ORDER}
            results = [futures[i].result() for i in range(len(_SIGNALS))]
    else:
        results = [_run_signal(ctx, ident, i) for i in range(len(_SIGNALS))]
    frames = []
    for frame, notes in results:
        ctx.notes.extend(notes)
        if frame is not None:
            frames.append(frame)
    if ds.row_counts.get("pods", 0) == 0:
        try:
            frames.append(_kstate.pending_metric_evidence(ctx))
        except Exception as err:  # noqa: BLE001
            ctx.note(f"pending pods (metrics) failed: {err}")
    frames = [f for f in frames if not f.is_empty()]
    return pl.concat(frames) if frames else pl.DataFrame(schema=RAW_COLUMNS)


def triage(
    ds: Dataset, params: TriageParams | None = None, *, spans: LinkedSpans | None = None, **changes: Any
) -> TriageResult:
    """Rank the suspects of an incident window (see the module docstring). ``spans``: the
    snapshot's spans linked once (``LinkedSpans.of(ds.scan("spans"))``, as a served page keeps
    them), to take the scope's spans from instead of reading and linking them again."""
    p = resolve_params(TriageParams, params, changes)
    ds = kept_tables(ds)  # a small table is read once per process, not once per signal and scope
    ctx = _context(ds, p)
    if ctx is None:
        return _empty()
    if spans is not None:
        ctx = dataclasses.replace(ctx, spans=spans)
    _check_scope(ds, p)
    ident = Identity(
        ds,
        cluster=ctx.cluster,
        namespace=ctx.namespace,
        start=ctx.start,
        end=ctx.end,
        span_start=ctx.base_start,
        spans=ctx.spans,
    )
    raw = collect_evidence(ds, ctx, ident)
    if raw.is_empty():
        return _empty(ctx)
    suspects, ev, timeline = rank(raw, ident, top=p.top)
    log.info(
        "triage %s → %s: %d suspects from %d pieces of evidence",
        fmt_time(ctx.start),
        fmt_time(ctx.end),
        suspects.height,
        raw.height,
    )
    return TriageResult(
        suspects,
        ev,
        timeline,
        window=(ctx.start, ctx.end),
        baseline=(ctx.base_start, ctx.base_end),
        step=ctx.step,
        notes=tuple(ctx.notes),
    )
