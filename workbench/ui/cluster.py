"""The cluster page: the node resource matrix (per node, CPU and memory usage, requests and limits
as % of allocatable, pods, network in/out, status, zone, instance type), the cluster-wide
totals, the problem pods with their latest Warning event, and usage vs requests vs
allocatable over time (of each cluster, or of the node clicked in the matrix).

In JupyterLab::

    import workbench as wb, workbench.ui
    wb.ui.cluster.ClusterPage(wb.open("data/demo"), cluster="eks-prod-us-east-1")

Served (``apps/cluster.py``): the scope, the selected node (``?node=…``) and the bucket width
(``?step=5m``) live in the URL. Numbers come from :func:`workbench.analyses.cluster.analyse`.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any, ClassVar

import panel as pn
import param
import polars as pl

from workbench.analyses import cluster as analysis
from workbench.errors import WorkbenchError
from workbench.ui._refresh import Drawn, Recent, batched, update_cards
from workbench.ui.common import (
    busy,
    format_bytes,
    format_cores,
    format_count,
    format_range,
    percent_bars,
    stat,
    table_frame,
    text_table,
)
from workbench.ui.live import LivePage, plain_text, snapshot_version
from workbench.viz import cluster as cv

__all__ = ["STEPS", "ClusterPage", "matrix_view", "problem_view", "totals_view"]

#: Bucket widths offered for the series over time (the first is the analysis' default).
STEPS = ("5m", "1m", "15m", "1h")
_PCT = [f"{r}_{k}_pct" for r in ("cpu", "memory") for k in ("usage", "requests", "limits")]
_TITLES = {
    "node": "node", "status": "status", "zone": "zone", "instance_type": "instance type", "pods": "pods",
    "cpu_used": "CPU used", "cpu_usage_pct": "CPU use %", "cpu_requests_pct": "CPU req %",
    "cpu_limits_pct": "CPU lim %", "cpu_alloc": "CPU alloc.", "memory_used": "mem used",
    "memory_usage_pct": "mem use %", "memory_requests_pct": "mem req %",
    "memory_limits_pct": "mem lim %", "memory_alloc": "mem alloc.", "net_in": "net in",
    "net_out": "net out", "nodes_ready": "nodes ready", "cpu_requested": "CPU requests",
    "cpu_limited": "CPU limits", "memory_requested": "mem requests", "memory_limited": "mem limits",
}  # fmt: skip
#: Tooltips of the matrix' column headers.
_TIPS = {
    "cpu_usage_pct": "CPU used (mean over the window) as % of the node's allocatable",
    "cpu_requests_pct": "CPU requests of the pods bound at the window's end, as % of allocatable",
    "cpu_limits_pct": "CPU limits of the pods bound at the window's end, as % of allocatable",
    "memory_usage_pct": "memory working set (mean over the window) as % of allocatable",
    "memory_requests_pct": "memory requests of the pods bound at the window's end, as % of allocatable",
    "memory_limits_pct": "memory limits of the pods bound at the window's end, as % of allocatable",
}


def _text(values: list[Any], fmt: Any, suffix: str = "") -> list[str]:
    return [fmt(v) + suffix if v is not None else "" for v in values]


def _units(frame: pl.DataFrame) -> list[pl.Series]:
    """The absolute numbers of a matrix-like frame as text with units."""
    return [
        pl.Series("cpu_used", _text(frame["cpu_usage"].to_list(), format_cores), dtype=pl.String),
        pl.Series("cpu_requested", _text(frame["cpu_requests"].to_list(), format_cores), dtype=pl.String),
        pl.Series("cpu_limited", _text(frame["cpu_limits"].to_list(), format_cores), dtype=pl.String),
        pl.Series("cpu_alloc", _text(frame["cpu_allocatable"].to_list(), format_cores), dtype=pl.String),
        pl.Series("memory_used", _text(frame["memory_usage"].to_list(), format_bytes), dtype=pl.String),
        pl.Series(
            "memory_requested", _text(frame["memory_requests"].to_list(), format_bytes), dtype=pl.String
        ),
        pl.Series("memory_limited", _text(frame["memory_limits"].to_list(), format_bytes), dtype=pl.String),
        pl.Series(
            "memory_alloc", _text(frame["memory_allocatable"].to_list(), format_bytes), dtype=pl.String
        ),
        pl.Series(
            "net_in", _text(frame["network_rx_bytes_per_s"].to_list(), format_bytes, "/s"), dtype=pl.String
        ),
        pl.Series(
            "net_out", _text(frame["network_tx_bytes_per_s"].to_list(), format_bytes, "/s"), dtype=pl.String
        ),
    ]


def matrix_view(matrix: pl.DataFrame, nodes: pl.DataFrame, *, clusters: bool) -> pl.DataFrame:
    """The node matrix as shown: a :func:`~workbench.analyses.cluster.node_matrix` result with
    zone and instance type from :func:`~workbench.analyses.cluster.nodes`, percentages rounded
    to one decimal, absolute numbers as text with units."""
    info = nodes.select("cluster", pl.col("name").alias("node"), "zone", "instance_type")
    m = matrix.join(info, on=["cluster", "node"], how="left")
    view = m.with_columns(*_units(m), *[pl.col(c).round(1) for c in _PCT]).select(
        "node", "status", "pods", "cpu_used", "cpu_usage_pct", "cpu_requests_pct", "cpu_limits_pct",
        "memory_used", "memory_usage_pct", "memory_requests_pct", "memory_limits_pct", "cpu_alloc", "memory_alloc",
        "net_in", "net_out", "zone", "instance_type", "cluster",
    )  # fmt: skip
    return view if clusters else view.drop("cluster")


def totals_view(totals: pl.DataFrame) -> pl.DataFrame:
    """The cluster-wide totals (:func:`~workbench.analyses.cluster.cluster_matrix`) as shown."""
    return totals.with_columns(
        *_units(totals), *[pl.col(c).round(1) for c in _PCT], pl.format("{}/{}", "nodes_ready", "nodes").alias("nodes_ready")
    ).select(
        "cluster", "nodes_ready", "pods", "cpu_used", "cpu_usage_pct", "cpu_requested", "cpu_requests_pct",
        "cpu_limited", "cpu_limits_pct", "cpu_alloc", "memory_used", "memory_usage_pct", "memory_requested",
        "memory_requests_pct", "memory_limited", "memory_limits_pct", "memory_alloc", "net_in", "net_out",
    )  # fmt: skip


def problem_view(problems: pl.DataFrame, *, clusters: bool) -> pl.DataFrame:
    """The problem pods as shown: workload as ``Kind/name``, the latest Warning event."""
    view = problems.select(
        "name", "namespace", "status", "ready", "restarts", "age", "reason", "last_warning", "node",
        pl.when(pl.col("workload_name").is_not_null())
        .then(pl.format("{}/{}", pl.col("workload_kind").fill_null("?"), "workload_name")).alias("workload"),
        "cluster",
    )  # fmt: skip
    return view if clusters else view.drop("cluster")


class ClusterPage(LivePage):
    """Nodes, their resources, problem pods and the cluster over time, within a scope."""

    slug: ClassVar[str] = "cluster"
    url_params: ClassVar[dict[str, str]] = {"node": "node", "in_cluster": "in_cluster", "step": "step"}
    scope_options: ClassVar[dict[str, bool]] = {"workload": False, "traced": False}
    scope_watch: ClassVar[tuple[str, ...]] = ("cluster", "namespace", "start", "end")

    node = param.String(default="", doc="Node whose usage over time is shown ('' = each cluster's).")
    in_cluster = param.String(default="", doc="Cluster of the selected node ('' = the first that has it).")
    step = param.Selector(default=STEPS[0], objects=list(STEPS), doc="Bucket width of the series over time.")

    def _build(self) -> None:
        self.view: analysis.ClusterOverview | None = None
        self._drawn = Drawn()
        self._recent: Recent[analysis.ClusterOverview] = Recent()
        self._node_views: Recent[analysis.ClusterOverview] = Recent()  # by cluster, window and step
        self._cards = pn.FlexBox(sizing_mode="stretch_width")
        self._note = plain_text("", margin=(0, 10))
        self._matrix = text_table(pl.DataFrame(), titles=_TITLES, css_classes=["wb-node-matrix"], frozen_columns=["node"],
                                  pagination="local", page_size=25,
                                  header_tooltips=_TIPS)  # fmt: skip
        percent_bars(self._matrix, _PCT)
        self._matrix.on_click(self._clicked)
        self._totals = text_table(
            pl.DataFrame(), titles=_TITLES, css_classes=["wb-cluster-totals"], header_tooltips=_TIPS
        )
        percent_bars(self._totals, _PCT)
        self._problems = text_table(
            pl.DataFrame(schema=analysis.overview.PROBLEM_COLUMNS), wrap=("reason", "last_warning"),
            titles={"last_warning": "latest Warning event"}, widths={"reason": 260, "last_warning": 320},
            frozen_columns=["name"], pagination="local", page_size=20, css_classes=["wb-problem-pods"],
        )  # fmt: skip
        self._findings = text_table(pl.DataFrame(), wrap=("detail",), css_classes=["wb-findings"])
        self._time_title = plain_text("", styles={"font-weight": "600"}, margin=(0, 10))
        self._clear = pn.widgets.Button(
            name="Show the whole cluster", button_type="light", visible=False, width=200
        )
        self._clear.on_click(lambda _e: self.param.update(node="", in_cluster=""))
        self._step = pn.widgets.Select.from_param(self.param.step, name="bucket", width=110)
        # the charts over time are built once (per cluster shown at a time) and redrawn in place
        self._over_time = pn.Column(sizing_mode="stretch_width")
        self._charts: list[_OverTime] = []
        self._heat: cv.NodeHeatmap | None = None
        self._heat_pane = pn.pane.Bokeh(None, sizing_mode="stretch_width")
        self._heatmap = pn.Column(self._heat_pane, sizing_mode="stretch_width", visible=False)

    def sections(self) -> list[pn.viewable.Viewable]:
        card = {"collapsible": False, "sizing_mode": "stretch_width"}
        return [
            self._cards,
            pn.Card(self._note, self._matrix, title="Node resource matrix (click a node to see it over time)", **card),
            pn.Card(self._totals, title="Cluster-wide totals", **card),
            pn.Card(self._problems, title="Problem pods (latest Warning event)", **card),
            pn.Card(pn.Row(self._time_title, self._clear, self._step), self._over_time, self._heatmap,
                    title="Usage vs requests vs allocatable over time", **card),
            pn.Card(self._findings, title="Findings", **card),
        ]  # fmt: skip

    # -- data -----------------------------------------------------------------------------------
    def params(self) -> analysis.ClusterParams:
        """The analysis parameters of the current scope."""
        s = self.scope
        return analysis.ClusterParams(cluster=s.cluster or None, namespace=s.namespace or None, start=s.start or None,
                                      end=s.end or None, step=self.step)  # fmt: skip

    def refresh(self) -> None:
        """Re-run :func:`~workbench.analyses.cluster.analyse` and redraw every section."""
        with busy(self._matrix, self._problems, self._over_time), batched():
            try:
                # the node views of a cluster (or of every cluster), window and step seen lately
                # are reused for any namespace, not once the snapshot grew (live mode): those of
                # this cluster, else of every cluster, else (every cluster asked for) of some
                version = snapshot_version(self.dataset)
                p = self.params()
                nodes_key = (p.cluster, p.start, p.end, p.step, version)
                which = dict.fromkeys((p.cluster, None, *self.dataset.clusters))
                seen = [self._node_views.peek((c, *nodes_key[1:])) for c in which]
                previous = [v for v in seen if v is not None]
                view = self._recent.get(
                    (p, version), lambda: analysis.analyse(self.dataset, p, previous=previous)
                )
                self._node_views.get(nodes_key, lambda: view)
            except WorkbenchError as err:
                self.view = None
                self._drawn.forget()
                self._note.object = f"Cannot show this scope: {err}"
                return
            self.view = view
            multi = view.matrix["cluster"].n_unique() > 1
            draw = self._drawn.draw
            # the cluster column stays in the tables, hidden for one cluster: a table whose
            # columns change gets new column models (the page's model graph walked again)
            draw("matrix", lambda: _fill(self._matrix, matrix_view(view.matrix, view.nodes, clusters=True),
                                         clusters=multi), view.matrix, view.nodes)  # fmt: skip
            draw("totals", lambda: setattr(self._totals, "value", table_frame(totals_view(view.cluster_matrix))
                                           .to_pandas()), view.cluster_matrix)  # fmt: skip
            draw("problems", lambda: _fill(self._problems, problem_view(view.problem_pods, clusters=True),
                                           clusters=multi), view.problem_pods, multi)  # fmt: skip
            draw("findings", lambda: setattr(self._findings, "value", table_frame(pl.DataFrame(
                [{"severity": f.severity, "title": f.title, "cluster": f.cluster, "detail": f.detail or "; ".join(f.evidence)}
                 for f in view.findings], schema={"severity": pl.String, "title": pl.String, "cluster": pl.String, "detail": pl.String},
            )).to_pandas()), view.findings)  # fmt: skip
            start, end = (
                self.params().start or self.dataset.window[0],
                self.params().end or self.dataset.window[1],
            )
            self._note.object = (
                f"{view.matrix.height} node(s). Usage is the mean over the window"
                f"{_window_text(start, end)}; requests and limits are those of the pods bound at its end; "
                "percentages are of each node's allocatable."
                if view.matrix.height
                else "No nodes in this snapshot for this scope."
            )
            update_cards(self._cards, self._card_list(view))
            self._draw_over_time()

    def _card_list(self, view: analysis.ClusterOverview) -> list[pn.viewable.Viewable]:
        totals = view.cluster_matrix
        nodes, ready = int(totals["nodes"].sum() or 0), int(totals["nodes_ready"].sum() or 0)
        critical = sum(1 for f in view.findings if f.severity == "critical")
        cards = [
            stat("Nodes ready", f"{ready}/{nodes}", tone="good" if ready == nodes else "bad"),
            stat("Pods on nodes", format_count(int(totals["pods"].sum() or 0)), detail="bound at the window's end"),
            stat("Problem pods", view.problem_pods.height, tone="bad" if view.problem_pods.height else "good",
                 detail=f"in {self.scope.namespace or 'all namespaces'}"),
            stat("Critical findings", critical, tone="bad" if critical else "good"),
        ]  # fmt: skip
        # a card per cluster of the snapshot, those not in scope hidden: the same cards for
        # every scope, updated in place (update_cards)
        rows = {r["cluster"]: r for r in totals.iter_rows(named=True)}
        for name in sorted({*self.dataset.clusters, *rows}):
            r = rows.get(name)
            if r is None:
                cards.append(stat(name, "–", width=300))
                cards[-1].visible = False
                continue
            cpu, mem = r["cpu_usage_pct"], r["memory_usage_pct"]
            cards.append(stat(f"{r['cluster']}", f"CPU {cpu:.0f}% · mem {mem:.0f}%" if cpu is not None and mem is not None
                              else "–", detail=f"used of {format_cores(r['cpu_allocatable'])} / "
                              f"{format_bytes(r['memory_allocatable'])} allocatable", width=300))  # fmt: skip
        return cards

    def _clicked(self, event: Any) -> None:
        view = self.view
        if view is None or event.row is None or event.row >= view.matrix.height:
            return
        row = view.matrix.row(event.row, named=True)
        self.param.update(
            node=row["node"], in_cluster=row["cluster"] if view.matrix["cluster"].n_unique() > 1 else ""
        )

    @param.depends("node", "in_cluster", watch=True)
    def _draw_over_time(self) -> None:
        view = self.view
        if view is None or not self.started:
            return
        # the series do not depend on the namespace: unchanged frames are not drawn again
        with batched():
            self._drawn.draw("over time", self._over_time_charts, view.node_resources, view.cluster_resources,
                             self.node, self.in_cluster)  # fmt: skip

    def _over_time_charts(self) -> None:
        view = self.view
        assert view is not None
        res = view.node_resources
        self._clear.visible = bool(self.node)
        if self.node:
            mine = res.filter(pl.col("node") == self.node)
            if self.in_cluster:
                mine = mine.filter(pl.col("cluster") == self.in_cluster)
            if mine.is_empty():
                self._time_title.object = f"no node {self.node} in this scope"
                for charts in self._charts:
                    charts.show(visible=False)
                self._heatmap.visible = False
                return
            one = mine["cluster"][0]
            mine = mine.filter(pl.col("cluster") == one).with_columns(pl.lit(self.node).alias("cluster"))
            self._time_title.object = f"Node {self.node} ({one})"
            groups = [(self.node, mine, mine)]
        else:
            self._time_title.object = "Each cluster (all its nodes added)"
            groups = [
                (c, view.cluster_resources, res)
                for c in view.cluster_resources["cluster"].unique().sort().to_list()
            ]
        while len(self._charts) < len(groups):
            self._charts.append(_OverTime())
            self._over_time.extend(self._charts[-1].rows)
        # the charts of clusters not shown now are hidden, kept for later: shown again, not built
        for charts, group in itertools.zip_longest(self._charts, groups):
            if group is not None:
                charts.draw(*group)
            charts.show(visible=group is not None)
        if self.node:
            self._heatmap.visible = False
            return
        if self._heat is None:
            self._heat = cv.NodeHeatmap()
            self._heat.draw(res)
            self._heat_pane.object = self._heat.figure
        else:
            self._heat.draw(res)
            pn.io.push_notebook(self._heat_pane)
        self._heatmap.visible = True

    @param.depends("step", watch=True)
    def _step_changed(self) -> None:
        if self.started:
            self.refresh()


class _OverTime:
    """The charts of one cluster (or node) over time, CPU and memory side by side, network
    below: built once, redrawn in place for every scope (:mod:`workbench.viz._figures`)."""

    def __init__(self) -> None:
        self.cpu, self.memory = cv.ResourcesChart("cpu"), cv.ResourcesChart("memory")
        self.network = cv.NetworkChart()
        charts = (self.cpu, self.memory, self.network)
        self.panes = [pn.pane.Bokeh(c.figure, sizing_mode="stretch_width") for c in charts]
        self.rows = [
            pn.Row(*self.panes[:2], sizing_mode="stretch_width"),
            pn.Row(self.panes[2], pn.Spacer(sizing_mode="stretch_width"), sizing_mode="stretch_width"),
        ]

    def show(self, *, visible: bool) -> None:
        """Show or hide these charts (hidden ones keep their figures for later)."""
        for row in self.rows:
            if row.visible != visible:
                row.visible = visible

    def draw(self, name: str, res: pl.DataFrame, net: pl.DataFrame) -> None:
        """Draw cluster ``name`` of ``res`` (its resources) and ``net`` (its nodes' network)."""
        self.cpu.draw(res, cluster=name)
        self.memory.draw(res, cluster=name)
        self.network.draw(net, cluster=name)
        pn.io.push_notebook(*self.panes)  # served pages send the changed models themselves


def _fill(table: pn.widgets.Tabulator, frame: pl.DataFrame, *, clusters: bool) -> None:
    """Show ``frame`` (which has a ``cluster`` column) in ``table``, that column hidden unless
    ``clusters`` (several are shown)."""
    hidden = [] if clusters else ["cluster"]
    if table.hidden_columns != hidden:
        table.hidden_columns = hidden
    table.value = table_frame(frame).to_pandas()


def _window_text(start: dt.datetime | None, end: dt.datetime | None) -> str:
    return f" ({format_range(start, end)})" if start and end else ""
