"""The application dashboard: TPS, response time, errors and active transactions per service,
the hitmap (X-View) where a box selection lists its transactions, and for a chosen
transaction its trace waterfall, its logs and its pod's CPU, memory, network and containers.

In JupyterLab::

    import workbench as wb, workbench.ui
    app = wb.ui.application.ApplicationPage(wb.open("data/demo"), namespace="shop", service="checkout")
    app                                               # renders inline
    app.select_box("2026-11-02T09:00Z", "2026-11-02T09:30Z", 500, 60_000)   # what a drag does

Served (``apps/application.py``): the scope, the service, the box (``t0``, ``t1``, ``rt_min``,
``rt_max``) and the trace live in the URL, so a link reopens the same selection.

Speed: the spans of the scope are read once per scope change and kept for the session; a box
selection or a service change only filters them (:meth:`ApplicationPage.select_box`).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Any

import holoviews as hv
import panel as pn
import param
import polars as pl

import workbench
from workbench.analyses import apm, hitmap
from workbench.errors import WorkbenchError
from workbench.store import Dataset, to_utc
from workbench.ui.application.box import BoxMarker
from workbench.ui.application.transaction import TransactionView, note
from workbench.ui.application.views import (
    SUMMARY_TITLES,
    TX_TITLES,
    bucket_for,
    empty_summary,
    small_multiples,
    summary_view,
    tx_view,
)
from workbench.ui.common import (
    busy,
    format_count,
    format_range,
    page,
    stat,
    sync_to_url,
    table_frame,
    text_table,
)
from workbench.ui.scope import SCOPE_PARAMS, Scope, nav
from workbench.viz import apm as apm_viz
from workbench.viz.hitmap import box_from_bounds, hitmap_element

__all__ = ["SELECTION_PARAMS", "ApplicationPage", "TransactionView", "note"]

log = logging.getLogger(__name__)

#: Page state kept in the URL besides the scope.
SELECTION_PARAMS = ("service", "t0", "t1", "rt_min", "rt_max", "trace")
#: Span columns the page keeps per session (what the APM analyses read).
_SPAN_COLUMNS = tuple(
    "cluster trace_id span_id parent_id service operation kind start end duration_us error http_route "
    "http_status_code namespace pod".split()
)
#: apm's default lookback: a transaction may have started this long before the window.
_LOOKBACK = dt.timedelta(minutes=10)
_RT_STATS = {"p50": "rt_p50_ms", "p90": "rt_p90_ms", "p99": "rt_p99_ms"}
_SHOWN = 1000  # most transactions listed for a box (the slowest)


class ApplicationPage(pn.viewable.Viewer):
    """The application dashboard of one snapshot for a :class:`Scope` (see the module docstring)."""

    service = param.String(default="", doc="Service whose hitmap is shown large ('' = all services).")
    t0 = param.String(default="", doc="Selected box: earliest finish time (ISO 8601).")
    t1 = param.String(default="", doc="Selected box: latest finish time (ISO 8601).")
    rt_min = param.Number(default=None, allow_None=True, doc="Selected box: lowest response time (ms).")
    rt_max = param.Number(default=None, allow_None=True, doc="Selected box: highest response time (ms).")
    trace = param.String(default="", doc="Selected trace id.")
    rt_stat = param.Selector(default="p90", objects=list(_RT_STATS), doc="Response-time percentile charted.")

    def __init__(
        self,
        dataset: Dataset | str | os.PathLike[str],
        *,
        scope: Scope | None = None,
        load: bool = True,
        **params: Any,
    ) -> None:
        """``load=False`` computes nothing until :meth:`page` is shown (served pages) or
        :meth:`refresh` is called."""
        self.dataset = dataset if isinstance(dataset, Dataset) else workbench.open(dataset)
        scoped = {k: params.pop(k) for k in SCOPE_PARAMS if k in params}
        self.scope = scope if scope is not None else Scope(self.dataset, **scoped)
        super().__init__(**params)
        self._spans = pl.DataFrame()
        self._hm: hitmap.Hitmap | None = None
        self._selection = pl.DataFrame(schema=apm.TRANSACTION_COLUMNS)
        self._marker = BoxMarker()
        self._loaded = False
        self._build()
        self.scope.param.watch(lambda *_: self._loaded and self._load_scope(), list(SCOPE_PARAMS))
        if load:
            self._load_scope()

    def refresh(self) -> None:
        """Read the scope's spans again and redraw everything (what a scope change does)."""
        self._load_scope()

    # -- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        self._cards = pn.FlexBox(sizing_mode="stretch_width")
        self._scope_note = note("", css="wb-scope-note")
        self._summary = text_table(
            summary_view(empty_summary()), titles=SUMMARY_TITLES, css_classes=["wb-services"]
        )
        self._summary.on_click(self._service_clicked)
        self._charts = pn.pane.HoloViews(sizing_mode="stretch_width", min_height=480, linked_axes=False)
        self._rt_buttons = pn.widgets.RadioButtonGroup.from_param(self.param.rt_stat, width=180)
        self._multi = pn.pane.HoloViews(sizing_mode="stretch_width", min_height=220, linked_axes=False)
        self._big = pn.pane.HoloViews(
            sizing_mode="stretch_width", min_height=380, linked_axes=False, css_classes=["wb-hitmap"]
        )
        self._big_title = note("")
        self._select_note = note(
            "Drag a box on the hitmap to list the transactions inside it.", css="wb-selection-note"
        )
        self._tx = text_table(
            tx_view(self._selection),
            titles=TX_TITLES,
            pagination="local",
            page_size=15,
            css_classes=["wb-transactions"],
        )
        self._tx.on_click(self._tx_clicked)
        # the tables join the page once they hold rows: a Tabulator still being built in the
        # browser when its first rows arrive can stay empty
        self._summary_box = pn.Column(sizing_mode="stretch_width")
        self._tx_box = pn.Column(sizing_mode="stretch_width")
        self.transaction = TransactionView(self.dataset)
        self._service_select = pn.widgets.Select(
            label="Service", options={"All services": ""}, sizing_mode="stretch_width"
        )
        self._service_select.link(self, value="service")
        self.param.watch(lambda *_: self._show_service_choice(), "service")

    def _show_service_choice(self, services: list[str] | None = None) -> None:
        """The service selector lists the scope's services (and the chosen one, even if absent)."""
        known = services if services is not None else [v for v in self._service_select.options.values() if v]
        extra = [self.service] if self.service and self.service not in known else []
        self._service_select.options = {"All services": "", **{s: s for s in [*known, *extra]}}
        self._service_select.value = self.service

    def controls(self) -> pn.Column:
        """The service selector (the scope's own widgets come from :meth:`Scope.widgets`)."""
        return pn.Column(self._service_select, sizing_mode="stretch_width")

    def sections(self) -> list[pn.viewable.Viewable]:
        """The page's sections, top to bottom."""
        card = {"collapsible": False, "sizing_mode": "stretch_width"}
        return [
            pn.Column(self._scope_note, self._cards, sizing_mode="stretch_width"),
            pn.Card(self._summary_box, title="Services (click one to pick it)", **card),
            pn.Card(
                pn.Row(pn.pane.Str("Response time:", margin=(12, 5)), self._rt_buttons),
                self._charts,
                title="TPS, response time, errors and active transactions",
                **card,
            ),
            pn.Card(self._multi, title="Hitmap per service", **card),
            pn.Card(
                self._big_title, self._big, self._select_note, self._tx_box, title="Hitmap (X-View)", **card
            ),
            pn.Card(self.transaction, title="Transaction", **card),
        ]

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self.scope.widgets(), self.controls(), *self.sections(), sizing_mode="stretch_width")

    def page(self) -> pn.template.BaseTemplate:
        """The served page: scope and selection synced to the URL."""
        self.scope.sync()
        sync_to_url(self, SELECTION_PARAMS)
        if not self._loaded:
            pn.state.onload(self._load_scope)  # the page shows at once, with loading indicators
            for part in (self._charts, self._multi, self._big):
                part.loading = True
        sidebar = [
            self.scope.widgets(),
            self.controls(),
            pn.layout.Divider(),
            nav(self.scope, current="application"),
        ]
        return page("application", snapshot=self.dataset.path, sidebar=sidebar, main=self.sections())

    # -- the scope: read once, kept for the session ------------------------------------------------
    def _load_scope(self) -> None:
        self._loaded = True
        start, end = self.scope.window()
        where = self.scope.filters()
        # (tables are never marked busy: toggling a Tabulator's loading state in the tick that
        # changes its rows can leave it drawn empty too)
        with busy(self._charts, self._multi, self._big):
            lo = start - _LOOKBACK if start is not None else None
            spans = self.dataset.scan("spans", start=lo, end=end, **where).select(_SPAN_COLUMNS).collect()
            self._spans = spans.sort("end")
            self._window = (start, end)
            opts = {"start": start, "end": end}
            self._hm = hitmap.hitmap(spans, by=("service",), **opts)
            bucket = bucket_for(start, end) if start and end else "1m"
            self._series = apm.series(spans, by=("service",), bucket=bucket, **opts)
            self._active = apm.active_series(spans, by=("service",), bucket=bucket, **opts)
            self._totals = apm.summary(spans, by=("service",), **opts)
            self._overall = apm.summary(spans, by=(), **opts)
            self._show_service_choice(sorted(self._totals["service"].to_list()))
            self._scope_note.object = self._scope_text(spans)
            self._summary.value = table_frame(summary_view(self._totals)).to_pandas()
            self._render_charts()
            self._multi.object = small_multiples(self._hm)
            self._render_service()
        self._refresh_selection()
        self._summary_box.objects, self._tx_box.objects = [self._summary], [self._tx]
        self._render_trace()

    def _scope_text(self, spans: pl.DataFrame) -> str:
        start, end = self.scope.window()
        where = " / ".join(v for v in (self.scope.cluster, self.scope.namespace, self.scope.workload) if v)
        where = where or "all clusters and namespaces"
        if spans.is_empty():
            return (
                f"No spans in this scope ({where}, {format_range(start, end)}): its services are not "
                "instrumented, or no traces were collected for it."
            )
        return f"{format_count(spans.height)} spans in {where}, {format_range(start, end)}."

    def _render_charts(self) -> None:
        series, active = self._series, self._active
        if self.service:
            series = series.filter(pl.col("service") == self.service)
            active = active.filter(pl.col("service") == self.service)
        stat_col = _RT_STATS[self.rt_stat]
        parts = [
            apm_viz.tps_curve(series),
            apm_viz.rt_curve(series, stat=stat_col),
            apm_viz.error_curve(series),
            apm_viz.active_curve(active, mean=True, title="Active transactions (mean over each bucket)"),
        ]
        self._charts.object = hv.Layout(parts).cols(2).opts(shared_axes=False)
        totals = self._totals.filter(pl.col("service") == self.service) if self.service else self._overall
        n, errors = int(totals["transactions"].sum()), int(totals["errors"].sum())
        start, end = self._window
        seconds = (end - start).total_seconds() if start and end else 0
        label = self.service or "all services"
        row = totals.row(0, named=True) if totals.height == 1 else None
        self._cards.objects = [
            stat("Transactions", format_count(n), detail=label),
            stat("TPS", f"{n / seconds:.2f}/s" if seconds else "–", detail="mean over the window"),
            stat(
                "Error rate",
                f"{100 * errors / n:.2f}%" if n else "–",
                detail=f"{format_count(errors)} errors",
                tone="bad" if n and errors / n > 0.01 else "neutral",
            ),
            stat("p90 response", f"{row['rt_p90_ms']:.0f} ms" if row else "–", detail=label),
            stat("p99 response", f"{row['rt_p99_ms']:.0f} ms" if row else "–", detail=label),
        ]

    @param.depends("rt_stat", watch=True)
    def _rt_stat_changed(self) -> None:
        if not self._loaded:
            return
        self._render_charts()

    @param.depends("service", watch=True)
    def _service_changed(self) -> None:
        if not self._loaded:
            return
        with busy(self._big, self._charts):
            self._render_charts()
            self._render_service()
        self._refresh_selection()

    def _render_service(self) -> None:
        hm = self._hm
        if hm is None or hm.cells.is_empty():
            self._big.object = None
            self._big_title.object = "No transactions in this scope to draw a hitmap of."
            return
        group = (self.service,) if self.service else None
        if group is not None and group not in hm.groups():
            self._big.object = None
            self._big_title.object = f"Service {self.service!r} has no transactions in this scope."
            return
        el = hitmap_element(hm, group=group, title=f"Hitmap: {self.service or 'all services'}", height=380)
        shown = el.opts(hooks=[self._marker.hook])
        self._bounds = hv.streams.BoundsXY(source=shown)
        self._bounds.add_subscriber(self._bounds_changed)
        self._big_title.object = (
            f"{self.service or 'All services'}: every transaction by finish time and response "
            "time (log scale); red cells hold errors. Drag a box to list its transactions."
        )
        self._big.object = shown

    # -- the box selection --------------------------------------------------------------------
    def _bounds_changed(self, bounds: tuple[Any, Any, Any, Any] | None) -> None:
        if bounds is None:
            return
        t0, t1, lo, hi = box_from_bounds(bounds)
        self.select_box(t0, t1, lo, hi)

    def select_box(
        self, t0: dt.datetime | str, t1: dt.datetime | str, rt_min_ms: float, rt_max_ms: float
    ) -> pl.DataFrame:
        """Select the transactions that finished in ``[t0, t1]`` with a response time in
        ``[rt_min_ms, rt_max_ms]`` (of the chosen service), list them, and return them
        (slowest first; :data:`workbench.analyses.apm.TRANSACTION_COLUMNS`). This is what a box
        drawn on the hitmap does; it reads only the spans kept for the scope."""
        a, b = to_utc(t0), to_utc(t1)
        if a is None or b is None:
            msg = f"select_box needs two times (got {t0!r}, {t1!r})"
            raise ValueError(msg)
        # one batch: the selection is computed once (and the URL updated)
        self.param.update(
            t0=a.isoformat(), t1=b.isoformat(), rt_min=float(rt_min_ms), rt_max=float(rt_max_ms)
        )
        return self._selection

    @param.depends("t0", "t1", "rt_min", "rt_max", watch=True)
    def _refresh_selection(self) -> None:
        if not self._loaded:
            return
        box = self.box
        self._marker.draw(box)
        if box is None or self._spans.is_empty():
            self._selection = pl.DataFrame(schema=apm.TRANSACTION_COLUMNS)
            self._tx.value = table_frame(tx_view(self._selection)).to_pandas()
            self._select_note.object = (
                "No spans in this scope, so no transactions to select."
                if self._spans.is_empty()
                else "Drag a box on the hitmap to list the transactions inside it."
            )
            return
        t0, t1, lo, hi = box
        self._selection = hitmap.select(self._spans, t0, t1, lo, hi, service=self.service or None)
        shown = self._selection.head(_SHOWN)
        self._tx.value = table_frame(tx_view(shown)).to_pandas()
        n, errors = self._selection.height, int(self._selection["error"].sum())
        more = f" (the slowest {_SHOWN} listed)" if n > _SHOWN else ""
        self._select_note.object = (
            f"{n} transactions{more} of {self.service or 'all services'} finished "
            f"{format_range(t0, t1)} in {lo:.1f}–{hi:.1f} ms; {errors} failed."
        )

    @property
    def box(self) -> tuple[dt.datetime, dt.datetime, float, float] | None:
        """The selected box as ``(t0, t1, rt_min_ms, rt_max_ms)``, or None."""
        if not (self.t0 and self.t1) or self.rt_min is None or self.rt_max is None:
            return None
        try:
            return to_utc(self.t0), to_utc(self.t1), float(self.rt_min), float(self.rt_max)  # type: ignore[return-value]
        except (ValueError, WorkbenchError):
            log.warning("ignoring a box that cannot be read: %s, %s", self.t0, self.t1)
            return None

    @property
    def selection(self) -> pl.DataFrame:
        """The transactions in the selected box (all of them, slowest first)."""
        return self._selection

    def _tx_clicked(self, event: Any) -> None:
        row = self._tx.value.iloc[event.row]
        self.trace = str(row["trace_id"])

    def _service_clicked(self, event: Any) -> None:
        self.service = str(self._summary.value.iloc[event.row]["service"])

    # -- the selected transaction -----------------------------------------------------------
    @param.depends("trace", watch=True)
    def _render_trace(self) -> None:
        if not self._loaded:
            return
        if not self.trace:
            self.transaction.clear()
            return
        self.transaction.show(
            self.trace,
            spans=self._spans,
            service=self.service,
            cluster=self.scope.cluster or None,
            namespace=self.scope.namespace or None,
        )

    def __repr__(self) -> str:
        return f"ApplicationPage({str(self.dataset.path)!r}, service={self.service!r}, box={self.box!r})"
