"""The anomalies page: scored anomalous intervals of the scope's container metrics, of the
span-derived series of its services (TPS, p90 latency, error rate) and of its log patterns
(lines per minute); picking one shows the series with its expected band, its anomalous
intervals and its change points.

In JupyterLab::

    import workbench as wb, workbench.ui
    page = wb.ui.anomalies.AnomaliesPage(wb.open("data/demo"), namespace="shop")
    page.anomalies.head()

Served (``apps/anomalies.py``): the scope, the chosen signal kind and the selected series live
in the URL.

Each series family has noise floors (``min_scale``) in its own unit, so that a series that is
almost always flat (an error rate of 0, a pattern seen once an hour) does not score a single
blip in the millions: CPU 10 millicores, memory 1 MiB, network 1 KiB/s, throttled periods 1/s,
restarts one per ten minutes, TPS 0.05/s, latency 5 ms, error rate 2 points, log lines 1/min.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Hashable
from typing import Any

import holoviews as hv
import panel as pn
import param
import polars as pl

import workbench
from workbench.analyses import anomalies as an
from workbench.store import Dataset
from workbench.ui._refresh import Recent, batched, watch_scope
from workbench.ui.application.transaction import note
from workbench.ui.common import busy, format_range, page, sync_to_url, table_frame, text_table
from workbench.ui.live import LiveControls, snapshot_version, take_live
from workbench.ui.scope import PAGES, SCOPE_PARAMS, Scope, nav
from workbench.viz.anomalies import overlay

__all__ = ["ANOMALY_COLUMNS", "METRICS", "PAGE_PARAMS", "AnomaliesPage"]

log = logging.getLogger(__name__)

PAGE_PARAMS = ("kind", "series")
#: Metrics scored per container, with their noise floor (``min_scale``) and axis label.
METRICS: dict[str, tuple[float, str]] = {
    "container_cpu_usage_seconds_total": (0.01, "CPU (cores)"),
    "container_memory_working_set_bytes": (2.0**20, "memory working set (bytes)"),
    "container_cpu_cfs_throttled_periods_total": (1.0, "throttled CFS periods per second"),
    "container_network_receive_bytes_total": (1024.0, "network received (bytes/s)"),
    "container_network_transmit_bytes_total": (1024.0, "network sent (bytes/s)"),
    "kube_pod_container_status_restarts_total": (1 / 600, "restarts per second"),
}
_SIGNALS = {
    "tps": (0.05, "TPS (/s)"),
    "latency_p90_ms": (5.0, "p90 latency (ms)"),
    "error_rate": (0.02, "error rate"),
}
_KEYS = {
    "metric": ["cluster", "metric", "namespace", "pod", "container"],
    "span": ["cluster", "service", "signal"],
    "log": ["pattern_id", "template"],
}
_KINDS = {"All signals": "", "Container metrics": "metric", "Service spans": "span", "Log patterns": "log"}
ANOMALY_COLUMNS: dict[str, pl.DataType] = {
    "kind": pl.String(), "score": pl.Float64(), "series": pl.String(), "start": an.TS, "end": an.TS,
    "direction": pl.String(), "points": pl.Int64(), "peak_value": pl.Float64(), "baseline": pl.Float64(),
    "namespace": pl.String(), "pod": pl.String(), "id": pl.String(),
}  # fmt: skip
_STEPS = (("1m", 60), ("5m", 300), ("15m", 900), ("1h", 3600))


def _label(kind: str, key: dict[str, Any]) -> str:
    if kind == "metric":
        where = "/".join(str(key[k]) for k in ("namespace", "pod", "container") if key.get(k))
        return f"{key['metric']} {where}"
    if kind == "span":
        return f"{key['service']} {key['signal']} ({key['cluster']})"
    return f"log pattern: {key['template']}"


def _series_id(kind: str, key: dict[str, Any]) -> str:
    return "|".join([kind, *("" if key[k] is None else str(key[k]) for k in _KEYS[kind])])


class AnomaliesPage(pn.viewable.Viewer):
    """Anomalies of one snapshot for a :class:`Scope` (see the module docstring)."""

    kind = param.Selector(default="", objects=list(_KINDS.values()), doc="Signals listed ('' = all).")
    series = param.String(default="", doc="Selected series id (kind|key values), shown as a chart.")

    def __init__(
        self, dataset: Dataset | str | os.PathLike[str], *, scope: Scope | None = None, load: bool = True,
        **params: Any,
    ) -> None:  # fmt: skip
        self.dataset = dataset if isinstance(dataset, Dataset) else workbench.open(dataset)
        scoped = {k: params.pop(k) for k in SCOPE_PARAMS if k in params}
        self.scope = scope if scope is not None else Scope(self.dataset, **scoped)
        live = take_live(params)
        super().__init__(**params)
        self.live = LiveControls(self.dataset, self.snapshot_changed, scope=self.scope, **live)
        self.anomalies = pl.DataFrame(schema=ANOMALY_COLUMNS)
        self._series: dict[str, pl.DataFrame] = {}
        # every point's score, kept only for a window of two days or more (see _detect_all)
        self._scored: dict[str, pl.DataFrame | None] = {}
        self._intervals: dict[str, pl.DataFrame] = {}
        # a scope's series can be large (every metric of every pod): only the last few are kept
        self._recent: Recent[Any] = Recent(size=3)
        # the container metrics' series, scores and intervals of the whole snapshot for one
        # window and step: a narrower scope's are among them (see _metrics)
        self._whole: tuple[Hashable, tuple[Any, ...]] | None = None
        self._loaded = False
        self._note = note("", css="wb-anomaly-note")
        self._kind = pn.widgets.Select.from_param(self.param.kind, label="Signals", options=_KINDS)
        self._table = text_table(pl.DataFrame(schema=ANOMALY_COLUMNS), pagination="local", page_size=20,
                                 hidden_columns=["id"], wrap=("series",), css_classes=["wb-anomalies"],
                                 widths={"series": 380})  # fmt: skip
        self._table.on_click(self._clicked)
        self._table_box = pn.Column(
            sizing_mode="stretch_width"
        )  # see ApplicationPage: filled once it has rows
        self._chart_note = note("Click an anomaly to see its series.", css="wb-chart-note")
        self._chart = pn.pane.HoloViews(sizing_mode="stretch_width", min_height=260, linked_axes=False)
        watch_scope(self.scope, SCOPE_PARAMS, lambda: self._loaded and self.refresh())
        if load:
            self.refresh()

    def controls(self) -> pn.Column:
        return pn.Column(self._kind, sizing_mode="stretch_width")

    def sections(self) -> list[pn.viewable.Viewable]:
        card = {"collapsible": False, "sizing_mode": "stretch_width"}
        return [
            self._note,
            pn.Card(self._chart_note, self._chart, title="Series, expected band and change points", **card),
            pn.Card(self._table_box, title="Anomalies (highest score first; click one)", **card),
        ]

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            pn.Row(self.scope.widgets(), self.live),
            self.controls(),
            *self.sections(),
            sizing_mode="stretch_width",
        )

    def page(self) -> pn.template.BaseTemplate:
        """The served page: scope, kind, selected series and live mode synced to the URL."""
        self.scope.sync()
        sync_to_url(self, PAGE_PARAMS)
        self.live.sync()
        if not self._loaded:
            pn.state.onload(self.refresh)
            self._chart.loading = True
        sidebar = [
            self.scope.widgets(),
            self.controls(),
            pn.layout.Divider(),
            self.live,
            pn.layout.Divider(),
            nav(self.scope, current="anomalies"),
        ]
        return page(PAGES["anomalies"], snapshot=self.dataset.path, sidebar=sidebar, main=self.sections())

    # -- computing ------------------------------------------------------------------------------
    def _step(self) -> tuple[str, dict[str, Any]]:
        """The bucket width for the scope's window, and the window (start, end)."""
        start, end = self.scope.window()
        span = (end - start).total_seconds() if start and end else 3600
        return next((s for s, n in _STEPS if span / n <= 720), "1d"), {"start": start, "end": end}

    def _where(self) -> dict[str, Any]:
        """The label filters of the scope's metrics and logs (a workload: its pods)."""
        where: dict[str, Any] = {k: v for k, v in self.scope.filters().items() if k != "workload"}
        if self.scope.workload:
            where["pod"] = self.scope.pods()["name"].to_list()
        return where

    @staticmethod
    def _short(window: dict[str, Any]) -> bool:
        """Whether ``window`` is under two days: then no series has a daily seasonal baseline
        (:class:`~workbench.analyses.anomalies.AnomalyParams` ``seasonality="auto"``), the only
        part of scoring that looks across series, so each series is scored on its own."""
        start, end = window["start"], window["end"]
        return start is not None and end is not None and end - start < dt.timedelta(days=2)

    def _metrics(self, step: str, window: dict[str, Any], where: dict[str, Any]) -> tuple[Any, ...]:
        """The container metric series of the scope (``where`` in ``window``, bucketed by
        ``step``), their scores (None: not kept, see :meth:`_detect_all`) and anomalous
        intervals. In a window under two days a narrower scope's are those of the whole
        snapshot in the same window that match its filters (:meth:`_short`): the whole
        snapshot's are kept (made when it is shown) and filtered."""
        short = self._short(window)
        key = (step, window["start"], window["end"], snapshot_version(self.dataset))
        if short and where and self._whole is not None and self._whole[0] == key:
            mask = pl.lit(value=True)
            for k, v in where.items():
                mask = mask & pl.col(k).is_in([v] if isinstance(v, str) else list(v))
            return tuple(None if f is None else f.filter(mask) for f in self._whole[1])
        series = an.metric_series(self.dataset, list(METRICS), step=step, **where, **window)
        parts = (series, *self._detect("metric", series, scores=not short))
        if short and not where:
            self._whole = (key, parts)
        return parts

    def _detect(
        self, kind: str, frame: pl.DataFrame, *, scores: bool = True
    ) -> tuple[pl.DataFrame | None, pl.DataFrame]:
        """Every point's score (None unless ``scores``) and the anomalous intervals of the
        series ``frame`` of ``kind``, each family with its noise floor."""
        keys = _KEYS[kind]
        if kind == "log":
            scored = an.score(frame, keys=keys, min_scale=1.0)
            return scored if scores else None, an.intervals(scored, keys=keys)
        col, floors = ("metric", METRICS) if kind == "metric" else ("signal", _SIGNALS)
        kept, found = [], []
        for name, (floor, _) in floors.items():
            scored = an.score(frame.filter(pl.col(col) == name), keys=keys, min_scale=floor)
            found.append(an.intervals(scored, keys=keys, min_scale=floor))
            if scores:
                kept.append(scored)
        return pl.concat(kept) if scores else None, pl.concat(found)

    @staticmethod
    def _floor(kind: str, key: dict[str, Any]) -> float:
        """The noise floor (``min_scale``) a series of ``kind`` with ``key`` is scored with."""
        if kind == "metric":
            return METRICS.get(key.get("metric") or "", (0.0, ""))[0]
        if kind == "span":
            return _SIGNALS.get(key.get("signal") or "", (0.0, ""))[0]
        return 1.0

    def _detect_all(self) -> tuple[dict[str, pl.DataFrame], dict[str, pl.DataFrame], dict[str, pl.DataFrame],
                                   pl.DataFrame]:  # fmt: skip
        """The scope's series per kind (long frames: key columns, ts, value), their scores and
        anomalous intervals, and the anomalies list. Every point's score is kept only for a
        window of two days or more: in a shorter one a series' scores are its own
        (:meth:`_short`), scored again when it is shown (a scope's scores are the bulk of its
        memory: nine columns for every point of every series)."""
        series, scored, intervals, rows = {}, {}, {}, []
        step, window = self._step()
        where = self._where()
        series["metric"], scored["metric"], intervals["metric"] = self._metrics(step, window, where)
        series["span"] = an.span_series(self.dataset, step=step, **self.scope.filters(), **window)
        series["log"] = an.pattern_series(self.dataset, step=step, **where, **window)
        for kind in ("span", "log"):
            scored[kind], intervals[kind] = self._detect(kind, series[kind], scores=not self._short(window))
        for kind in _KEYS:
            for r in intervals[kind].iter_rows(named=True):
                rows.append({"kind": kind, "series": _label(kind, r), "namespace": r.get("namespace"),
                             "pod": r.get("pod"), "start": r["start"], "end": r["end"], "points": r["points"],
                             "score": r["peak_score"], "direction": r["direction"], "peak_value": r["peak_value"],
                             "baseline": r["baseline"], "id": _series_id(kind, r)})  # fmt: skip
        found = pl.DataFrame(rows, schema=ANOMALY_COLUMNS).sort(["score", "series"], descending=[True, False])
        return (
            series,
            scored,
            intervals,
            found.with_columns(pl.col("score", "peak_value", "baseline").round(3)),
        )

    def refresh(self) -> None:
        """Build the series of the scope, detect anomalies and list them."""
        self._loaded = True
        with busy(self._chart), batched():  # not the table: see workbench.ui.application
            s = self.scope
            key = (
                s.cluster,
                s.namespace,
                s.workload,
                s.traced_only,
                s.window(),
                snapshot_version(self.dataset),
            )
            self._series, self._scored, self._intervals, self.anomalies = self._recent.get(
                key, self._detect_all
            )
            self._show_table()
            self._table_box.objects = [self._table]
            self._show_series()

    def snapshot_changed(self) -> None:
        """Show what the snapshot now holds (live mode), with the same scope, signals and
        selected series (nothing before the page is first computed)."""
        if self._loaded:
            self.refresh()

    @param.depends("kind", watch=True)
    def _show_table(self) -> None:
        shown = self.anomalies.filter(pl.col("kind") == self.kind) if self.kind else self.anomalies
        self._table.value = table_frame(shown).to_pandas()
        start, end = self.scope.window()
        counts = ", ".join(
            f"{n} {k}" for k, n in self.anomalies.group_by("kind").len().sort("kind").iter_rows()
        )
        if self.anomalies.is_empty():
            series = sum(len(s) for s in self._series.values())
            self._note.object = (f"No anomalies in {format_range(start, end)}: "
                                 + ("every series stayed within its expected band." if series else
                                    "this scope has no metrics, spans or log lines to score."))  # fmt: skip
        else:
            self._note.object = (
                f"{self.anomalies.height} anomalous intervals in {format_range(start, end)} ({counts})."
            )

    def _clicked(self, event: Any) -> None:
        self.series = str(self._table.value.iloc[event.row]["id"])

    def _scores(self, kind: str, where: dict[str, Any], mask: pl.Expr) -> pl.DataFrame:
        """Every point's score of the series of ``kind`` with key ``where`` (``mask``): those
        kept, else scored on its own, as it was among the scope's (see :meth:`_detect_all`)."""
        scored = self._scored[kind]
        if scored is not None:
            return scored.filter(mask)
        return an.score(self._series[kind].filter(mask), keys=_KEYS[kind], min_scale=self._floor(kind, where))

    @param.depends("series", watch=True)
    def _show_series(self) -> None:
        if not self._loaded or not self.series:
            return
        kind, _, rest = self.series.partition("|")
        keys = _KEYS.get(kind)
        if keys is None or kind not in self._scored:
            self._chart_note.object = f"Unknown series {self.series!r}."
            return
        values = rest.split("|", len(keys) - 1)
        where = {k: (None if v == "" else v) for k, v in zip(keys, values, strict=False)}
        mask = pl.lit(value=True)
        for k, v in where.items():
            mask = mask & (pl.col(k).is_null() if v is None else pl.col(k) == v)
        one = self._scores(kind, where, mask)
        if one.is_empty():
            self._chart_note.object = "This series is not in the current scope."
            self._chart.object = hv.Div("")
            return
        key = one.select(keys).row(0, named=True)
        changes = an.change_points(self._series[kind].filter(mask), keys=keys)
        unit = (
            METRICS.get(key.get("metric", ""), (0, ""))[1] or _SIGNALS.get(key.get("signal", ""), (0, ""))[1]
        )
        self._chart_note.object = (
            f"{_label(kind, key)}: red = anomalous, grey band = expected, dashed = change points."
        )
        shown = {k: v for k, v in key.items() if v is not None}  # the frames are already this series only
        self._chart.object = overlay(one, intervals=self._intervals[kind].filter(mask), changes=changes, where=shown,
                                     title=_label(kind, key)[:120], ylabel=unit or "lines per minute"
                                     ).opts(legend_position="top_left", backend="bokeh")  # fmt: skip

    def __repr__(self) -> str:
        return f"AnomaliesPage({str(self.dataset.path)!r}, {self.anomalies.height} anomalies)"
