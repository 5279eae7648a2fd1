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

Speed: a scope is read and computed once (:mod:`workbench.ui.application.data`; the last few
are kept, :class:`~workbench.ui._refresh.Recent`), the page refreshes once per new scope
(:func:`~workbench.ui._refresh.watch_scope`) in one batch of Bokeh updates
(:func:`~workbench.ui._refresh.batched`), redraws only the parts whose data changed
(:class:`~workbench.ui._refresh.Drawn`), and the plots are redrawn in place
(:mod:`workbench.ui.application.plots`); a box selection or a service change only filters what
is kept (:meth:`ApplicationPage.select_box`).
Clicking a service's band on the per-service hitmap picks that service, as a click on its row
in the services table does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
from typing import Any

import panel as pn
import param
import polars as pl

import workbench
from workbench.analyses import apm, hitmap
from workbench.errors import WorkbenchError
from workbench.schema import empty
from workbench.store import Dataset, to_utc
from workbench.ui._refresh import Drawn, Recent, batched, update_cards, watch_scope
from workbench.ui.application.box import BoxMarker
from workbench.ui.application.data import Key, ScopeResults, compute
from workbench.ui.application.plots import Charts, LargeHitmap, ServiceBands
from workbench.ui.application.transaction import TransactionView, note
from workbench.ui.application.views import (
    SUMMARY_TITLES,
    TX_TITLES,
    cards,
    empty_summary,
    scope_note,
    selection_note,
    summary_view,
    tx_view,
)
from workbench.ui.common import (
    busy,
    page,
    stat,
    sync_to_url,
    table_frame,
    text_table,
)
from workbench.ui.live import LiveControls, take_live
from workbench.ui.scope import PAGES, SCOPE_PARAMS, Scope, nav
from workbench.viz.hitmap import box_from_bounds

__all__ = ["SELECTION_PARAMS", "ApplicationPage", "TransactionView", "note"]

log = logging.getLogger(__name__)

#: Page state kept in the URL besides the scope.
SELECTION_PARAMS = ("service", "t0", "t1", "rt_min", "rt_max", "trace")
#: The scope parameters the page follows ("only pods with traces" changes nothing here: every
#: transaction is a traced one).
FOLLOWED = ("cluster", "namespace", "workload", "start", "end")
_RT_STATS = {"p50": "rt_p50_ms", "p90": "rt_p90_ms", "p99": "rt_p99_ms"}
_SHOWN = 1000  # most transactions listed for a box (the slowest)


def _fields(hm: hitmap.Hitmap) -> tuple[Any, ...]:
    """What a hitmap is drawn from (its cells and its grid), to compare with what was drawn."""
    return tuple(getattr(hm, f.name) for f in dataclasses.fields(hm))


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
        live = take_live(params)
        super().__init__(**params)
        self.live = LiveControls(self.dataset, self.snapshot_changed, scope=self.scope, **live)
        self._recent: Recent[ScopeResults] = Recent(size=4)
        self._drawn = Drawn()
        self._results: ScopeResults | None = None
        # the selection (None: not yet ordered, of self._selected: its transactions, box and service)
        self._selection: pl.DataFrame | None = pl.DataFrame(schema=apm.TRANSACTION_COLUMNS)
        self._selected: tuple[apm.Transactions, tuple[Any, ...], str | None] | None = None
        self._shown_trace: tuple[str, str, str] | None = None
        self._marker = BoxMarker()
        self._loaded = False
        self._build()
        # once per new scope, after the scope's own watchers (which may reset the namespace or
        # workload of a new cluster)
        watch_scope(self.scope, FOLLOWED, lambda: self._loaded and self._load_scope())
        if load:
            self._load_scope()

    def refresh(self) -> None:
        """Read the scope's spans again and redraw everything (after the snapshot changed)."""
        self._recent.clear()
        self._drawn.forget()
        self._results = None
        self._load_scope()

    def snapshot_changed(self) -> None:
        """Show what the snapshot now holds (live mode; nothing before the page is first
        computed): the same scope, service and box, the box's transactions listed again, and the
        opened transaction shown again (with any spans appended to its trace)."""
        if self._loaded:
            self._shown_trace = None
            self.refresh()

    # -- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        self._card_panes = [stat("", "") for _ in range(5)]
        self._cards = pn.FlexBox(*self._card_panes, sizing_mode="stretch_width")
        self._scope_note = note("", css="wb-scope-note")
        self._summary = text_table(
            summary_view(empty_summary()), titles=SUMMARY_TITLES, css_classes=["wb-services"]
        )
        self._summary.on_click(self._service_clicked)
        self.charts = Charts()
        self._charts = pn.pane.HoloViews(sizing_mode="stretch_width", min_height=480, linked_axes=False)
        self._rt_buttons = pn.widgets.RadioButtonGroup.from_param(self.param.rt_stat, width=180)
        self.bands = ServiceBands(lambda service: setattr(self, "service", service))
        self._multi = pn.pane.HoloViews(
            sizing_mode="stretch_width", min_height=220, linked_axes=False, css_classes=["wb-hitmaps"]
        )
        self.large = LargeHitmap(self._marker)
        self._big = pn.pane.HoloViews(
            self.large.dmap, sizing_mode="stretch_width", min_height=380, linked_axes=False,
            css_classes=["wb-hitmap"],
        )  # fmt: skip
        self._bounds = self.large.bounds  # what a box dragged on the large hitmap sends
        self._bounds.add_subscriber(self._bounds_changed)
        self._big_title = note("", css="wb-hitmap-title")
        self._select_note = note(
            "Drag a box on the hitmap to list the transactions inside it.", css="wb-selection-note"
        )
        self._tx = text_table(
            tx_view(self.selection),
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
        options = {"All services": "", **{s: s for s in [*known, *extra]}}
        if options != self._service_select.options:
            self._service_select.options = options
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
            pn.Card(self._multi, title="Hitmap per service (click a band to pick its service)", **card),
            pn.Card(
                self._big_title, self._big, self._select_note, self._tx_box, title="Hitmap (X-View)", **card
            ),
            pn.Card(self.transaction, title="Transaction", **card),
        ]

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            pn.Row(self.scope.widgets(), self.live),
            self.controls(),
            *self.sections(),
            sizing_mode="stretch_width",
        )

    def page(self) -> pn.template.BaseTemplate:
        """The served page: scope, selection and live mode synced to the URL."""
        self.scope.sync()
        sync_to_url(self, SELECTION_PARAMS)
        self.live.sync()
        if not self._loaded:  # the page shows at once, with loading indicators
            for part in (self._charts, self._multi, self._big):
                part.loading = True
            pn.state.onload(self._load_scope)  # (outside a server this runs at once)
        sidebar = [
            self.scope.widgets(),
            self.controls(),
            pn.layout.Divider(),
            self.live,
            pn.layout.Divider(),
            nav(self.scope, current="application"),
        ]
        return page(PAGES["application"], snapshot=self.dataset.path, sidebar=sidebar, main=self.sections())

    # -- the scope: computed once, kept for the session ------------------------------------------
    def _key(self) -> Key:
        start, end = self.scope.window()
        return (self.scope.cluster, self.scope.namespace, self.scope.workload, start, end)

    def _load_scope(self) -> None:
        first = not self._loaded
        self._loaded = True
        key = self._key()
        if self._results is not None and self._results.key == key:
            return  # e.g. a new cluster whose namespace the scope reset: already shown
        # (tables are never marked busy: toggling a Tabulator's loading state in the tick that
        # changes its rows can leave it drawn empty too)
        with busy(self._charts, self._multi, self._big), batched(self._charts, self._multi, self._big):
            results = self._results = self._recent.get(key, lambda: compute(self.dataset, key))
            self._show_service_choice(results.services)
            self._scope_note.object = self._scope_text(results)
            self._drawn.draw(
                "summary", lambda: setattr(self._summary, "value", results.table), results.totals
            )
            self._render_charts()
            self._drawn.draw("bands", lambda: self._show_bands(results), *_fields(results.hitmap))
            self._render_service()
            self._refresh_selection()
            if first:
                self._summary_box.objects, self._tx_box.objects = [self._summary], [self._tx]
            self._render_trace()

    def _show_bands(self, results: ScopeResults) -> None:
        plot = self.bands.show(results.hitmap)
        if plot is not None:
            self._multi.object = plot

    def _scope_text(self, results: ScopeResults) -> str:
        where = " / ".join(v for v in (self.scope.cluster, self.scope.namespace, self.scope.workload) if v)
        return scope_note(where or "all clusters and namespaces", results.start, results.end, spans=results.spans,
                          transactions=int(results.overall["transactions"].sum()),
                          services=len(results.services))  # fmt: skip

    def _render_charts(self) -> None:
        r = self._results
        if r is None:
            return
        series, active = r.series, r.active
        if self.service:
            series = series.filter(pl.col("service") == self.service)
            active = active.filter(pl.col("service") == self.service)
        stat = _RT_STATS[self.rt_stat]
        self._drawn.draw(
            "charts", lambda: self._show_plots(self.charts.show(series, active, stat)), series, active
        )
        totals = r.totals.filter(pl.col("service") == self.service) if self.service else r.overall
        seconds = (r.end - r.start).total_seconds() if r.start and r.end else 0
        update_cards(self._cards, cards(totals, label=self.service or "all services", seconds=seconds))

    def _show_plots(self, plots: Any) -> None:
        if plots is not None:  # built (the first time): else redrawn in place
            self._charts.object = plots

    @param.depends("rt_stat", watch=True)
    def _rt_stat_changed(self) -> None:
        if self._loaded:
            with batched(self._charts):
                self._show_plots(self.charts.show_stat(_RT_STATS[self.rt_stat]))

    @param.depends("service", watch=True)
    def _service_changed(self) -> None:
        if not self._loaded:
            return
        with busy(self._big, self._charts), batched(self._charts, self._big):
            self._render_charts()
            self._render_service()
            self._refresh_selection()

    def _render_service(self) -> None:
        r = self._results
        if r is None:
            return
        hm = r.hitmap
        group = (self.service,) if self.service else None
        if hm.cells.is_empty():
            self._big_title.object = "No transactions in this scope to draw a hitmap of."
        elif group is not None and group not in hm.groups():
            self._big_title.object = f"Service {self.service!r} has no transactions in this scope."
        else:
            self._big_title.object = (
                f"{self.service or 'All services'}: every transaction by finish time and response "
                "time (log scale); red cells hold errors. Drag a box to list its transactions."
            )
        title = f"Hitmap: {self.service or 'all services'}"
        self._drawn.draw("large", lambda: self.large.show(hm, group, title), *_fields(hm), group, title)

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
        drawn on the hitmap does; it filters the transactions kept for the scope."""
        a, b = to_utc(t0), to_utc(t1)
        if a is None or b is None:
            msg = f"select_box needs two times (got {t0!r}, {t1!r})"
            raise ValueError(msg)
        # one batch: the selection is computed once (and the URL updated)
        self.param.update(
            t0=a.isoformat(), t1=b.isoformat(), rt_min=float(rt_min_ms), rt_max=float(rt_max_ms)
        )
        return self.selection

    @param.depends("t0", "t1", "rt_min", "rt_max", watch=True)
    def _refresh_selection(self) -> None:
        if not self._loaded or self._results is None:
            return
        with batched():
            self._show_selection()

    def _show_selection(self) -> None:
        assert self._results is not None
        box = self.box
        self._marker.draw(box)
        tx = self._results.tx
        self._selected = None
        if box is None or not tx.height:
            self._selection = pl.DataFrame(schema=apm.TRANSACTION_COLUMNS)
            self._tx.value = table_frame(tx_view(self._selection)).to_pandas()
            self._select_note.object = (
                "No transactions in this scope, so none to select."
                if not tx.height
                else "Drag a box on the hitmap to list the transactions inside it."
            )
            return
        # the slowest listed (their ids formatted for those rows only) and the others counted:
        # the whole selection is ordered (and its ids formatted) when asked for (self.selection)
        service = self.service or None
        listed, n, errors = hitmap.select_slowest(tx, *box, service=service, limit=_SHOWN)
        self._selection, self._selected = None, (tx, box, service)
        self._tx.value = table_frame(tx_view(listed)).to_pandas()
        self._select_note.object = selection_note(n, errors, self.service, box, shown=_SHOWN)

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
        if self._selection is None:  # selected now
            assert self._selected is not None
            tx, box, service = self._selected
            self._selection = hitmap.select(tx, *box, service=service)
        return self._selection

    @property
    def results(self) -> ScopeResults | None:
        """What the page shows for its scope (None before it is loaded)."""
        return self._results

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
        shown = (self.trace, self.scope.cluster, self.scope.namespace) if self.trace else None
        if shown == self._shown_trace:
            return
        self._shown_trace = shown
        if not self.trace:
            self.transaction.clear()
            return
        # the trace's transactions in the scope (their ids as strings)
        mine = self._results.tx.of_trace(self.trace) if self._results is not None else empty("spans")
        self.transaction.show(
            self.trace,
            spans=mine,
            service=self.service,
            cluster=self.scope.cluster or None,
            namespace=self.scope.namespace or None,
        )

    def __repr__(self) -> str:
        return f"ApplicationPage({str(self.dataset.path)!r}, service={self.service!r}, box={self.box!r})"
