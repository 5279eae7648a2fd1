"""The snapshot overview page: what the snapshot holds, pods by status, the problem pods, the
demo's incidents and the snapshot's warnings, for one cluster/namespace or all of them.

In JupyterLab::

    import workbench as wb, workbench.ui
    wb.ui.Overview(wb.open("data/demo"), namespace="shop")

Served (``apps/overview.py``): ``Overview(ds).page()``; cluster and namespace live in the URL.
Live mode (:mod:`workbench.ui.live`): :meth:`Overview.snapshot_changed` shows what the snapshot
now holds for the same cluster and namespace.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import panel as pn
import param
import polars as pl

import workbench
from workbench.analyses import overview as analysis
from workbench.errors import ParameterError
from workbench.store import Dataset
from workbench.ui._refresh import batched, update_cards
from workbench.ui.common import (
    PlainText,
    busy,
    format_count,
    format_duration,
    format_range,
    page,
    stat,
    sync_to_url,
    table_frame,
    text_table,
)
from workbench.ui.live import LiveControls, take_live
from workbench.ui.scope import _NOT_HERE, choose
from workbench.viz.overview import status_bars

__all__ = ["Overview"]

log = logging.getLogger(__name__)

ALL = ""  # the value of the cluster/namespace selectors that means "all of them"

_PROBLEM_TITLES = {
    "cluster": "CLUSTER",
    "namespace": "NAMESPACE",
    "name": "NAME",
    "node": "NODE",
    "status": "STATUS",
    "ready": "READY",
    "restarts": "RESTARTS",
    "age": "AGE",
    "reason": "REASON",
    "last_warning": "LAST WARNING",
    "workload": "WORKLOAD",
    "problem": "WHY",
}


class Overview(pn.viewable.Viewer):
    """The overview of one snapshot, filtered by cluster and namespace (empty: all)."""

    # any name: a link may name one this snapshot lacks (shown as such, see workbench.ui.scope.choose)
    cluster = param.String(default=ALL, doc="Cluster to show (empty: all clusters)")
    namespace = param.String(default=ALL, doc="Namespace to show (empty: all namespaces)")

    def __init__(self, dataset: Dataset | str | os.PathLike[str], **params: Any) -> None:
        self.dataset = dataset if isinstance(dataset, Dataset) else workbench.open(dataset)
        wanted = {k: params.pop(k) for k in ("cluster", "namespace") if k in params}
        live = take_live(params)
        super().__init__(**params)
        self._namespace_shown = ALL  # the namespace of the last refresh
        self._read_snapshot()
        self._build()
        self.live = LiveControls(self.dataset, self.snapshot_changed, **live)
        self.param.update(**wanted)
        self._refresh()

    def _read_snapshot(self) -> None:
        """What the page shows for the whole snapshot: its clusters and namespaces (the
        selectors' choices), summary and incidents."""
        ds = self.dataset
        self._namespaces_all = analysis.namespaces(ds)
        self._summary = analysis.snapshot_summary(ds)
        self._incidents = analysis.incidents(ds)

    # -- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        self._cluster_select = pn.widgets.Select(
            label="Cluster",
            options=self._options([ALL, *self.dataset.clusters], "All clusters"),
            sizing_mode="stretch_width",
        )
        self._namespace_select = pn.widgets.Select(
            label="Namespace",
            options=self._options([ALL, *self._namespaces_all], "All namespaces"),
            sizing_mode="stretch_width",
        )
        for name, select, note in (
            ("cluster", self._cluster_select, _NOT_HERE),
            ("namespace", self._namespace_select, "0"),
        ):
            choose(select, getattr(self, name), note=note)
            select.link(self, value=name)
            self.param.watch(lambda e, select=select, note=note: choose(select, e.new, note=note), name)
        self._cards = pn.FlexBox(sizing_mode="stretch_width")
        self._chart = pn.pane.HoloViews(sizing_mode="stretch_width", min_height=160, linked_axes=False)
        self._problems = text_table(
            self._problem_view(pl.DataFrame(schema=analysis.PROBLEM_COLUMNS)),
            wrap=("reason", "last_warning"),
            titles=_PROBLEM_TITLES,
            widths={"reason": 280, "last_warning": 300},
            frozen_columns=["name"],
            row_content=self._problem_details,
            pagination="local",
            page_size=25,
            css_classes=["wb-problem-pods"],
        )
        self._problem_note = PlainText("", margin=(0, 10))
        self._clusters_table = text_table(
            self._cluster_view(self._summary),
            page_size=10,
            titles={
                "pods_pending": "pending",
                "pods_failed": "failed",
                "problem_pods": "problems",
                "warning_events": "warnings",
            },
        )
        self._incident_table = text_table(
            self._incident_view(self._incidents),
            wrap=("pods", "signals"),
            widths={"pods": 320, "signals": 320},
            page_size=20,
            css_classes=["wb-incidents"],
        )
        self._warnings_table = text_table(self._warnings(), wrap=("message",), page_size=10)

    def _warnings(self) -> pl.DataFrame:
        return pl.DataFrame(
            [{k: w.get(k) for k in ("source", "what", "message", "at")} for w in self.dataset.warnings],
            schema={"source": pl.String, "what": pl.String, "message": pl.String, "at": pl.String},
        ).with_columns(pl.col("at").str.to_datetime(time_zone="UTC", strict=False))

    def _problem_view(self, problems: pl.DataFrame) -> pl.DataFrame:
        """The problem pods as shown: workload as ``Kind/name``; no cluster column for a
        single-cluster snapshot."""
        view = problems.with_columns(
            pl.when(pl.col("workload_name").is_not_null())
            .then(pl.concat_str(pl.col("workload_kind").fill_null("?"), pl.lit("/"), pl.col("workload_name")))
            .alias("workload")
        ).select(
            "name",
            "namespace",
            "status",
            "ready",
            "restarts",
            "age",
            "problem",
            "reason",
            "last_warning",
            "cluster",
            "node",
            "workload",
        )
        return view if len(self.dataset.clusters) > 1 else view.drop("cluster")

    @staticmethod
    def _problem_details(row: Any) -> PlainText:
        """The expanded row: every field in full, as text."""
        lines = [f"{k}: {v}" for k, v in row.items() if v not in (None, "")]
        return PlainText(
            "\n".join(lines), styles={"white-space": "pre-wrap"}, sizing_mode="stretch_width", margin=(4, 12)
        )

    @staticmethod
    def _incident_view(incidents: pl.DataFrame) -> pl.DataFrame:
        return incidents.select(
            "id", "kind", "start", "end", "cluster", "namespace", "object", "pods", "signals"
        )

    @staticmethod
    def _cluster_view(summary: pl.DataFrame) -> pl.DataFrame:
        return summary.select(
            "cluster",
            pl.format("{}/{}", "nodes_ready", "nodes").alias("nodes ready"),
            "pods",
            "pods_pending",
            "pods_failed",
            "problem_pods",
            "events",
            "warning_events",
        )

    @staticmethod
    def _options(values: list[str], all_label: str) -> dict[str, str]:
        return {(all_label if v == ALL else v): v for v in values}

    def controls(self) -> pn.Column:
        """The cluster and namespace selectors (the page puts them in the sidebar)."""
        return pn.Column(self._cluster_select, self._namespace_select, sizing_mode="stretch_width")

    def sections(self) -> list[pn.viewable.Viewable]:
        """The page's sections, top to bottom."""
        out: list[pn.viewable.Viewable] = [
            pn.Column(self._cards, sizing_mode="stretch_width"),
            pn.Row(
                pn.Card(self._chart, title="Pods by status", collapsible=False, width=520),
                pn.Card(
                    self._clusters_table,
                    title="Clusters (all namespaces)",
                    collapsible=False,
                    sizing_mode="stretch_width",
                    min_width=320,
                ),
                sizing_mode="stretch_width",
            ),
            pn.Card(
                self._problem_note,
                self._problems,
                title="Problem pods",
                collapsible=False,
                sizing_mode="stretch_width",
            ),
        ]
        if not self._incidents.is_empty():
            out.append(
                pn.Card(
                    self._incident_table,
                    title="Incidents (ground truth of the demo)",
                    collapsible=False,
                    sizing_mode="stretch_width",
                )
            )
        if self.dataset.warnings:
            out.append(
                pn.Card(
                    self._warnings_table,
                    title="Snapshot warnings (what the collection missed)",
                    collapsible=False,
                    sizing_mode="stretch_width",
                )
            )
        return out

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(pn.Row(self.controls(), self.live), *self.sections(), sizing_mode="stretch_width")

    def page(self) -> pn.template.BaseTemplate:
        """The served page: template, selectors in the sidebar, state synced to the URL."""
        sync_to_url(self, ["cluster", "namespace"])
        self.live.sync()
        from workbench.ui.scope import PAGES, nav

        sidebar = [
            self.controls(),
            pn.layout.Divider(),
            self.live,
            pn.layout.Divider(),
            nav(self, current="overview"),
        ]
        return page(PAGES["overview"], snapshot=self.dataset.path, sidebar=sidebar, main=self.sections())

    # -- updates --------------------------------------------------------------------------------
    def snapshot_changed(self) -> None:
        """Show what the snapshot now holds (live mode), for the same cluster and namespace."""
        with batched():
            self._read_snapshot()
            self._cluster_select.options = self._options([ALL, *self.dataset.clusters], "All clusters")
            choose(self._cluster_select, self.cluster, note=_NOT_HERE)  # a cluster it lacks stays shown
            self._cluster_changed()  # the namespaces of the cluster
            self._clusters_table.value = table_frame(self._cluster_view(self._summary)).to_pandas()
            self._warnings_table.value = table_frame(self._warnings()).to_pandas()
            self._refresh()

    @param.depends("cluster", watch=True)
    def _cluster_changed(self) -> None:
        """The namespaces of the new cluster; a namespace it lacks goes back to all, unless it
        came with the cluster (a link naming both: it is kept and shown as "name (0)")."""
        names = analysis.namespaces(self.dataset, cluster=self.cluster or None)
        objects = [ALL, *names]
        options = self._options(objects, "All namespaces")
        if self.namespace not in objects and self.namespace == self._namespace_shown:
            self.namespace = ALL
        elif self.namespace not in objects:  # as choose() shows it (the menu never drops the value)
            options[f"{self.namespace} (0)"] = self.namespace
        self._namespace_select.options = options

    @param.depends("cluster", "namespace", watch=True)
    def _refresh(self) -> None:
        cluster, namespace = self.cluster or None, self.namespace or None
        self._namespace_shown = self.namespace
        with busy(self._problems, self._chart), batched():
            try:
                problems = analysis.problem_pods(self.dataset, cluster=cluster, namespace=namespace)
                by_status = analysis.pods_by_status(self.dataset, cluster=cluster, namespace=namespace)
            except ParameterError:  # a link's cluster or namespace the snapshot lacks: no pods
                problems = pl.DataFrame(schema=analysis.PROBLEM_COLUMNS)
                by_status = pl.DataFrame(schema=analysis.STATUS_COLUMNS)
            self._problems.value = table_frame(self._problem_view(problems)).to_pandas()
            scope = " / ".join(x for x in (cluster, namespace) if x) or "all clusters and namespaces"
            self._problem_note.object = f"{problems.height} problem pod(s) in {scope}"
            self._chart.object = status_bars(by_status, title="")
            update_cards(self._cards, self._card_list(problems, by_status))
            incidents = self._incidents
            if cluster:
                incidents = incidents.filter(pl.col("cluster").is_null() | (pl.col("cluster") == cluster))
            if namespace:
                incidents = incidents.filter(
                    pl.col("namespace").is_null() | (pl.col("namespace") == namespace)
                )
            self._incident_table.value = table_frame(self._incident_view(incidents)).to_pandas()

    def _card_list(self, problems: pl.DataFrame, by_status: pl.DataFrame) -> list[pn.pane.HTML]:
        summary = self._summary
        if self.cluster:
            summary = summary.filter(pl.col("cluster") == self.cluster)
        start, end = self.dataset.window
        total = int(by_status["pods"].sum()) if by_status.height else 0
        nodes, ready = int(summary["nodes"].sum()), int(summary["nodes_ready"].sum())
        counts = {
            c: int(summary[c].sum()) for c in ("events", "warning_events", "spans", "logs", "metric_samples")
        }
        clusters = summary["cluster"].to_list()
        # these counts are per cluster: say so when a namespace is selected
        scope = "all namespaces" if self.namespace else ""
        return [
            stat("Clusters", len(clusters), detail=", ".join(clusters)),
            stat(
                "Window",
                format_duration(end - start) if start and end else "–",
                detail=format_range(start, end),
                width=250,
            ),
            stat("Nodes ready", f"{ready}/{nodes}", tone="good" if ready == nodes else "bad"),
            stat("Pods", format_count(total), detail="in " + (self.namespace or "all namespaces")),
            stat("Problem pods", problems.height, tone="bad" if problems.height else "good"),
            stat(
                "Events",
                format_count(counts["events"]),
                detail=" · ".join(
                    x for x in (f"{format_count(counts['warning_events'])} warnings", scope) if x
                ),
            ),
            stat("Spans", format_count(counts["spans"]), detail=scope),
            stat("Log lines", format_count(counts["logs"]), detail=scope),
            stat("Metric samples", format_count(counts["metric_samples"]), detail=scope),
        ]

    def __repr__(self) -> str:
        return f"Overview({str(Path(self.dataset.path))!r}, cluster={self.cluster!r}, namespace={self.namespace!r})"
