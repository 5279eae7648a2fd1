"""The resource browser page: a table per kind (status, age, ready, restarts, CPU and memory use
as % of request and limit) and, for the selected object, the tabs Detail, YAML, Event, Log and
Performance. Names in the detail (owner chain, node, services, workloads, pods) are links that
open that object on the same page; kind, object, tab and the YAML's moment live in the URL
(``?kind=Pod&name=shop/cart-0&tab=yaml``), so a copied link reopens the same view.

In JupyterLab::

    import workbench as wb, workbench.ui
    wb.ui.resources.ResourceBrowser(wb.open("data/demo"), kind="Deployment", namespace="shop")

Objects are named ``namespace/name`` (``name`` for Nodes and Namespaces, ``namespace/pod/container``
for containers); ``in_cluster`` picks the cluster when several hold that name. Everything that
comes from the cluster is shown as text (tables with escaping formatters, :class:`panel.pane.Str`).
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import os
from typing import Any

import panel as pn
import param
import polars as pl
from bokeh.models.widgets.tables import NumberFormatter

import workbench
from workbench.analyses import browser
from workbench.errors import WorkbenchError
from workbench.store import Dataset
from workbench.ui._refresh import batched, watch_scope
from workbench.ui.common import busy, format_time, page, text_table
from workbench.ui.live import LiveControls, take_live
from workbench.ui.resources._tabs import (
    detail_pane,
    events_pane,
    link_rows,
    logs_pane,
    performance_pane,
    services_of,
)
from workbench.ui.resources._views import (
    _LINK_CSS,
    _MONO,
    _PCT,
    _TITLES,
    CLUSTER_SCOPED,
    TABS,
    URL_PARAMS,
    PlainText,
    _time,
    object_key,
    object_link,
    parse_key,
    rows_table,
    set_rows,
    sync_params,
    table_view,
)
from workbench.ui.scope import PAGES, SCOPE_PARAMS, Scope, nav

__all__ = [
    "CLUSTER_SCOPED",
    "TABS",
    "URL_PARAMS",
    "PlainText",
    "ResourceBrowser",
    "object_key",
    "object_link",
    "parse_key",
    "rows_table",
    "set_rows",
    "sync_params",
    "table_view",
]

log = logging.getLogger(__name__)


class ResourceBrowser(pn.viewable.Viewer):
    """Tables per kind and one object's detail, within a :class:`~workbench.ui.scope.Scope`."""

    kind = param.Selector(default="Pod", objects=list(browser.KINDS), doc="Kind listed in the table.")
    selected = param.String(
        default="", doc="Selected object (namespace/name; name for Nodes and Namespaces)."
    )
    in_cluster = param.String(default="", doc="Cluster of the selected object ('' = the scope's).")
    tab = param.Selector(default="detail", objects=list(TABS), doc="Open tab of the detail.")
    at = param.String(
        default="", doc="Moment of the YAML (and end of events, logs, usage), ISO 8601 ('' = end)."
    )

    def __init__(
        self, dataset: Dataset | str | os.PathLike[str], *, scope: Scope | None = None, **params: Any
    ) -> None:
        self.dataset = dataset if isinstance(dataset, Dataset) else workbench.open(dataset)
        scoped = {k: params.pop(k) for k in SCOPE_PARAMS if k in params}
        self.scope = scope or Scope(self.dataset, **scoped)
        live = take_live(params)
        super().__init__(**params)
        self.live = LiveControls(self.dataset, self.snapshot_changed, scope=self.scope, **live)
        self._rows = pl.DataFrame()
        self._detail: browser.Detail | None = None
        self._quiet = 0  # > 0 while the page itself updates its widgets
        self._build()
        watch_scope(
            self.scope, ["cluster", "namespace", "workload", "end", "traced_only"], self._refresh_table
        )
        self.scope.param.watch(lambda *_: self._refresh_detail(), ["cluster"])
        self.param.watch(self._changed, list(URL_PARAMS))
        self._refresh_table()
        self._refresh_detail()

    # -- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        self._kind_select = pn.widgets.RadioButtonGroup(
            options=list(browser.KINDS), value=self.kind, color="primary", variant="outline",
            sizing_mode="stretch_width", css_classes=["wb-kinds"],
        )  # fmt: skip
        self._kind_select.param.watch(self._kind_picked, "value")
        self._table_note = PlainText("", margin=(0, 10), sizing_mode="stretch_width")
        self._table = text_table(pl.DataFrame({"name": []}, schema={"name": pl.String}), page_size=15,
                                 pagination="local", css_classes=["wb-browser-table"])  # fmt: skip
        self._table.on_click(self._row_clicked)
        self._title = pn.pane.HTML("", sizing_mode="stretch_width", margin=(0, 10))
        self._panes = {t: pn.Column(sizing_mode="stretch_width") for t in TABS}
        lo, hi = self.dataset.window
        self._picker = pn.widgets.DatetimePicker(
            label="YAML as of (UTC)", start=lo.replace(tzinfo=None) if lo else None,
            end=hi.replace(tzinfo=None) if hi else None, enable_seconds=True, width=260,
        )  # fmt: skip
        self._picker.param.watch(self._picked_time, "value")
        self._latest = pn.widgets.Button(label="Snapshot end", color="default", align="end", width=130)
        self._latest.on_click(lambda _e: setattr(self, "at", ""))
        self._yaml = PlainText("", stylesheets=[_MONO], sizing_mode="stretch_width", css_classes=["wb-yaml"])
        self._yaml_note = PlainText("", margin=(0, 10))
        self._tabs = pn.Tabs(*((TABS[t], self._panes[t]) for t in TABS), dynamic=True, sizing_mode="stretch_width",
                             css_classes=["wb-detail-tabs"])  # fmt: skip
        self._tabs.active = list(TABS).index(self.tab)
        self._tabs.param.watch(lambda e: setattr(self, "tab", list(TABS)[e.new]), "active")
        self._detail_card = pn.Column(self._title, self._tabs, sizing_mode="stretch_width", min_height=200)

    def sections(self) -> list[pn.viewable.Viewable]:
        """The page's sections: the kind selector and table, then the detail."""
        return [
            pn.Card(self._kind_select, self._table_note, self._table, title="Objects", collapsible=False,
                    sizing_mode="stretch_width"),
            pn.Card(self._detail_card, title="Detail", collapsible=False, sizing_mode="stretch_width"),
        ]  # fmt: skip

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            pn.Row(self.scope.widgets(), self.live), *self.sections(), sizing_mode="stretch_width"
        )

    def page(self) -> pn.template.BaseTemplate:
        """The served page: scope in the sidebar, scope, selection and live mode synced to the URL."""
        self.scope.sync()
        sync_params(self, URL_PARAMS)
        self.live.sync()
        sidebar = [self.scope.widgets(), pn.layout.Divider(), self.live, pn.layout.Divider(),
                   nav(self.scope, current="resources")]  # fmt: skip
        return page(PAGES["resources"], snapshot=self.dataset.path, sidebar=sidebar, main=self.sections())

    # -- navigation ---------------------------------------------------------------------------
    def open(
        self,
        kind: str,
        namespace: str | None,
        name: str,
        *,
        cluster: str | None = None,
        tab: str | None = None,
    ) -> None:
        """Show one object's detail (what the links in the detail do)."""
        multi = len(self.dataset.clusters) > 1 and not self.scope.cluster
        self.param.update(kind=kind, selected=object_key(kind, namespace, name), in_cluster=(cluster or "") if multi else "",
                          tab=tab or self.tab)  # fmt: skip

    def _set(self, widget: pn.widgets.Widget, **values: Any) -> None:
        """Update a widget without its watchers taking it for a user's pick."""
        self._quiet += 1
        try:
            widget.param.update(**values)
        finally:
            self._quiet -= 1

    def _kind_picked(self, event: param.parameterized.Event) -> None:
        # picked by hand: nothing of the new kind is selected yet
        if not self._quiet and event.new != self.kind:
            self.param.update(kind=event.new, selected="", in_cluster="")

    def _row_clicked(self, event: Any) -> None:
        if event.row is None or event.row >= self._rows.height:
            return
        row = self._rows.row(event.row, named=True)
        name = f"{row['pod']}/{row['name']}" if self.kind == "Container" else row["name"]
        self.open(self.kind, row.get("namespace"), name, cluster=row["cluster"])

    def _picked_time(self, event: param.parameterized.Event) -> None:
        if self._quiet or event.new is None:
            return
        picked = event.new.replace(tzinfo=dt.UTC)
        end = self.dataset.window[1]
        value = "" if end is not None and picked >= end else picked.strftime("%Y-%m-%dT%H:%M:%SZ")
        if _time(value) != _time(self.at):
            self.at = value

    def _changed(self, *events: param.parameterized.Event) -> None:
        names = {e.name for e in events}
        if "kind" in names:
            self._set(self._kind_select, value=self.kind)
            self._refresh_table()
        if "tab" in names:
            self._tabs.active = list(TABS).index(self.tab)
        if names & {"kind", "selected", "in_cluster", "at"}:
            self._refresh_detail()

    # -- table --------------------------------------------------------------------------------
    def snapshot_changed(self) -> None:
        """Show what the snapshot now holds (live mode), with the same scope, kind, selected
        object, open tab and moment."""
        lo, hi = self.dataset.window
        with batched():
            self._set(self._picker, start=lo.replace(tzinfo=None) if lo else None,
                      end=hi.replace(tzinfo=None) if hi else None)  # fmt: skip
            self._refresh_table()
            self._refresh_detail()

    def _refresh_table(self) -> None:
        with busy(self._table), batched():
            s = self.scope
            end = s.window()[1] if s.end else None
            try:
                rows = browser.table(self.dataset, self.kind, cluster=s.cluster or None, namespace=s.namespace or None,
                                     end=end)  # fmt: skip
            except WorkbenchError as err:
                self._rows = pl.DataFrame()
                self._table_note.object = str(err)
                set_rows(self._table, pl.DataFrame({"name": []}, schema={"name": pl.String}))
                return
            rows = self._in_scope(rows)
            self._rows = rows
            view = table_view(rows, self.kind, clusters=len(set(rows["cluster"].to_list())) > 1)
            self._table.titles = _TITLES
            self._table.formatters = {
                c: NumberFormatter(format="0", nan_format="", null_format="") for c in _PCT
            }
            set_rows(self._table, view)
            where = (
                " / ".join(x for x in (s.cluster, s.namespace, s.workload) if x)
                or "all clusters and namespaces"
            )
            self._table_note.object = (
                f"{rows.height} {self.kind} object(s) in {where}. Usage: mean over the 5 minutes before "
                f"{format_time(end or self.dataset.window[1])}. Click a row to open its detail."
            )

    def _in_scope(self, rows: pl.DataFrame) -> pl.DataFrame:
        """Rows related to the pods in scope, when a workload or "only pods with traces" is chosen."""
        s = self.scope
        if not (s.workload or s.traced_only) or rows.is_empty():
            return rows
        pods = s.pods()
        kind = self.kind
        if kind in ("Pod", "Container"):
            keys = pods.select(
                "cluster", "namespace", pl.col("name").alias("pod" if kind == "Container" else "name")
            )
            return rows.join(keys, on=keys.columns, how="semi")
        if kind in ("Node", "Namespace"):
            col = kind.lower()
            keys = pods.select("cluster", pl.col(col).alias("name")).drop_nulls().unique()
            return rows.join(keys, on=["cluster", "name"], how="semi")
        if kind == "Service":
            services = self.dataset.services(cluster=s.cluster or None, namespace=s.namespace or None)
            members = services.select("cluster", "namespace", "name", pl.col("pods").alias("pod")).explode(
                "pod"
            )
            keep = members.join(pods.select("cluster", "namespace", pl.col("name").alias("pod")),
                                on=["cluster", "namespace", "pod"], how="semi")  # fmt: skip
            return rows.join(
                keep.select("cluster", "namespace", "name").unique(),
                on=["cluster", "namespace", "name"],
                how="semi",
            )
        kcol, ncol = (
            ("workload_kind", "workload_name")
            if kind in ("Deployment", "CronJob")
            else ("owner_kind", "owner_name")
        )
        keys = (
            pods.filter(pl.col(kcol) == kind)
            .select("cluster", "namespace", pl.col(ncol).alias("name"))
            .unique()
        )
        return rows.join(keys, on=["cluster", "namespace", "name"], how="semi")

    # -- detail -------------------------------------------------------------------------------
    def _refresh_detail(self) -> None:
        moment = _time(self.at) or self.dataset.window[1] or dt.datetime.now(dt.UTC)
        self._set(self._picker, value=moment.replace(tzinfo=None))
        if not self.selected:
            self._detail = None
            self._title.object = (
                f"<p>Click a row of the {html.escape(self.kind)} table to open its detail.</p>"
            )
            for pane in self._panes.values():
                pane.objects = []
            return
        namespace, name = parse_key(self.kind, self.selected)
        with busy(self._detail_card), batched():
            try:
                d = browser.detail(self.dataset, self.kind, namespace, name, at=self.at or None,
                                   cluster=self.in_cluster or self.scope.cluster or None)  # fmt: skip
            except WorkbenchError as err:
                self._detail = None
                self._title.object = f"<h3>{html.escape(self.kind)} {html.escape(self.selected)}</h3>"
                message = PlainText(
                    f"This object cannot be shown: {err}",
                    styles={"color": "#c62828", "white-space": "pre-wrap"},
                )
                for pane in self._panes.values():
                    pane.objects = [message]
                return
            self._detail = d
            self._title.object = (
                f"<h3 style='margin:4px 0'>{html.escape(d.kind)} {html.escape(object_key(d.kind, d.namespace, d.name))}</h3>"
                f"<div style='opacity:0.75'>cluster {html.escape(d.cluster)} · as of {html.escape(format_time(d.at))}</div>"
            )
            self._fill(d)

    def _fill(self, d: browser.Detail) -> None:
        key = object_key(d.kind, d.namespace, d.name)
        services = (
            (d.field("Services") or "").split(", ") if d.kind == "Pod" else services_of(self.dataset, d)
        )
        self._panes["detail"].objects = detail_pane(
            d, links=link_rows(d, services), make_link=self.link,
            open_pod=lambda ns, name: self.open("Pod", ns, name, cluster=d.cluster, tab="detail"),
        )  # fmt: skip
        self._yaml_note.object = (
            f"The manifest of {d.kind} {key} as stored in the snapshot's newest revision at or before "
            f"{format_time(d.at)} (managedFields removed)."
        )
        self._yaml.object = d.yaml or f"No revision of {d.kind} {key} exists at {format_time(d.at)}."
        self._panes["yaml"].objects = [pn.Row(self._picker, self._latest), self._yaml_note, self._yaml]
        self._panes["events"].objects = [events_pane(d)]
        self._panes["logs"].objects = [logs_pane(d)]
        self._panes["performance"].objects = performance_pane(d)

    @property
    def detail(self) -> browser.Detail | None:
        """The detail shown (None when nothing is selected or it cannot be shown)."""
        return self._detail

    def link(self, text: str, kind: str, namespace: str | None, name: str) -> pn.widgets.Button:
        """A button that looks like a link and opens that object here."""
        cluster = self._detail.cluster if self._detail is not None else ""
        button = pn.widgets.Button(label=text, color="light", css_classes=["wb-link"], stylesheets=[_LINK_CSS],
                                   margin=(0, 2))  # fmt: skip
        button.on_click(lambda _e: self.open(kind, namespace, name, cluster=cluster, tab="detail"))
        return button

    def __repr__(self) -> str:
        return f"ResourceBrowser({str(self.dataset.path)!r}, kind={self.kind!r}, selected={self.selected!r}, tab={self.tab!r})"
