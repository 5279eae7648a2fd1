"""One transaction in full: its trace as a waterfall and a span table, the log lines that carry
its trace id (as text), and its pod's CPU, memory and network around the moment it finished,
with the pod's container states. The waterfall and the pod's charts are Bokeh figures built for
the first trace and redrawn in place for the next (:class:`workbench.viz.hitmap.Waterfall`,
:class:`workbench.viz.perf.MetricGrid`).

    view = TransactionView(ds)
    view.show("be50fee37ad4b479410e16bf678aa1df", service="checkout")
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import panel as pn
import polars as pl

from workbench.analyses import hitmap, perf
from workbench.analyses import logs as logs_analysis
from workbench.errors import ParameterError
from workbench.schema import empty
from workbench.store import Dataset
from workbench.ui._refresh import batched
from workbench.ui.common import (
    PlainText,
    busy,
    format_bytes,
    format_cores,
    format_range,
    table_frame,
    text_table,
)
from workbench.viz import perf as perf_viz
from workbench.viz.hitmap import Waterfall

__all__ = ["TransactionView", "note"]

log = logging.getLogger(__name__)

_POD_METRICS = ("cpu_usage", "memory_usage", "network_rx", "network_tx")
_AROUND = dt.timedelta(minutes=15)  # pod metrics shown this long before and after the transaction
_HINT = "Click a transaction to see its trace, its logs and its pod."


def note(message: str, *, css: str = "wb-note") -> PlainText:
    """An empty-state or status line, shown as text (it may hold cluster names, log patterns…)."""
    return PlainText(message, css_classes=[css], sizing_mode="stretch_width", margin=(4, 10),
                     styles={"opacity": "0.85"})  # fmt: skip


def _place(box: pn.Column, objects: list[pn.viewable.Viewable]) -> None:
    """Show ``objects`` in ``box`` unless it shows them already (setting the same objects again
    makes a served page walk its whole model graph: tens of milliseconds)."""
    if len(box.objects) != len(objects) or any(a is not b for a, b in zip(box.objects, objects, strict=True)):
        box.objects = objects


def _spans_view(spans: pl.DataFrame) -> pl.DataFrame:
    return spans.select(
        "row",
        "service",
        "operation",
        "kind",
        pl.col("offset_ms").round(3),
        pl.col("duration_ms").round(3),
        "error",
        "pod",
        "status_message",
    )


def _logs_view(lines: pl.DataFrame) -> pl.DataFrame:
    return lines.select("ts", "level", "pod", "container", "message")


def _containers_view(containers: pl.DataFrame) -> pl.DataFrame:
    return containers.select(
        "name",
        "is_init",
        "state",
        "reason",
        "ready",
        "restarts",
        "last_reason",
        "last_finished_at",
        "started_at",
        "image",
        "message",
    )


class TransactionView(pn.viewable.Viewer):
    """The detail of one trace (see the module docstring); :meth:`show` fills it."""

    def __init__(self, dataset: Dataset, **params: Any) -> None:
        super().__init__(**params)
        self.dataset = dataset
        self.trace = pl.DataFrame(schema=hitmap.WATERFALL_COLUMNS)
        self._note = note(_HINT, css="wb-trace-note")
        # the waterfall and the pod's charts are Bokeh figures built once (the pod's for the
        # first pod, anew only for another set of metrics) and redrawn in place for the next
        # trace: a click sends new data, not new plots. Each is marked busy through its column:
        # Panel's Bokeh pane copies its own changed properties onto the figures it shows.
        self._waterfall_fig = Waterfall()
        self._waterfall_plot = pn.pane.Bokeh(None, sizing_mode="stretch_width")
        self._waterfall = pn.Column(
            self._waterfall_plot, sizing_mode="stretch_width", css_classes=["wb-waterfall"]
        )
        self._spans = text_table(
            _spans_view(self.trace),
            wrap=("status_message",),
            css_classes=["wb-trace-spans"],
            titles={"offset_ms": "start (ms)", "duration_ms": "duration (ms)"},
        )
        self._logs_note = note("")
        self._logs = text_table(
            _logs_view(pl.DataFrame(schema=logs_analysis.SEARCH_COLUMNS)),
            wrap=("message",),
            css_classes=["wb-trace-logs"],
        )
        self._pod_note = note("")
        self._pod_grid: perf_viz.MetricGrid | None = None
        self._pod_plot = pn.pane.Bokeh(None, sizing_mode="stretch_width")
        self._pod_charts = pn.Column(
            self._pod_plot, sizing_mode="stretch_width", css_classes=["wb-pod-charts"]
        )
        self._containers = text_table(
            _containers_view(empty("containers")), wrap=("message",), css_classes=["wb-containers"]
        )
        # tables join the page once they hold rows (a Tabulator drawn hidden or empty, then
        # filled in the same tick, can stay empty); plots stay in place (a grid of responsive
        # plots added to the page later is drawn without size)
        self._spans_box, self._logs_box, self._containers_box = (
            pn.Column(sizing_mode="stretch_width") for _ in "abc"
        )

    def __panel__(self) -> pn.viewable.Viewable:
        parts = [
            self._note,
            self._waterfall,
            self._spans_box,
            self._logs_box,
            self._pod_note,
            self._pod_charts,
        ]
        return pn.Column(*parts, self._containers_box, sizing_mode="stretch_width")

    def clear(self, message: str = _HINT) -> None:
        """Show nothing but ``message``."""
        self.trace = pl.DataFrame(schema=hitmap.WATERFALL_COLUMNS)
        self._note.object = message
        self._waterfall_plot.object = self._pod_plot.object = None
        self._pod_note.object = ""
        for box in (self._spans_box, self._logs_box, self._containers_box):
            _place(box, [])

    def show(
        self,
        trace_id: str,
        *,
        spans: pl.DataFrame | None = None,
        service: str = "",
        cluster: str | None = None,
        namespace: str | None = None,
    ) -> pl.DataFrame:
        """Show trace ``trace_id``; ``spans`` (the page's spans, any subset) give its time and
        cluster so only those files are read; ``service`` picks the transaction whose pod is
        shown (else the root's). Returns the waterfall table."""
        with busy(self._waterfall, self._pod_charts), batched(self._waterfall_plot, self._pod_plot):
            mine = spans.filter(pl.col("trace_id") == trace_id) if spans is not None else pl.DataFrame()
            if mine.height:
                cluster = mine["cluster"][0]
            lo = mine["start"].min() - dt.timedelta(minutes=1) if mine.height else None
            hi = mine["end"].max() + dt.timedelta(minutes=1) if mine.height else None
            trace = hitmap.trace(self.dataset, trace_id, cluster=cluster, start=lo, end=hi)
            if trace.is_empty():
                self.clear(f"Trace {trace_id} is not in this snapshot (or not in this cluster).")
                return trace
            self.trace = trace
            errors = int(trace["error"].fill_null(value=False).sum())
            took = (trace["offset_ms"] + trace["duration_ms"]).max() or 0.0
            services = trace["service"].drop_nulls().unique().len()
            self._note.object = (
                f"Trace {trace_id}: {trace.height} spans in {services} services, "
                f"{took:.1f} ms, {errors} failed."
            )
            self._waterfall_fig.show(trace)
            if self._waterfall_plot.object is not self._waterfall_fig.figure:
                self._waterfall_plot.object = self._waterfall_fig.figure
            self._spans.value = table_frame(_spans_view(trace)).to_pandas()
            self._show_logs(trace_id, cluster, trace["start"].min())
            entry = trace.filter(pl.col("service") == service) if service else trace
            entry = (entry if entry.height else trace).filter(pl.col("pod").is_not_null())
            if entry.height:
                first = entry.row(0, named=True)
                moment = first["start"] + dt.timedelta(milliseconds=first["duration_ms"] or 0)
                rows = mine.filter(pl.col("pod") == first["pod"]) if mine.height else mine
                self._show_pod(
                    cluster, rows["namespace"][0] if rows.height else namespace, first["pod"], moment
                )
            else:
                self._pod_note.object = "No span of this trace names its pod."
                self._pod_plot.object = None
                self._containers.value = self._containers.value.head(0)
            _place(self._spans_box, [self._spans])
            _place(self._logs_box, [self._logs_note, *([self._logs] if len(self._logs.value) else [])])
            _place(self._containers_box, [self._containers] if len(self._containers.value) else [])
        return trace

    def _show_logs(self, trace_id: str, cluster: str | None, start: dt.datetime) -> None:
        lines = logs_analysis.search(
            self.dataset,
            trace_id=trace_id,
            cluster=cluster,
            limit=500,
            start=start - dt.timedelta(minutes=10),
            end=start + dt.timedelta(hours=1),
        )
        lines = lines.sort("ts")
        self._logs_note.object = (
            f"{lines.height} log lines carry this trace id."
            if lines.height
            else "No log line carries this trace id (its services may not log trace ids)."
        )
        self._logs.value = table_frame(_logs_view(lines)).to_pandas()

    def _show_pod(self, cluster: str | None, namespace: str | None, pod: str, moment: dt.datetime) -> None:
        lo, hi = moment - _AROUND, moment + _AROUND
        try:
            view = perf.browse(
                self.dataset,
                cluster=cluster,
                namespace=namespace,
                pods=(pod,),
                metrics=_POD_METRICS,
                start=lo,
                end=hi,
                step="30s",
            )
        except ParameterError:
            # a trace can name a pod the snapshot does not hold then (deleted before, of a
            # cluster not collected, a span's pod name unknown): say so, keep the rest shown
            why = self._missing(cluster, namespace, pod, lo, hi)
            if why is None:
                raise
            self._pod_note.object = f"No metrics for pod {f'{namespace}/{pod}' if namespace else pod}: {why}."
            self._pod_plot.object = None
            self._containers.value = self._containers.value.head(0)
            return
        where = f"Pod {namespace}/{pod}"
        if view.pods.height:
            p = view.pods.row(0, named=True)
            where += (
                f" on node {p['node'] or '–'} (CPU request/limit {format_cores(p['cpu_request'])}/"
                f"{format_cores(p['cpu_limit'])}, memory {format_bytes(p['memory_request'])}/"
                f"{format_bytes(p['memory_limit'])})"
            )
        self._pod_note.object = (
            f"{where}, {format_range(lo, hi)}; the red line marks the transaction's finish."
        )
        metrics = perf_viz.grid_metrics(view.data) if view.data.height else ()
        if not metrics:
            self._pod_note.object += "\nNo metrics were collected for this pod then."
            self._pod_plot.object = None
        else:
            if self._pod_grid is None or self._pod_grid.metrics != metrics:
                self._pod_grid = perf_viz.MetricGrid(metrics, cols=2)
            self._pod_grid.show(view.data, mark=moment)
            if self._pod_plot.object is not self._pod_grid.layout:
                self._pod_plot.object = self._pod_grid.layout
        containers = self.dataset.containers(cluster=cluster, namespace=namespace, pod=pod)
        self._containers.value = table_frame(_containers_view(containers)).to_pandas()

    def _missing(
        self, cluster: str | None, namespace: str | None, pod: str, lo: dt.datetime, hi: dt.datetime
    ) -> str | None:
        """Why the snapshot has no pod ``pod`` to browse from ``lo`` to ``hi`` (None if it has)."""
        if cluster is not None and cluster not in self.dataset.clusters:
            return f"its cluster {cluster} is not in this snapshot"
        pods = self.dataset.scan("pods", cluster=cluster, namespace=namespace, pod=pod, start=lo, end=hi)
        if pods.select("name").head(1).collect().is_empty():
            return "it is not in the snapshot's pods for this window"
        return None
