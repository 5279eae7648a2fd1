"""The pending pods page: every pod that waited for a node in the window (and pod creations a
quota refused) with its reason, QoS class, namespace, workload, time pending and the scheduler's
message; counts by QoS class and by reason; each node's free allocatable; for the selected pod
where it would fit ("fits on X if its cpu request were ≤ Y") and what the cluster lacks.

In JupyterLab::

    import workbench as wb, workbench.ui
    wb.ui.pending.PendingPods(wb.open("data/demo"), cluster="eks-prod-us-east-1")

Served (``apps/pending_pods.py``): the selected pod (``?pod=ml/batch-scorer-…``), its cluster and
"include past" live in the URL next to the scope.
"""

from __future__ import annotations

import os
from typing import Any

import panel as pn
import param
import polars as pl

import workbench
from workbench.analyses import pending
from workbench.errors import WorkbenchError
from workbench.store import Dataset
from workbench.ui._refresh import Drawn, Recent, batched, update_cards, watch_scope
from workbench.ui.common import (
    busy,
    format_bytes,
    format_cores,
    format_duration,
    format_time,
    page,
    stat,
)
from workbench.ui.live import LiveControls, snapshot_version, take_live
from workbench.ui.resources import PlainText, rows_table, set_rows, sync_params
from workbench.ui.scope import PAGES, SCOPE_PARAMS, Scope, nav
from workbench.viz import pending as vp

__all__ = ["URL_PARAMS", "PendingPods", "pending_view"]

URL_PARAMS = {"pod": "pod", "in_cluster": "in_cluster", "include_past": "past"}
_CHART = {"sizing_mode": "stretch_width"}


def _key(row: dict[str, Any]) -> str:
    """How a row is named in the URL: ``namespace/pod``, or ``namespace/Kind/owner`` for a refused creation."""
    name = row["pod"] if row["pod"] else f"{row['owner_kind']}/{row['owner_name']}"
    return f"{row['namespace']}/{name}"


def _cores(values: list[Any]) -> list[str]:
    return [format_cores(v) if v is not None else "" for v in values]


def _bytes(values: list[Any]) -> list[str]:
    return [format_bytes(v) if v is not None else "" for v in values]


def pending_view(rows: pl.DataFrame, *, clusters: bool) -> pl.DataFrame:
    """The pending list as shown: a :func:`~workbench.analyses.pending.pending_pods` result with
    units, the workload as ``Kind/name`` and a refused creation named by its controller."""
    view = rows.select(
        pl.when(pl.col("pod").is_not_null()).then(pl.col("pod"))
        .otherwise(pl.format("{}/{} (creation refused)", "owner_kind", "owner_name")).alias("pod"),
        "namespace", pl.col("primary").alias("category"), pl.col("qos_class").fill_null("(unknown)").alias("QoS"),
        pl.col("pending_for").alias("pending for"), pl.col("message").alias("scheduler message"), "state",
        pl.when(pl.col("workload_name").is_not_null()).then(pl.format("{}/{}", "workload_kind", "workload_name")).alias("workload"),
        pl.Series("CPU request", _cores(rows["cpu_request"].to_list()), dtype=pl.String),
        pl.Series("memory request", _bytes(rows["memory_request"].to_list()), dtype=pl.String),
        pl.col("categories").alias("all reasons"), "cluster",
    )  # fmt: skip
    return view if clusters else view.drop("cluster")


def _fit_view(fit: pl.DataFrame) -> pl.DataFrame:
    """A :func:`~workbench.analyses.pending.fit` result as shown: free allocatable with units."""
    return fit.select(
        "node", "fits", "advice", "candidate", pl.col("blocked_by").alias("blocked by"),
        pl.Series("CPU free", _cores(fit["cpu_free"].to_list()), dtype=pl.String),
        pl.Series("memory free", _bytes(fit["memory_free"].to_list()), dtype=pl.String),
        pl.col("pods_free").alias("pods free"),
    )  # fmt: skip


class PendingPods(pn.viewable.Viewer):
    """Pending pod analysis within a :class:`~workbench.ui.scope.Scope` (cluster, namespace, workload, window)."""

    pod = param.String(default="", doc="Selected pending pod, namespace/name ('' = the one waiting longest).")
    in_cluster = param.String(default="", doc="Cluster of the selected pod ('' = the scope's).")
    include_past = param.Boolean(default=True, doc="Also pods that waited earlier in the window.")

    def __init__(
        self, dataset: Dataset | str | os.PathLike[str], *, scope: Scope | None = None, **params: Any
    ) -> None:
        self.dataset = dataset if isinstance(dataset, Dataset) else workbench.open(dataset)
        scoped = {k: params.pop(k) for k in SCOPE_PARAMS if k in params}
        self.scope = scope or Scope(self.dataset, **scoped)
        live = take_live(params)
        super().__init__(**params)
        self.live = LiveControls(self.dataset, self.snapshot_changed, scope=self.scope, **live)
        self.rows = pl.DataFrame(schema=pending.PENDING_COLUMNS)
        self._drawn = Drawn()
        self._recent: Recent[pl.DataFrame] = Recent()
        self._room: tuple[tuple[Any, str | None], pl.DataFrame] | None = None
        # node and pod revisions per cluster and moment, read once for every namespace and workload
        self._capacities = pending.Capacities(self.dataset, size=6)
        self._build()
        watch_scope(self.scope, ["cluster", "namespace", "workload", "start", "end"], self._refresh)
        self._refresh()

    def _build(self) -> None:
        self._stats = pn.FlexBox(sizing_mode="stretch_width")
        self._note = PlainText("", sizing_mode="stretch_width")
        # the charts: Bokeh figures built once, redrawn in place for every scope
        self._qos_chart = vp.QosBars()
        self._qos_table = rows_table(css_classes=["wb-by-qos"])
        self._reason_chart = vp.ReasonBars()
        self._reason_table = rows_table(css_classes=["wb-by-reason"])
        self._list = rows_table(wrap=("scheduler message", "all reasons"), widths={"scheduler message": 420, "all reasons": 220},
                                pagination="local", page_size=15, css_classes=["wb-pending-list"])  # fmt: skip
        self._list.on_click(self._clicked)
        self._timeline = vp.PendingTimeline()
        self._fit_title = PlainText(
            "", margin=(0, 10), styles={"font-weight": "600", "white-space": "pre-wrap"}
        )
        self._fit_message = PlainText(
            "",
            styles={"white-space": "pre-wrap"},
            sizing_mode="stretch_width",
            css_classes=["wb-fit-message"],
        )
        self._fit = rows_table(wrap=("advice", "blocked by"), widths={"advice": 460, "blocked by": 280},
                               css_classes=["wb-fit"])  # fmt: skip
        self._shortfall = rows_table(wrap=("summary",), widths={"summary": 520}, css_classes=["wb-shortfall"])
        self._headroom = rows_table(wrap=("taints",), widths={"taints": 360}, css_classes=["wb-headroom"])
        self._headroom_chart = vp.HeadroomBars()
        self._panes = {
            "qos": [pn.pane.Bokeh(self._qos_chart.figure, **_CHART)],
            "reason": [pn.pane.Bokeh(self._reason_chart.figure, **_CHART)],
            "timeline": [pn.pane.Bokeh(self._timeline.figure, **_CHART)],
            "headroom": [pn.pane.Bokeh(f, **_CHART) for f in self._headroom_chart.figures],
        }
        self._past = pn.widgets.Checkbox.from_param(
            self.param.include_past, label="Include pods that waited earlier"
        )
        self._fit_card = pn.Card(self._fit_title, self._fit_message, self._fit, title="Where would it fit?",
                                 collapsible=False, sizing_mode="stretch_width")  # fmt: skip

    def sections(self) -> list[pn.viewable.Viewable]:
        """The page's sections, top to bottom."""
        card = {"collapsible": False, "sizing_mode": "stretch_width"}
        return [
            self._stats,
            pn.Row(pn.Card(self._qos_table, *self._panes["qos"], title="By QoS class", **card),
                   pn.Card(self._reason_table, *self._panes["reason"], title="By reason (primary)", **card),
                   sizing_mode="stretch_width"),
            pn.Card(self._past, self._note, self._list, title="Pending pods", **card),
            self._fit_card,
            pn.Card(self._shortfall, title="What the cluster lacks for the pods still waiting", **card),
            pn.Card(self._headroom, *self._panes["headroom"], title="Free allocatable per node (window end)", **card),
            pn.Card(*self._panes["timeline"], title="Time spent pending", **card),
        ]  # fmt: skip

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            pn.Row(self.scope.widgets(traced=False), self.live), *self.sections(), sizing_mode="stretch_width"
        )

    def page(self) -> pn.template.BaseTemplate:
        """The served page: scope in the sidebar, scope, selection and live mode synced to the URL."""
        self.scope.sync()
        sync_params(self, URL_PARAMS)
        self.live.sync()
        sidebar = [
            self.scope.widgets(traced=False),
            pn.layout.Divider(),
            self.live,
            pn.layout.Divider(),
            nav(self.scope, current="pending_pods"),
        ]
        return page(PAGES["pending_pods"], snapshot=self.dataset.path, sidebar=sidebar, main=self.sections())

    # -- data ---------------------------------------------------------------------------------
    def _params(self) -> pending.PendingParams:
        s = self.scope
        return pending.PendingParams(cluster=s.cluster or None, namespace=s.namespace or None, start=s.start or None,
                                     end=s.end or None, include_past=self.include_past)  # fmt: skip

    def _where(self) -> str:
        """The scope in words: ``namespace shop, workload Deployment/checkout`` (``any namespace``)."""
        s = self.scope
        parts = [
            f"{k} {v}"
            for k, v in (("cluster", s.cluster), ("namespace", s.namespace), ("workload", s.workload))
            if v
        ]
        return ", ".join(parts) or "any namespace"

    def _clicked(self, event: Any) -> None:
        if event.row is not None and event.row < self.rows.height:
            row = self.rows.row(event.row, named=True)
            multi = len(self.dataset.clusters) > 1 and not self.scope.cluster
            self.param.update(pod=_key(row), in_cluster=row["cluster"] if multi else "")

    def selected(self) -> dict[str, Any] | None:
        """The selected row (default: the first still pending, i.e. the one waiting longest)."""
        rows = self.rows
        if self.pod:
            rows = rows.filter(pl.struct(rows.columns).map_elements(_key, return_dtype=pl.String) == self.pod)
            if self.in_cluster:
                rows = rows.filter(pl.col("cluster") == self.in_cluster)
        else:
            rows = rows.filter(pl.col("state") != "refused")
        return rows.row(0, named=True) if rows.height else None

    def snapshot_changed(self) -> None:
        """Show what the snapshot now holds (live mode), with the same scope and selected pod:
        the node and pod revisions kept for the capacity are read again."""
        self._capacities = pending.Capacities(self.dataset, size=6)
        self._room = None
        self._refresh()

    @param.depends("include_past", watch=True)
    def _refresh(self) -> None:
        with busy(self._list, self._fit_card), batched():
            p = self._params()
            try:
                rows = self._recent.get(
                    (p, snapshot_version(self.dataset)), lambda: pending.pending_pods(self.dataset, p)
                )
            except WorkbenchError as err:
                self._note.object = f"Cannot list pending pods: {err}"
                rows = pl.DataFrame(schema=pending.PENDING_COLUMNS)
            if self.scope.workload:
                kind, _, name = self.scope.workload.rpartition("/")
                rows = rows.filter(
                    pl.col("workload_name") == name, *([pl.col("workload_kind") == kind] if kind else [])
                )
            self.rows = rows
            clusters = rows["cluster"].n_unique() > 1
            draw = self._drawn.draw
            draw("list", lambda: set_rows(self._list, pending_view(rows, clusters=clusters)), rows)
            by_qos = pending.summary(rows, by="qos_class")
            draw("qos", lambda: self._show_qos(by_qos), by_qos)
            by_reason = pending.summary(rows, by="primary")
            draw("reason", lambda: self._show_reasons(by_reason, rows), rows)
            draw("timeline", lambda: self._draw("timeline", lambda: self._timeline.draw(rows)), rows)
            update_cards(self._stats, self._stat_cards(rows))
            start, end = p.window(self.dataset)
            self._note.object = (
                f"{rows.height} pod(s) in {self._where()} waited for a node between {format_time(start)} and {format_time(end)} "
                f"(still pending first, longest waits first). Click one to see where it would fit."
            )
            self._capacity(p)
            self._refresh_fit()

    def _show_qos(self, by_qos: pl.DataFrame) -> None:
        set_rows(self._qos_table, by_qos.select(
            pl.col("qos_class").fill_null("(unknown)").alias("QoS class"), "pods", pl.col("still_pending").alias("still pending"),
            pl.col("pending_for_max").alias("longest wait"), pl.col("top_category").alias("top reason")))  # fmt: skip
        self._draw("qos", lambda: self._qos_chart.draw(by_qos))

    def _show_reasons(self, by_reason: pl.DataFrame, rows: pl.DataFrame) -> None:
        set_rows(self._reason_table, by_reason.select(
            pl.col("primary").alias("reason"), "pods", pl.col("still_pending").alias("still pending"),
            pl.col("pending_for_max").alias("longest wait")))  # fmt: skip
        self._draw("reason", lambda: self._reason_chart.draw(pending.reasons(rows)))

    def _stat_cards(self, rows: pl.DataFrame) -> list[pn.viewable.Viewable]:
        counts = dict(rows.group_by("state").len().iter_rows()) if rows.height else {}
        longest = rows["pending_for"].max() if rows.height else None
        return [
            stat("Pending now", counts.get("pending", 0), tone="bad" if counts.get("pending") else "good"),
            stat("Scheduled later", counts.get("scheduled", 0), detail="waited, then got a node"),
            stat("Deleted while pending", counts.get("deleted", 0)),
            stat("Refused by quota", counts.get("refused", 0), detail="creations a ResourceQuota refused"),
            stat("Longest wait", format_duration(longest) if longest is not None else "–"),  # type: ignore[arg-type]
        ]

    def _room_at(self, end: Any, cluster: str | None) -> pl.DataFrame:
        """:func:`~workbench.analyses.pending.headroom`, kept for the last moment and cluster asked
        (a namespace or workload change does not change it)."""
        key = (end, cluster)
        if self._room is None or self._room[0] != key:
            self._room = (
                key,
                pending.headroom(self.dataset, at=end, cluster=cluster, capacity=self._capacities),
            )
        return self._room[1]

    def _capacity(self, p: pending.PendingParams) -> None:
        _, end = p.window(self.dataset)
        room = self._room_at(end, p.cluster)
        self._drawn.draw("headroom", lambda: self._show_headroom(room), room)
        short = pending.shortfall(self.dataset, p, pending=self.rows, capacity=self._capacities)
        self._drawn.draw("shortfall", lambda: self._show_shortfall(short), short)

    def _show_headroom(self, room: pl.DataFrame) -> None:
        multi = room["cluster"].n_unique() > 1
        view = room.select(
            *(["cluster"] if multi else []), "node", "ready", "unschedulable",
            pl.Series("CPU allocatable", _cores(room["cpu_allocatable"].to_list()), dtype=pl.String),
            pl.Series("CPU requested", _cores(room["cpu_requested"].to_list()), dtype=pl.String),
            pl.Series("CPU free", _cores(room["cpu_free"].to_list()), dtype=pl.String),
            pl.Series("memory allocatable", _bytes(room["memory_allocatable"].to_list()), dtype=pl.String),
            pl.Series("memory requested", _bytes(room["memory_requested"].to_list()), dtype=pl.String),
            pl.Series("memory free", _bytes(room["memory_free"].to_list()), dtype=pl.String),
            pl.col("pods_free").alias("pods free"), "taints",
        )  # fmt: skip
        set_rows(self._headroom, view)
        self._draw("headroom", lambda: self._headroom_chart.draw(room))

    def _draw(self, chart: str, draw: Any) -> None:
        """Redraw ``chart``'s figures in place (``draw()``)."""
        draw()
        pn.io.push_notebook(*self._panes[chart])  # served pages send the changed models themselves

    def _show_shortfall(self, short: pl.DataFrame) -> None:
        set_rows(self._shortfall, short.select(
            "cluster", "summary", pl.col("pending_pods").alias("pending"), pl.col("resource_pods").alias("waiting for resources"),
            pl.col("placeable_now").alias("placeable now"), "unplaced",
            pl.Series("CPU needed", _cores(short["cpu_needed"].to_list()), dtype=pl.String),
            pl.Series("memory needed", _bytes(short["memory_needed"].to_list()), dtype=pl.String),
        ))  # fmt: skip

    @param.depends("pod", "in_cluster", watch=True)
    def _refresh_fit(self) -> None:
        row = self.selected()
        if row is None:
            self._fit_title.object = (
                "Select a pending pod in the list."
                if self.rows.height
                else f"No pending pods in {self._where()}."
            )
            self._fit_message.object = f"no pending pod {self.pod} in this scope" if self.pod else ""
            # no rows, the columns kept (new columns would be new models in a served page)
            self._show_fit(_fit_view(pl.DataFrame(schema=pending.FIT_COLUMNS)))
            return
        name = _key(row)
        self._fit_title.object = (
            f"{name} ({row['cluster']}) · {row['state']} · waited {format_duration(row['pending_for'])}"
        )
        self._fit_message.object = f"Scheduler: {row['message'] or '(no message)'}"
        if row["state"] == "refused":
            self._show_fit(
                pl.DataFrame({"advice": ["No pod was created: the quota refused it, so no node was tried."]})
            )
            return
        one = self.rows.filter(
            pl.col("cluster") == row["cluster"],
            pl.col("namespace") == row["namespace"],
            pl.col("pod") == row["pod"],
        )
        fit = pending.fit(self.dataset, self._params(), pending=one, capacity=self._capacities).sort(
            ["fits", "candidate", "cpu_short"], descending=[True, True, False]
        )
        self._show_fit(_fit_view(fit))

    def _show_fit(self, view: pl.DataFrame) -> None:
        """Show ``view`` in the fit table (unless it shows it already)."""
        self._drawn.draw("fit", lambda: set_rows(self._fit, view), view)
