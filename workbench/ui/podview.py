"""The pod view page: the pods that exist at the snapshot's end as cards, grouped by Namespace,
Node, ReplicaSet, Deployment, DaemonSet, StatefulSet, Job, CronJob or Service, with each group's
counts; problem pods stand out (red border and name), each card shows its containers' states as
badges and opens that pod in the resource browser (keeping the scope).

In JupyterLab::

    import workbench as wb, workbench.ui
    wb.ui.podview.PodView(wb.open("data/demo"), group_by="node")

Served (``apps/pod_view.py``): the grouping and "only problem pods" live in the URL
(``?group_by=node&problems=true``) next to the scope.
"""

from __future__ import annotations

import html
import os
from typing import Any

import panel as pn
import param
import polars as pl

import workbench
from workbench.analyses import podview
from workbench.store import Dataset
from workbench.ui._refresh import batched, watch_scope
from workbench.ui.common import busy, page, stat
from workbench.ui.live import LiveControls, take_live
from workbench.ui.resources import PlainText, object_link, sync_params
from workbench.ui.scope import PAGES, SCOPE_PARAMS, Scope, nav

__all__ = ["GROUPINGS", "URL_PARAMS", "PodView", "cards_html", "state_tone"]

#: Group-by value → label.
GROUPINGS: dict[str, str] = {
    "namespace": "Namespace", "node": "Node", "replicaset": "ReplicaSet", "deployment": "Deployment",
    "daemonset": "DaemonSet", "statefulset": "StatefulSet", "job": "Job", "cronjob": "CronJob", "service": "Service",
}  # fmt: skip
URL_PARAMS = {"group_by": "group_by", "only_problems": "problems"}

_CSS = """
.wb-group { border: 1px solid rgba(128,128,128,0.35); border-radius: 6px; margin: 0 0 12px 0; padding: 6px 10px 10px; }
.wb-group.problem { border-color: #e53935; }
.wb-group h4 { margin: 2px 0 8px; font-size: 1.02em; }
.wb-group.problem h4 .wb-group-name { color: #c62828; }
.wb-group-count { font-weight: normal; opacity: 0.8; margin-left: 8px; font-size: 0.92em; }
.wb-cards { display: flex; flex-wrap: wrap; gap: 8px; }
.wb-card { display: block; flex: 1 1 240px; max-width: 320px; min-width: 0; padding: 6px 8px; border: 1px solid rgba(128,128,128,0.4);
           border-left: 5px solid #43a047; border-radius: 5px; text-decoration: none; color: inherit; font-size: 0.86em; }
.wb-card:hover { box-shadow: 0 1px 6px rgba(0,0,0,0.25); }
.wb-card.problem { border: 2px solid #e53935; border-left: 6px solid #e53935; background: rgba(229,57,53,0.06); }
.wb-card.done { border-left-color: #b0bec5; }
.wb-card-name { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.wb-card.problem .wb-card-name { color: #c62828; }
.wb-card-line { opacity: 0.85; margin: 2px 0; }
.wb-card-why { color: #c62828; font-size: 0.9em; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.wb-badge { display: inline-block; padding: 0 5px; margin: 2px 3px 0 0; border-radius: 8px; font-size: 0.85em;
            color: white; background: #43a047; max-width: 230px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.wb-badge.bad { background: #e53935; } .wb-badge.wait { background: #f9a825; color: black; }
.wb-badge.done, .wb-badge.unknown { background: #90a4ae; }
"""
_WAITING_OK = ("ContainerCreating", "PodInitializing")


def state_tone(state: str) -> str:
    """The badge colour class of a container state (:func:`~workbench.analyses.podview.container_state`).

    >>> state_tone("running"), state_tone("waiting:CrashLoopBackOff"), state_tone("terminated:Completed")
    ('ok', 'bad', 'done')
    """
    kind, _, reason = state.partition(":")
    if kind == "running":
        return "ok"
    if kind == "unknown":
        return "unknown"
    if kind == "terminated":
        return "done" if reason == "Completed" else "bad"
    return "wait" if reason in _WAITING_OK or not reason else "bad"


def _card(row: dict[str, Any], href: str) -> str:
    e = html.escape
    badges = "".join(
        f'<span class="wb-badge {state_tone(s)}" title="{e(c)}: {e(s)}">{e(c)}: {e(s.split(":", 1)[-1])}</span>'
        for c, s in zip(row["containers"] or [], row["states"] or [], strict=False)
    )
    health = (
        "problem" if row["is_problem"] else ("done" if row["status"] in ("Completed", "Succeeded") else "ok")
    )
    why = (
        f'<div class="wb-card-why" title="{e(row["problem"] or "")}">problem: {e(row["problem"])}</div>'
        if row["problem"]
        else ""
    )
    return (
        f'<a class="wb-card {health}" href="{e(href)}" data-pod="{e(row["name"])}" title="{e(row["namespace"])}/{e(row["name"])}">'
        f'<div class="wb-card-name">{e(row["name"])}</div>'
        f'<div class="wb-card-line">{e(row["status"])} · ready {e(row["ready"])} · restarts {row["restarts"]}</div>'
        f"<div>{badges}</div>{why}</a>"
    )


def cards_html(
    cards: pl.DataFrame, groups: pl.DataFrame, *, link: Any, clusters: bool, only_problems: bool = False
) -> str:
    """The groups (in :func:`~workbench.analyses.podview.groups` order) with their pod cards as
    HTML; every cluster string is escaped. ``link(row)`` gives a card's href."""
    e = html.escape
    out = []
    for g in groups.iter_rows(named=True):
        if only_problems and not g["problem_pods"]:
            continue
        members = cards.filter(pl.col("cluster") == g["cluster"], pl.col("group") == g["group"])
        if g["namespace"] is not None:
            members = members.filter(pl.col("namespace") == g["namespace"])
        if only_problems:
            members = members.filter(pl.col("is_problem"))
        label = "/".join(x for x in (g["cluster"] if clusters else None, g["namespace"], g["group"]) if x)
        bad = g["problem_pods"] > 0
        counts = f"{g['pods']} pods · {g['problem_pods']} problem · {g['ready_pods']} ready · {g['statuses'] or ''}"
        body = "".join(_card(r, link(r)) for r in members.iter_rows(named=True))
        out.append(
            f'<section class="wb-group{" problem" if bad else ""}" data-group="{e(label)}">'
            f'<h4><span class="wb-group-name">{"⚠ " if bad else ""}{e(label)}</span>'
            f'<span class="wb-group-count">{e(counts)}</span></h4><div class="wb-cards">{body}</div></section>'
        )
    return "".join(out) or "<p>No pods to show.</p>"


class PodView(pn.viewable.Viewer):
    """Pods as cards grouped by one kind, within a :class:`~workbench.ui.scope.Scope`."""

    group_by = param.Selector(default="namespace", objects=list(GROUPINGS), doc="What pods are grouped by.")
    only_problems = param.Boolean(default=False, doc="Show only problem pods (and their groups).")

    def __init__(
        self, dataset: Dataset | str | os.PathLike[str], *, scope: Scope | None = None, **params: Any
    ) -> None:
        self.dataset = dataset if isinstance(dataset, Dataset) else workbench.open(dataset)
        scoped = {k: params.pop(k) for k in SCOPE_PARAMS if k in params}
        self.scope = scope or Scope(self.dataset, **scoped)
        live = take_live(params)
        super().__init__(**params)
        self.live = LiveControls(self.dataset, self.snapshot_changed, scope=self.scope, **live)
        self._select = pn.widgets.RadioButtonGroup.from_param(
            self.param.group_by, options={v: k for k, v in GROUPINGS.items()}, color="primary",
            variant="outline", css_classes=["wb-group-by"],
        )  # fmt: skip
        self._problems_box = pn.widgets.Checkbox.from_param(
            self.param.only_problems, label="Only problem pods", align="center"
        )
        self._stats = pn.FlexBox(sizing_mode="stretch_width")
        self._note = PlainText("", margin=(0, 10), sizing_mode="stretch_width")
        self._cards = pn.pane.HTML(
            "", stylesheets=[_CSS], sizing_mode="stretch_width", css_classes=["wb-pod-cards"]
        )
        watch_scope(self.scope, ["cluster", "namespace", "workload", "traced_only"], self._refresh)
        self._refresh()

    def sections(self) -> list[pn.viewable.Viewable]:
        """The page's sections: the group-by selector and counts, then the groups of cards."""
        return [
            pn.Row(
                PlainText("Group by:", align="center"),
                self._select,
                self._problems_box,
                sizing_mode="stretch_width",
            ),
            self._stats,
            pn.Card(self._note, self._cards, title="Pods", collapsible=False, sizing_mode="stretch_width"),
        ]

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            pn.Row(self.scope.widgets(window=False), self.live), *self.sections(), sizing_mode="stretch_width"
        )

    def page(self) -> pn.template.BaseTemplate:
        """The served page: scope in the sidebar, scope, grouping and live mode synced to the URL."""
        self.scope.sync()
        sync_params(self, URL_PARAMS)
        self.live.sync()
        sidebar = [self.scope.widgets(window=False), pn.layout.Divider(), self.live, pn.layout.Divider(),
                   nav(self.scope, current="pod_view")]  # fmt: skip
        return page(PAGES["pod_view"], snapshot=self.dataset.path, sidebar=sidebar, main=self.sections())

    def cards(self) -> pl.DataFrame:
        """The pods in scope as :func:`~workbench.analyses.podview.pods` cards for this grouping."""
        s = self.scope
        cards = podview.pods(
            self.dataset, cluster=s.cluster or None, namespace=s.namespace or None, group_by=self.group_by
        )
        if s.workload:
            kind, _, name = s.workload.rpartition("/")
            cards = cards.filter(
                pl.col("workload_name") == name, *([pl.col("workload_kind") == kind] if kind else [])
            )
        if s.traced_only:
            traced = s.traced_pods().rename({"pod": "name"})
            cards = cards.join(traced, on=["cluster", "namespace", "name"], how="semi")
        return cards

    def snapshot_changed(self) -> None:
        """Show what the snapshot now holds (live mode), with the same scope and grouping."""
        self._refresh()

    @param.depends("group_by", "only_problems", watch=True)
    def _refresh(self) -> None:
        with busy(self._cards), batched():
            cards = self.cards()
            groups = podview.groups(cards)
            clusters = cards["cluster"].n_unique() > 1
            multi = len(self.dataset.clusters) > 1 and not self.scope.cluster

            def link(row: dict[str, Any]) -> str:
                return object_link(self.scope, kind="Pod", namespace=row["namespace"], name=row["name"],
                                   cluster=row["cluster"] if multi else "")  # fmt: skip

            self._cards.object = cards_html(
                cards, groups, link=link, clusters=clusters, only_problems=self.only_problems
            )
            pods = cards.unique(["cluster", "namespace", "name"])
            bad = int(pods["is_problem"].sum()) if pods.height else 0
            label = GROUPINGS[self.group_by]
            self._stats.objects = [
                stat("Pods", pods.height, detail=f"grouped by {label}"),
                stat("Problem pods", bad, tone="bad" if bad else "good"),
                stat(
                    f"{label} groups",
                    groups.height,
                    detail=f"{int((groups['problem_pods'] > 0).sum())} with problems",
                ),
            ]
            extra = " A pod selected by several Services is in each." if self.group_by == "service" else ""
            self._note.object = (
                f"Pods that exist at the snapshot's end, by {label}; groups with problem pods first (red)."
                f" Pods outside every {label} are left out.{extra} Click a pod to open it in the resource browser."
            )
