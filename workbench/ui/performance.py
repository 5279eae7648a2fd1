"""The performance browser page: choose a workload (in the scope), some of its pods and metrics
from the catalogue of :mod:`workbench.analyses.perf`, and compare them side by side on one
time axis, with a summary table (mean, p95, max, last per pod and metric, with units).

In JupyterLab::

    import workbench as wb, workbench.ui
    wb.ui.performance.PerformancePage(wb.open("data/demo"), namespace="shop", workload="Deployment/checkout")

Served (``apps/performance.py``): the scope, the pods (``?pods=a,b``; empty = all of the
workload's), the metrics (``?metrics=cpu_usage,memory_usage``; empty = the default set) and the
bucket width (``?step=1m``) live in the URL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import panel as pn
import param
import polars as pl

from workbench.analyses import perf
from workbench.errors import WorkbenchError
from workbench.ui._refresh import Recent, batched
from workbench.ui.common import busy, format_bytes, format_cores, format_count, table_frame, text_table
from workbench.ui.live import LivePage, plain_text, snapshot_version
from workbench.viz import perf as fv

__all__ = ["STEPS", "PerformancePage", "format_number", "format_value", "split", "summary_view"]

#: Bucket widths offered (the first is the analysis' default).
STEPS = ("1m", "15s", "5m", "15m", "1h")

_FORMAT: dict[str, Callable[[float], str]] = {
    "millicores": lambda v: format_cores(v / 1000.0),
    "bytes": format_bytes,
    "bytes/s": lambda v: f"{format_bytes(v)}/s",
    "%": lambda v: f"{v:.1f}%",
    "events": lambda v: format_count(round(v, 2)),
}


def format_value(value: float | None, unit: str) -> str:
    """A value of the catalogue's ``unit`` as people read it (``250m``, ``300 MiB``, ``1.2 KiB/s``, ``12.5%``)."""
    if value is None:
        return ""
    return _FORMAT.get(unit, lambda v: f"{v:.3g} {unit}")(value)


def split(text: str) -> list[str]:
    """A comma-separated URL value as a list (``"a, b,"`` → ``["a", "b"]``)."""
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def format_number(value: float | None) -> str:
    """A number with about three significant digits, never in exponent form unless tiny
    (``0.123``, ``1.23``, ``12.3``, ``123``, ``12,345``; '' for None)."""
    if value is None:
        return ""
    size = abs(value)
    if size >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.1f}" if size >= 10 else f"{value:.2f}" if size >= 1 else f"{value:.3g}"


def summary_view(summary: pl.DataFrame, *, clusters: bool) -> pl.DataFrame:
    """The summary (:data:`perf.SUMMARY_COLUMNS`) as shown: the values as numbers in the unit the
    charts use (:func:`workbench.viz.perf.shown_unit`: bytes in MiB, bytes/s in KiB/s), which
    the ``unit`` column names."""
    shown = [fv.shown_unit(u) for u in summary["unit"].to_list()]
    cols = [
        pl.Series(
            c,
            [
                format_number(None if v is None else v / d)
                for v, (d, _) in zip(summary[c].to_list(), shown, strict=True)
            ],
            dtype=pl.String,
        )
        for c in ("mean", "p95", "max", "last")
    ]
    unit = pl.Series("unit", [u for _, u in shown], dtype=pl.String)
    view = summary.with_columns(*cols, unit).select(
        "pod", "metric", "mean", "p95", "max", "last", "samples", "unit", "cluster"
    )
    return view if clusters else view.drop("cluster")


class PerformancePage(LivePage):
    """Metrics of a workload's pods compared on one time axis."""

    slug: ClassVar[str] = "performance"
    url_params: ClassVar[dict[str, str]] = {"pods": "pods", "metrics": "metrics", "step": "step"}
    scope_options: ClassVar[dict[str, bool]] = {"traced": False}

    pods = param.String(default="", doc="Pods to compare, comma-separated ('' = all of the workload's).")
    metrics = param.String(default="", doc="Metrics to compare, comma-separated ('' = the default set).")
    step = param.Selector(default=STEPS[0], objects=list(STEPS), doc="Bucket width.")

    def _build(self) -> None:
        self.result: perf.PerfView | None = None
        self._recent: Recent[perf.PerfView] = Recent()
        self._syncing = False
        self._pod_choice = pn.widgets.MultiChoice(name="Pods (none chosen = all)", options=[], sizing_mode="stretch_width",
                                                  css_classes=["wb-pod-choice"])  # fmt: skip
        labels = {f"{m.replace('_', ' ')} ({unit})": m for m, (unit, _doc) in perf.METRICS.items()}
        self._metric_choice = pn.widgets.MultiChoice(
            name="Metrics", options=labels, value=list(self._metric_names()), sizing_mode="stretch_width",
            css_classes=["wb-metric-choice"],
            description="; ".join(f"{m}: {doc}" for m, (_u, doc) in perf.METRICS.items()),
        )  # fmt: skip
        self._step = pn.widgets.Select.from_param(self.param.step, name="bucket", width=110)
        self._pod_choice.param.watch(self._pods_chosen, "value")
        self._metric_choice.param.watch(self._metrics_chosen, "value")
        self._note = plain_text("", sizing_mode="stretch_width",
                                 css_classes=["wb-perf-note"])  # fmt: skip
        # the metric grid is built for the first data and then redrawn in place (a new one only
        # for another set of metrics): a new scope costs milliseconds of charts, not a second
        self._grid: fv.MetricGrid | None = None
        # (shown and hidden by its column: Panel's Bokeh pane copies its figure's properties, Panel's
        # own style sheets among them, when one of its own changes once it is shown)
        self._plot = pn.pane.Bokeh(None, sizing_mode="stretch_width")
        self._charts = pn.Column(self._plot, sizing_mode="stretch_width", css_classes=["wb-perf-charts"])
        self._summary = text_table(
            pl.DataFrame(), pagination="local", page_size=30, css_classes=["wb-perf-summary"]
        )

    def sections(self) -> list[pn.viewable.Viewable]:
        card = {"collapsible": False, "sizing_mode": "stretch_width"}
        return [
            pn.Card(pn.Row(self._pod_choice, self._metric_choice, self._step, sizing_mode="stretch_width"),
                    self._note, title="Pods and metrics", **card),
            pn.Card(self._charts, title="Side by side (shared time axis)", **card),
            pn.Card(self._summary, title="Summary per pod and metric", **card),
        ]  # fmt: skip

    # -- selection <-> URL ------------------------------------------------------------------------
    def _metric_names(self) -> tuple[str, ...]:
        chosen = [m for m in split(self.metrics) if m in perf.METRICS]
        return tuple(chosen) or perf.DEFAULT_METRICS

    def _pods_chosen(self, event: param.parameterized.Event) -> None:
        if not self._syncing:
            self.pods = ",".join(event.new)

    def _metrics_chosen(self, event: param.parameterized.Event) -> None:
        if not self._syncing:
            self.metrics = ",".join(event.new)

    @param.depends("pods", "metrics", "step", watch=True)
    def _selection_changed(self) -> None:
        if self.started:
            self.refresh()

    # -- data -------------------------------------------------------------------------------------
    def candidates(self) -> pl.DataFrame:
        """The pods of the scope's workload that existed in the window (what can be chosen)."""
        s = self.scope
        start, end = s.window()
        return self.dataset.pods(**s.filters(), start=start, end=end).sort("name")

    def refresh(self) -> None:
        """Re-read the pods of the workload and redraw the charts and the summary."""
        with busy(self._charts, self._summary), batched():
            s = self.scope
            pool = self.candidates()["name"].unique().sort().to_list() if s.workload else []
            wanted = split(self.pods)
            chosen = [p for p in wanted if p in pool]
            metrics = self._metric_names()
            self._syncing = True
            try:
                self._pod_choice.options = pool
                self._pod_choice.value = chosen
                self._metric_choice.value = list(metrics)
            finally:
                self._syncing = False
            if not s.workload:
                self._empty("Choose a workload in the sidebar (Workload) to compare its pods.")
                return
            if not pool:
                self._empty(
                    f"{s.workload} has no pods in this window; widen the window or pick another workload."
                )
                return
            try:
                p = perf.PerfParams(cluster=s.cluster or None, namespace=s.namespace or None, workload=s.workload,
                                    pods=tuple(chosen), metrics=metrics, start=s.start or None, end=s.end or None,
                                    step=self.step)  # fmt: skip
                view = self._recent.get(
                    (p, snapshot_version(self.dataset)), lambda: perf.browse(self.dataset, p)
                )
            except WorkbenchError as err:
                self._empty(f"Cannot compare: {err}")
                return
            self.result = view
            ignored = [p for p in wanted if p not in pool]
            shown = view.pods["name"].to_list()
            lines = [f"{len(shown)} pod(s) of {s.workload} × {len(metrics)} metric(s), {self.step} buckets."]
            if ignored:
                lines.append(f"Not pods of {s.workload} in this window (ignored): {', '.join(ignored)}")
            missing = [m for m in metrics if m not in set(view.data["metric"].unique().to_list())]
            if missing:
                lines.append(f"No data for: {', '.join(missing)} (not collected for these pods).")
            self._note.object = "\n".join(lines)
            self._draw(view.data)
            multi = view.summary["cluster"].n_unique() > 1
            self._summary.value = table_frame(summary_view(view.summary, clusters=multi)).to_pandas()

    def _draw(self, data: pl.DataFrame) -> None:
        """Show ``data`` in the metric grid: redrawn in place when it has the same metrics."""
        metrics = fv.grid_metrics(data)
        if not metrics:
            self._charts.visible = False
            return
        if self._grid is None or self._grid.metrics != metrics:
            self._grid = fv.MetricGrid(metrics)
            self._grid.show(data)
            self._plot.object = self._grid.layout
        else:
            self._grid.show(data)
            pn.io.push_notebook(self._plot)  # served pages send the changed models themselves
        self._charts.visible = True

    def _empty(self, why: str) -> None:
        self.result = None
        self._note.object = why
        self._charts.visible = False  # kept for the next workload: redrawn, not built again
        self._summary.value = table_frame(
            summary_view(pl.DataFrame(schema=perf.SUMMARY_COLUMNS), clusters=False)
        ).to_pandas()

    def __repr__(self) -> str:
        return (
            f"PerformancePage(workload={self.scope.workload!r}, pods={self.pods!r}, metrics={self.metrics!r})"
        )
