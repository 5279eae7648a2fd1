"""The triage page: for an incident window (the scope's window) and scope, the ranked suspects
from every signal with score bars, each expandable to its evidence (what was seen, when, how
strong, and the call or notebook that shows it) and links to the page that shows it best —
the resource browser, the application page for services, pod start, pending pods, manifest
history, performance, right-sizing — and the timeline of everything found.

In JupyterLab::

    import workbench as wb, workbench.ui
    wb.ui.triage.TriagePage(wb.open("data/demo"), cluster="eks-prod-us-east-1",
                            start="2026-11-02T08:42Z", end="2026-11-02T09:30Z")

Served (``apps/triage.py``): the window (``start``, ``end``), the scope and the selected suspect
(``?suspect=Deployment/checkout``, with ``in_cluster``) live in the URL. Ranking is
:func:`workbench.analyses.triage.triage`'s.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any, ClassVar

import panel as pn
import param
import polars as pl

from workbench.analyses import triage as analysis
from workbench.analyses.triage import SIGNAL_LABELS
from workbench.errors import WorkbenchError
from workbench.ui._refresh import Recent, batched
from workbench.ui.common import busy, format_duration, format_range, format_time, text_table
from workbench.ui.live import LivePage, plain_text, snapshot_version
from workbench.ui.scope import scope_query, served_pages
from workbench.viz import triage as vt

__all__ = ["TriagePage", "suspect_links"]

_CSS = """
.wb-suspect-head { display: flex; align-items: center; gap: 12px; width: 100%; font-size: 0.95em; }
.wb-suspect-rank { font-weight: 700; min-width: 2.2em; }
.wb-suspect-object { font-weight: 600; min-width: 16em; }
.wb-suspect-bar { flex: 0 0 160px; height: 10px; background: rgba(128,128,128,0.2); border-radius: 5px; overflow: hidden; }
.wb-suspect-bar > div { height: 100%; background: #c62828; }
.wb-suspect-score { min-width: 3.5em; font-variant-numeric: tabular-nums; }
.wb-suspect-signals { opacity: 0.8; }
.wb-links a { margin-right: 16px; }
"""
_EVIDENCE_TITLES = {"time": "time (UTC)", "score": "strength", "how_to_see": "how to see it"}


def _label(signal: str) -> str:
    return SIGNAL_LABELS.get(signal, signal.replace("_", " "))


def suspect_links(
    row: Mapping[str, Any], evidence: pl.DataFrame, *, window: Mapping[str, str], pages: Mapping[str, str]
) -> list[tuple[str, str]]:
    """(title, relative URL) of the pages that show a suspect (a row of ``suspects``), each
    carrying the cluster, namespace and window; only pages in ``pages`` (slug → title) count."""
    kind, cluster, namespace, name = row["kind"], row["cluster"], row["namespace"], row["name"]
    wl_kind = row["object"].split("/", 1)[0] if kind == "Workload" else None
    signals = set(row["signals"] or [])
    base = {"cluster": cluster or "", "namespace": namespace or "", **window}
    out: list[tuple[str, str]] = []

    def add(slug: str, title: str, **extra: str) -> None:
        if slug in pages:
            query = {k: v for k, v in {**base, **extra}.items() if v}
            out.append((title, f"./{slug}{scope_query(None, **query)}"))

    res_kind = wl_kind or kind
    res_name = name if kind in ("Node", "Namespace") or not namespace else f"{namespace}/{name}"
    add(
        "resources",
        f"{res_kind} {name} in the resource browser",
        kind=res_kind,
        name=res_name,
        in_cluster=cluster or "",
    )
    services = sorted(
        {s.split("/", 1)[1] for s in evidence["subject"].drop_nulls().to_list() if s.startswith("Service/")}
    )
    for svc in services or ([name] if kind == "Service" else []):
        add("application", f"service {svc} on the application page", service=svc)
    pods = list(row["pods"] or [])
    if "pending_pods" in signals and pods:
        add("pending_pods", f"pending pod {pods[0]}", pod=f"{namespace}/{pods[0]}")
    if "manifest_change" in signals and kind != "Pod":
        add("manifest_history", f"manifest history of {res_kind} {name}", kind=res_kind, name=res_name,
            in_cluster=cluster or "")  # fmt: skip
    if (
        pods
        and kind != "Node"
        and signals & {"restarts", "oom_killed", "failing_pods", "pending_pods", "manifest_change"}
    ):
        add("pod_start", f"start of pod {pods[-1]}", pod=pods[-1], in_cluster=cluster or "")
    workload = f"{wl_kind}/{name}" if wl_kind else ""
    if workload and signals & {"metric_anomaly", "throttling", "oom_killed", "restarts"}:
        add("performance", f"performance of {workload}'s pods", workload=workload)
    if workload and signals & {"oom_killed", "throttling"}:
        add("right_sizing", f"right-sizing of {workload}", workload=workload)
    if kind == "Node":
        add("cluster", f"node {name} on the cluster page", node=name, in_cluster=cluster or "")
    return out


def _full_row(row: Any) -> pn.viewable.Viewable:
    """An expanded evidence row: every field in full, as text."""
    return plain_text("\n".join(f"{k}: {v}" for k, v in row.items() if v not in (None, "")), margin=(4, 12))


class TriagePage(LivePage):
    """Ranked suspects of an incident window with their evidence."""

    slug: ClassVar[str] = "triage"
    url_params: ClassVar[dict[str, str]] = {"suspect": "suspect", "in_cluster": "in_cluster", "top": "top"}
    scope_options: ClassVar[dict[str, bool]] = {"workload": False, "traced": False}
    scope_watch: ClassVar[tuple[str, ...]] = ("cluster", "namespace", "start", "end")

    suspect = param.String(default="", doc="Selected suspect, e.g. Deployment/checkout ('' = none).")
    in_cluster = param.String(default="", doc="Cluster of the selected suspect ('' = the first).")
    top = param.Integer(default=10, bounds=(1, 100), doc="How many suspects to list.")

    def _build(self) -> None:
        self.result: analysis.TriageResult | None = None
        self._recent: Recent[analysis.TriageResult] = Recent()
        self._cards_by_key: dict[tuple[str, str], pn.Card] = {}
        self._note = plain_text("", sizing_mode="stretch_width", css_classes=["wb-triage-note"])
        self._top = pn.widgets.IntInput.from_param(self.param.top, name="suspects to list", width=140)
        self._list = pn.Column(sizing_mode="stretch_width", css_classes=["wb-suspects"])
        self._scores = pn.pane.HoloViews(sizing_mode="stretch_width", linked_axes=False)
        self._timeline = pn.pane.HoloViews(sizing_mode="stretch_width", linked_axes=False)
        self._body = pn.Column(self._list, sizing_mode="stretch_width")

    def sections(self) -> list[pn.viewable.Viewable]:
        card = {"collapsible": False, "sizing_mode": "stretch_width"}
        return [
            pn.Card(
                pn.Row(self._note, self._top, sizing_mode="stretch_width"), title="Incident window", **card
            ),
            pn.Card(self._body, title="Suspects, most likely first (click one for its evidence)", **card),
            pn.Card(self._scores, title="What each signal adds to the score", **card),
            pn.Card(self._timeline, title="Timeline of everything found", **card),
        ]

    # -- data -----------------------------------------------------------------------------------
    def params(self) -> analysis.TriageParams:
        """The triage parameters: the scope's window (default: the snapshot's) and scope."""
        s = self.scope
        start, end = s.window()
        return analysis.TriageParams(start=start, end=end, cluster=s.cluster or None, namespace=s.namespace or None,
                                     top=self.top)  # fmt: skip

    @param.depends("top", watch=True)
    def _top_changed(self) -> None:
        if self.started:
            self.refresh()

    def refresh(self) -> None:
        """Re-run the triage and rebuild the list (the selected suspect stays open)."""
        with busy(self._body, self._timeline), batched():
            try:
                p = self.params()
                # a scope seen a moment ago (and the snapshot unchanged) is not triaged again
                result = self._recent.get(
                    (p, snapshot_version(self.dataset)), lambda: analysis.triage(self.dataset, p)
                )
            except WorkbenchError as err:
                self.result = None
                self._note.object = f"Cannot triage: {err}"
                self._list.objects = []
                self._scores.object = self._timeline.object = None
                return
            self.result = result
            lines = []
            if result.window:
                lines.append(f"Window {format_range(*result.window)}" + (
                    f", compared with the baseline {format_range(*result.baseline)}" if result.baseline and
                    result.baseline[1] > result.baseline[0] else "") + f"; step {format_duration(result.step)}.")  # fmt: skip
            scope = (
                " / ".join(x for x in (self.scope.cluster, self.scope.namespace) if x)
                or "all clusters and namespaces"
            )
            lines.append(
                f"{result.suspects.height} suspect(s) in {scope}, from {result.timeline.height} finding(s)."
            )
            lines += [f"Note: {n}" for n in result.notes]
            if not self.scope.start and not self.scope.end:
                lines.append(
                    "The window is the whole snapshot: pick the incident's window in the sidebar for a baseline."
                )
            self._note.object = "\n".join(lines)
            self._list.objects = self._suspect_cards(result)
            self._scores.object = vt.score_bars(result)
            self._timeline.object = vt.timeline(result)

    def _window_query(self) -> dict[str, str]:
        return {k: getattr(self.scope, k) for k in ("start", "end") if getattr(self.scope, k)}

    def _suspect_cards(self, result: analysis.TriageResult) -> list[pn.viewable.Viewable]:
        self._cards_by_key = {}
        if result.suspects.is_empty():
            return [
                plain_text(
                    "Nothing stood out in this window: no signal found evidence (see the notes above)."
                )
            ]
        pages = served_pages()
        best = float(result.suspects["score"].max() or 1.0)
        cards = []
        for row in result.suspects.iter_rows(named=True):
            ev = result.evidence.filter(pl.col("rank") == row["rank"]).sort("score", descending=True)
            signals = ", ".join(_label(s) for s in row["signals"] or [])
            head = (
                f'<div class="wb-suspect-head"><span class="wb-suspect-rank">#{row["rank"]}</span>'
                f'<span class="wb-suspect-object">{html.escape(row["object"])}</span>'
                f'<span class="wb-suspect-bar"><div style="width:{100.0 * row["score"] / best:.0f}%"></div></span>'
                f'<span class="wb-suspect-score">{row["score"]:.2f}</span>'
                f'<span class="wb-suspect-signals">{html.escape(signals)}</span>'
                f'<span style="opacity:0.6">{html.escape(" · ".join(x for x in (row["cluster"], row["namespace"]) if x))}</span></div>'
            )  # fmt: skip
            key = (row["object"], row["cluster"])
            open_ = self._is_selected(row)
            # a card's evidence (a table) is built when it is first opened: most stay closed
            card = pn.Card(*(self._card_body(row, ev, pages) if open_ else ()),
                           header=pn.pane.HTML(head, stylesheets=[_CSS], sizing_mode="stretch_width"),
                           collapsed=not open_, sizing_mode="stretch_width", css_classes=["wb-suspect"],
                           margin=(4, 0))  # fmt: skip
            card.param.watch(lambda e, r=row, c=card, ev=ev: self._toggled(r, collapsed=e.new, card=c, evidence=ev,
                                                                           pages=pages), "collapsed")  # fmt: skip
            self._cards_by_key[key] = card
            cards.append(card)
        return cards

    def _card_body(
        self, row: Mapping[str, Any], ev: pl.DataFrame, pages: Mapping[str, str]
    ) -> list[pn.viewable.Viewable]:
        """A suspect card's content: its summary, links to the pages that show it, its evidence."""
        links = suspect_links(row, ev, window=self._window_query(), pages=pages)
        link_html = " ".join(f'<a href="{html.escape(url)}">{html.escape(title)}</a>' for title, url in links)
        evidence = ev.select(
            pl.col("signal").replace_strict(SIGNAL_LABELS, default=pl.col("signal")).alias("signal"),
            "time", pl.col("score").round(2), "weight", "subject", "detail", "how_to_see",
        )  # fmt: skip
        return [
            plain_text(row["summary"] or "", sizing_mode="stretch_width"),
            pn.pane.HTML(f'<div class="wb-links">{link_html or "no page shows this kind of object yet"}</div>',
                         stylesheets=[_CSS], sizing_mode="stretch_width"),
            text_table(evidence, wrap=("detail", "how_to_see"), widths={"detail": 400, "how_to_see": 340},
                       titles=_EVIDENCE_TITLES, css_classes=["wb-evidence"], row_content=_full_row),
        ]  # fmt: skip

    def _is_selected(self, row: Mapping[str, Any]) -> bool:
        return (
            bool(self.suspect)
            and row["object"] == self.suspect
            and (not self.in_cluster or row["cluster"] == self.in_cluster)
        )

    def _toggled(self, row: Mapping[str, Any], *, collapsed: bool, card: pn.Card, evidence: pl.DataFrame,
                 pages: Mapping[str, str]) -> None:  # fmt: skip
        if not collapsed and not card.objects:
            card.objects = self._card_body(row, evidence, pages)
        if not collapsed:
            multi = self.result is not None and self.result.suspects["cluster"].n_unique() > 1
            self.param.update(suspect=row["object"], in_cluster=row["cluster"] if multi else "")
        elif self._is_selected(row):
            self.param.update(suspect="", in_cluster="")

    @param.depends("suspect", "in_cluster", watch=True)
    def _select(self) -> None:
        if self.result is None:
            return
        for row in self.result.suspects.iter_rows(named=True):
            card = self._cards_by_key.get((row["object"], row["cluster"]))
            if card is not None and self._is_selected(row) and card.collapsed:
                card.collapsed = False

    def explain(self, rank: int = 1) -> str:
        """The suspect ranked ``rank`` and its evidence as Markdown (``TriageResult.explain``)."""
        return self.result.explain(rank) if self.result is not None else "not computed yet"

    def __repr__(self) -> str:
        return f"TriagePage(window={format_time(self.scope.window()[0])} → {format_time(self.scope.window()[1])})"
