"""The service map page (MSA analysis): who calls whom in the window, with calls, errors and
latency per edge and per service, next to a baseline window (by default the same length just
before), so what changed stands out.

In JupyterLab::

    import workbench as wb, workbench.ui
    wb.ui.servicemap.ServiceMapPage(wb.open("data/demo"), namespace="shop", start="2026-11-02T09:00Z")

Served (``apps/service_map.py``): the scope, the baseline (``base_start``/``base_end``) and the
selected service live in the URL; the selected service's link opens the application page on it.

Speed: the snapshot's spans are read and linked once per process
(:class:`~workbench.analyses.servicemap.LinkedSpans`, for snapshots of at most
:data:`KEEP_SPANS` spans), so a new scope, window or baseline maps the spans it holds without
reading them again; a larger snapshot's scope is read per window and mapped a part of its
traces at a time (:data:`~workbench.analyses.servicemap.PART_SPANS` spans a part), so the
memory it takes is about that of the columns read, not of linking them all at once; the last
few maps are kept (:class:`~workbench.ui._refresh.Recent`); the graph is drawn once by
HoloViews and then in place (:func:`~workbench.ui._inplace.redraw_graph`).
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import os
from typing import Any

import holoviews as hv
import panel as pn
import param
import polars as pl

import workbench
from workbench.analyses import servicemap as analysis
from workbench.analyses._kept import kept, signature
from workbench.store import Dataset, to_utc
from workbench.ui._inplace import PlotFigures, Redraw, dynamic, redraw_graph
from workbench.ui._refresh import Drawn, Recent, batched, watch_scope
from workbench.ui.application.transaction import note
from workbench.ui.common import busy, format_range, page, sync_to_url, table_frame, text_table
from workbench.ui.live import LiveControls, snapshot_version, take_live
from workbench.ui.scope import PAGES, SCOPE_PARAMS, Scope, nav, scope_query
from workbench.viz.servicemap import service_graph

__all__ = ["KEEP_SPANS", "PAGE_PARAMS", "ServiceMapPage", "baseline_window", "linked_spans"]

log = logging.getLogger(__name__)

#: Page state kept in the URL besides the scope.
PAGE_PARAMS = ("service", "base_start", "base_end")

_EDGE_VIEW = {
    "caller": "caller",
    "callee": "callee",
    "callee_kind": "kind",
    "calls": "calls",
    "calls_base": "calls (baseline)",
    "calls_delta": "Δ calls",
    "error_rate": "errors (%)",
    "error_rate_base": "errors (%, baseline)",
    "latency_p50_ms": "p50 (ms)",
    "latency_p99_ms": "p99 (ms)",
    "latency_p99_ms_base": "p99 (ms, baseline)",
    "latency_p99_ms_ratio": "p99 × baseline",
}
_SERVICE_VIEW = {
    "service": "service",
    "node_kind": "kind",
    "calls": "calls",
    "calls_base": "calls (baseline)",
    "error_rate": "errors (%)",
    "error_rate_base": "errors (%, baseline)",
    "latency_p99_ms": "p99 (ms)",
    "latency_p99_ms_base": "p99 (ms, baseline)",
    "self_ratio": "self time (%)",
}


#: Snapshots with at most this many spans keep them linked in memory (once per process, shared by
#: every session; about 120 bytes a span).
KEEP_SPANS = 2_000_000


def linked_spans(ds: Dataset) -> analysis.LinkedSpans | None:
    """The snapshot's spans linked once per version of it (:func:`~workbench.analyses._kept.kept`
    on its :func:`~workbench.analyses._kept.signature`: a snapshot that grew, once ``ds`` is
    refreshed, is read again), or None when it has more than :data:`KEEP_SPANS`."""
    if ds.row_counts.get("spans", 0) > KEEP_SPANS:
        return None
    return kept("linked spans", signature(ds), lambda: analysis.LinkedSpans.of(ds.scan("spans")), size=2)


def baseline_window(start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The default baseline of a window: the same length just before it.

    >>> a = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)
    >>> [t.hour for t in baseline_window(a, a + dt.timedelta(hours=2))]
    [7, 9]
    """
    return start - (end - start), start


def _view(frame: pl.DataFrame, columns: dict[str, str]) -> pl.DataFrame:
    """The columns shown, rates in %, numbers rounded, plus ``change`` (new/gone)."""
    out = frame.select(list(columns)).with_columns(
        *[(pl.col(c) * 100).round(2) for c in columns if c.startswith(("error_rate", "self_ratio"))],
        *[pl.col(c).round(1) for c in columns if c.startswith("latency") and not c.endswith("ratio")],
        *[pl.col(c).round(2) for c in columns if c.endswith("ratio") and not c.startswith("self")],
    )
    change = (
        pl.when(pl.col("calls_base") == 0)
        .then(pl.lit("new"))
        .when(pl.col("calls") == 0)
        .then(pl.lit("gone"))
        .otherwise(pl.lit(""))
    )
    return out.with_columns(change.alias("change"))


class ServiceMapPage(pn.viewable.Viewer):
    """The service map of a :class:`Scope`'s window next to a baseline (see the module docstring)."""

    service = param.String(
        default="", doc="Selected service ('' = none): its edges and a link to its APM page."
    )
    base_start = param.String(
        default="", doc="Baseline start, ISO 8601 ('' = the window's length before it)."
    )
    base_end = param.String(default="", doc="Baseline end, ISO 8601 ('' = the window's start).")

    def __init__(
        self, dataset: Dataset | str | os.PathLike[str], *, scope: Scope | None = None, **params: Any
    ) -> None:
        self.dataset = dataset if isinstance(dataset, Dataset) else workbench.open(dataset)
        scoped = {k: params.pop(k) for k in SCOPE_PARAMS if k in params}
        self.scope = scope if scope is not None else Scope(self.dataset, **scoped)
        live = take_live(params)
        super().__init__(**params)
        self.live = LiveControls(self.dataset, self.snapshot_changed, scope=self.scope, **live)
        self.map = analysis.ServiceMap(
            pl.DataFrame(schema=analysis.EDGE_COLUMNS), pl.DataFrame(schema=analysis.SERVICE_COLUMNS)
        )
        self.compared = self.map
        self._drawn = Drawn()
        self._recent: Recent[tuple[analysis.ServiceMap, analysis.ServiceMap]] = Recent()
        self._build()
        watch_scope(self.scope, SCOPE_PARAMS, self.refresh)
        self.refresh()

    # -- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        empty_edges = {**analysis.EDGE_COLUMNS, **{f"{c}_base": t for c, t in analysis.EDGE_COLUMNS.items()}}
        empty_edges |= {"calls_delta": pl.Int64(), "latency_p99_ms_ratio": pl.Float64()}
        empty_nodes = {
            **analysis.SERVICE_COLUMNS,
            **{f"{c}_base": t for c, t in analysis.SERVICE_COLUMNS.items()},
        }
        self._note = note("", css="wb-map-note")
        self._graph = pn.pane.HoloViews(sizing_mode="stretch_width", min_height=480, linked_axes=False)
        # the graph is hidden when there is none to draw; the space it takes stays
        self._graph_box = pn.Column(self._graph, sizing_mode="stretch_width", min_height=490)
        self._graph_stream = Redraw()
        self._graph_shown = PlotFigures()
        self._graph_frame: tuple[analysis.ServiceMap, str] | None = None
        self._graph_empty = True
        self._edges = text_table(
            _view(pl.DataFrame(schema=empty_edges), _EDGE_VIEW),
            titles=_EDGE_VIEW,
            pagination="local",
            page_size=25,
            css_classes=["wb-edges"],
        )
        self._services = text_table(
            _view(pl.DataFrame(schema=empty_nodes), _SERVICE_VIEW),
            titles=_SERVICE_VIEW,
            pagination="local",
            page_size=25,
            css_classes=["wb-map-services"],
        )
        self._services.on_click(self._service_clicked)
        self._link = pn.pane.HTML(
            "", sizing_mode="stretch_width", css_classes=["wb-app-link"], margin=(4, 10)
        )
        self._service_select = pn.widgets.Select(
            label="Service", options={"None": ""}, sizing_mode="stretch_width"
        )
        self._service_select.link(self, value="service")
        self.param.watch(lambda *_: self._show_service_choice(), "service")
        self._baseline = pn.widgets.DatetimeRangePicker(label="Baseline (UTC)", enable_seconds=False)
        self._baseline.param.watch(self._baseline_picked, "value")

    def _show_service_choice(self, services: list[str] | None = None) -> None:
        known = services if services is not None else [v for v in self._service_select.options.values() if v]
        extra = [self.service] if self.service and self.service not in known else []
        self._service_select.options = {"None": "", **{s: s for s in [*known, *extra]}}
        self._service_select.value = self.service

    def controls(self) -> pn.Column:
        """The service and baseline selectors."""
        return pn.Column(self._service_select, self._baseline, sizing_mode="stretch_width")

    def sections(self) -> list[pn.viewable.Viewable]:
        """The page's sections, top to bottom."""
        card = {"collapsible": False, "sizing_mode": "stretch_width"}
        return [
            pn.Column(self._note, self._link, sizing_mode="stretch_width"),
            pn.Card(self._graph_box, title="Service map (edges coloured by error rate)", **card),
            pn.Card(self._services, title="Services vs baseline (click one to pick it)", **card),
            pn.Card(self._edges, title="Calls between services vs baseline", **card),
        ]

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            pn.Row(self.scope.widgets(), self.live),
            self.controls(),
            *self.sections(),
            sizing_mode="stretch_width",
        )

    def page(self) -> pn.template.BaseTemplate:
        """The served page: scope, baseline, selected service and live mode synced to the URL."""
        self.scope.sync()
        sync_to_url(self, PAGE_PARAMS)
        self.live.sync()
        sidebar = [
            self.scope.widgets(),
            self.controls(),
            pn.layout.Divider(),
            self.live,
            pn.layout.Divider(),
            nav(self.scope, current="service_map"),
        ]
        return page(PAGES["service_map"], snapshot=self.dataset.path, sidebar=sidebar, main=self.sections())

    # -- computing ------------------------------------------------------------------------------
    def windows(self) -> tuple[tuple[dt.datetime, dt.datetime], tuple[dt.datetime, dt.datetime]] | None:
        """``(window, baseline)`` as UTC datetimes, or None when the snapshot has no window."""
        start, end = self.scope.window()
        if start is None or end is None:
            return None
        default = baseline_window(start, end)
        b0 = to_utc(self.base_start) if self.base_start else default[0]
        b1 = to_utc(self.base_end) if self.base_end else default[1]
        return (start, end), (b0 or default[0], b1 or default[1])

    def _spans(self) -> pl.LazyFrame:
        return self.dataset.scan("spans", **self.scope.filters())

    @param.depends("base_start", "base_end", watch=True)
    def refresh(self) -> None:
        """Compute the map of the window and its comparison with the baseline, and show them."""
        windows = self.windows()
        with busy(self._graph), batched(self._graph):
            if windows is None:
                self._note.object = "This snapshot has no time window, so there is nothing to map."
                return
            (start, end), (b0, b1) = windows
            key = (
                tuple(sorted(self.scope.filters().items())),
                start,
                end,
                b0,
                b1,
                snapshot_version(self.dataset),
            )
            self.map, self.compared = self._recent.get(key, lambda: self._maps(start, end, b0, b1))
            self._baseline.value = (b0.replace(tzinfo=None), b1.replace(tzinfo=None))
            names = sorted(self.map.services.filter(pl.col("node_kind") == "service")["service"].to_list())
            self._show_service_choice(names)
            self._note.object = self._describe(start, end, b0, b1)
            self._render()

    def snapshot_changed(self) -> None:
        """Show what the snapshot now holds (live mode), with the same scope, baseline and
        selected service."""
        self.refresh()

    def _maps(
        self, start: dt.datetime, end: dt.datetime, b0: dt.datetime, b1: dt.datetime
    ) -> tuple[analysis.ServiceMap, analysis.ServiceMap]:
        """The window's map and its comparison with the baseline."""
        linked = linked_spans(self.dataset)
        if linked is not None:  # the scope's spans chosen as a scan would give them
            where = self.dataset.predicates("spans", **self.scope.filters())
            now = linked.service_map(where, start=start, end=end)
            return now, analysis.versus(now, linked.service_map(where, start=b0, end=b1))
        now = analysis.service_map(self._spans(), start=start, end=end)
        return now, analysis.compare(self._spans(), window=(start, end), baseline=(b0, b1), current=now)

    def _describe(self, start: dt.datetime, end: dt.datetime, b0: dt.datetime, b1: dt.datetime) -> str:
        where = " / ".join(v for v in (self.scope.cluster, self.scope.namespace, self.scope.workload) if v)
        text = (
            f"{self.map.edges.height} edges between {self.map.services.height} services and external nodes in "
            f"{where or 'all clusters and namespaces'}, {format_range(start, end)}; baseline {format_range(b0, b1)}."
        )
        if self.map.edges.is_empty():
            text = (
                f"No calls in this scope ({where or 'all clusters and namespaces'}, {format_range(start, end)}): "
                "its services are not instrumented, or no traces were collected for it."
            )
        lo = self.dataset.window[0]
        if lo is not None and b0 < lo:
            text += (
                "\nThe baseline starts before the snapshot's data, so edges may look new: pick a later window "
                "or set the baseline in the sidebar."
            )
        return text

    @param.depends("service", watch=True)
    def _service_changed(self) -> None:
        with batched(self._graph):
            self._render()

    def _render(self) -> None:
        sm, cmp = self.map, self.compared
        if self.service:
            touches = (pl.col("caller") == self.service) | (pl.col("callee") == self.service)
            names = {self.service, *sm.edges.filter(touches)["caller"], *sm.edges.filter(touches)["callee"]}
            sm = analysis.ServiceMap(
                sm.edges.filter(touches), sm.services.filter(pl.col("service").is_in(names))
            )
            cmp = analysis.ServiceMap(cmp.edges.filter(touches), cmp.services)
        title = f"Service map around {self.service}" if self.service else "Service map"
        draw = self._drawn.draw  # what did not change is not drawn again
        draw("graph", lambda: self._show_graph(sm, title), sm.edges, sm.services, title)
        draw("edges", lambda: setattr(self._edges, "value", table_frame(_view(cmp.edges, _EDGE_VIEW)).to_pandas()),
             cmp.edges)  # fmt: skip
        draw("services", lambda: setattr(self._services, "value", table_frame(
            _view(cmp.services, _SERVICE_VIEW)).to_pandas()), cmp.services)  # fmt: skip
        if self.service:
            href = f"./application{scope_query(self.scope, service=self.service)}"
            self._link.object = (
                f'<a href="{html.escape(href)}">Open the application page of {html.escape(self.service)}</a> '
                "(TPS, response time, hitmap and transactions)"
            )
        else:
            self._link.object = (
                "Pick a service (table or sidebar) to focus the map on it and open its transactions."
            )

    def _show_graph(self, sm: analysis.ServiceMap, title: str) -> None:
        """Draw the graph of ``sm``: in place on the figures shown, else as a new plot (the
        first time, or when the figure lacks a layer of labels it needs); hidden when empty
        (the figure, not the pane: a HoloViews pane made invisible fails in Panel 1.9)."""
        self._graph_empty = not sm.edges.height
        if not self._graph_empty:
            self._graph_frame = (sm, title)
            drawn = self._graph.object is not None and self._graph_shown.draw(
                self._graph_stream, lambda: service_graph(sm, title=title), redraw_graph
            )
            if not drawn:
                self._graph_stream, self._graph_shown = Redraw(), PlotFigures()
                self._graph.object = dynamic(self._draw_graph, self._graph_stream)
        for fig in list(self._graph_shown.figures):
            fig.visible = not self._graph_empty

    def _draw_graph(self) -> hv.Overlay:
        assert self._graph_frame is not None
        sm, title = self._graph_frame
        return service_graph(sm, title=title).opts(
            hooks=[self._graph_shown.hook, self._hide_graph], backend="bokeh"
        )

    def _hide_graph(self, plot: Any, element: Any) -> None:
        """HoloViews hook: a view rendered while there is no graph to show hides its figure."""
        del element
        plot.state.visible = not self._graph_empty

    def _service_clicked(self, event: Any) -> None:
        row = self._services.value.iloc[event.row]
        if row["node_kind"] == "service":
            self.service = "" if row["service"] == self.service else str(row["service"])

    def _baseline_picked(self, event: param.parameterized.Event) -> None:
        if not event.new:
            return
        a, b = (t.replace(tzinfo=dt.UTC) for t in event.new)
        windows = self.windows()
        default = baseline_window(*windows[0]) if windows else None
        if default is not None and (a, b) == default:
            self.param.update(base_start="", base_end="")
        else:
            self.param.update(base_start=a.isoformat(), base_end=b.isoformat())

    def __repr__(self) -> str:
        return f"ServiceMapPage({str(self.dataset.path)!r}, service={self.service!r})"
