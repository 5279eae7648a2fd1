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

import dataclasses
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
from workbench.ui.servicemap import linked_spans
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


@dataclasses.dataclass
class _SuspectCard:
    """A suspect's card and what it shows, kept for the suspect at the same position after the
    next refresh: its header and body are updated in place (new cards need new Bokeh models)."""

    card: pn.Card
    header: pn.pane.HTML
    row: dict[str, Any] = dataclasses.field(default_factory=dict)
    evidence: pl.DataFrame = dataclasses.field(default_factory=pl.DataFrame)
    pages: Mapping[str, str] = dataclasses.field(default_factory=dict)


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
        self._cards: list[_SuspectCard] = []  # one per position, reused by every refresh
        self._filling = False  # the cards are being updated: their toggles are not the user's
        self._nothing = plain_text(
            "Nothing stood out in this window: no signal found evidence (see the notes above).", visible=False
        )
        self._note = plain_text("", sizing_mode="stretch_width", css_classes=["wb-triage-note"])
        self._top = pn.widgets.IntInput.from_param(self.param.top, name="suspects to list", width=140)
        self._list = pn.Column(sizing_mode="stretch_width", css_classes=["wb-suspects"])
        # the charts are Bokeh figures drawn once and redrawn in place for every scope
        # (workbench.viz._figures), each with a placeholder shown when nothing was found
        self._score_chart, self._timeline_chart = vt.ScoreChart(), vt.TimelineChart()
        self._chart_panes = [
            pn.pane.Bokeh(model, sizing_mode="stretch_width")
            for chart in (self._score_chart, self._timeline_chart)
            for model in (chart.figure, chart.placeholder)
        ]
        self._scores = pn.Column(*self._chart_panes[:2], sizing_mode="stretch_width", margin=0)
        self._timeline = pn.Column(*self._chart_panes[2:], sizing_mode="stretch_width", margin=0)
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
                # the snapshot's spans linked once per process (a small snapshot's), shared
                # with the service map page: the trace evidence takes its scope's from them
                result = self._recent.get(
                    (p, snapshot_version(self.dataset)),
                    lambda: analysis.triage(self.dataset, p, spans=linked_spans(self.dataset)),
                )
            except WorkbenchError as err:
                self.result = None
                self._note.object = f"Cannot triage: {err}"
                self._show_suspects(None)
                self._show_charts(drawn=False)
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
            self._show_suspects(result)
            self._score_chart.draw(result)
            self._timeline_chart.draw(result)
            self._show_charts(drawn=True)

    def _show_charts(self, *, drawn: bool) -> None:
        """Hide the charts when nothing was drawn, and send what was redrawn to a notebook
        (served pages send the changed models themselves)."""
        if not drawn:
            self._score_chart.hide()
            self._timeline_chart.hide()
        pn.io.push_notebook(*self._chart_panes)

    def _window_query(self) -> dict[str, str]:
        return {k: getattr(self.scope, k) for k in ("start", "end") if getattr(self.scope, k)}

    def _show_suspects(self, result: analysis.TriageResult | None) -> None:
        """A card per suspect of ``result`` (or that nothing stood out; nothing at all for None).
        The cards stay in the list once made: a refresh updates their texts and hides (and
        empties) those not needed, which changes no model of the page."""
        self._cards_by_key = {}
        rows = [] if result is None else list(result.suspects.iter_rows(named=True))
        pages = served_pages() if rows else {}
        best = float(result.suspects["score"].max() or 1.0) if result is not None and rows else 1.0
        self._filling = True
        try:
            for i, row in enumerate(rows):
                assert result is not None
                ev = result.evidence.filter(pl.col("rank") == row["rank"]).sort("score", descending=True)
                signals = ", ".join(_label(s) for s in row["signals"] or [])
                head = (  # its style inline: a pane's stylesheets are sent (new models) with each new text
                    f'<style>{_CSS}</style>'
                    f'<div class="wb-suspect-head"><span class="wb-suspect-rank">#{row["rank"]}</span>'
                    f'<span class="wb-suspect-object">{html.escape(row["object"])}</span>'
                    f'<span class="wb-suspect-bar"><div style="width:{100.0 * row["score"] / best:.0f}%"></div></span>'
                    f'<span class="wb-suspect-score">{row["score"]:.2f}</span>'
                    f'<span class="wb-suspect-signals">{html.escape(signals)}</span>'
                    f'<span style="opacity:0.6">{html.escape(" · ".join(x for x in (row["cluster"], row["namespace"]) if x))}</span></div>'
                )  # fmt: skip
                if i == len(self._cards):
                    self._cards.append(self._new_card())
                c = self._cards[i]
                c.row, c.evidence, c.pages = row, ev, pages
                open_ = self._is_selected(row)
                c.header.object = head
                # a card's evidence (a table) is built when it is first opened: most stay closed
                if open_ or c.card.objects:
                    c.card.objects = self._card_body(row, ev, pages) if open_ else []
                if c.card.collapsed == open_:
                    c.card.collapsed = not open_
                if not c.card.visible:
                    c.card.visible = True
                self._cards_by_key[(row["object"], row["cluster"])] = c.card
            for c in self._cards[len(rows) :]:  # not needed now: hidden, without a suspect's text
                c.row, c.evidence = {}, pl.DataFrame()
                c.card.param.update(
                    **{k: v for k, v in {"visible": False, "collapsed": True, "objects": []}.items()
                       if getattr(c.card, k) != v}
                )  # fmt: skip
                if c.header.object:
                    c.header.object = ""
        finally:
            self._filling = False
        nothing = result is not None and not rows
        if self._nothing.visible != nothing:
            self._nothing.visible = nothing
        shown = [self._nothing, *(c.card for c in self._cards)]
        if [id(o) for o in self._list.objects] != [id(o) for o in shown]:
            self._list.objects = shown

    def _new_card(self) -> _SuspectCard:
        header = pn.pane.HTML("", sizing_mode="stretch_width")
        card = pn.Card(header=header, collapsed=True, sizing_mode="stretch_width", css_classes=["wb-suspect"],
                       margin=(4, 0))  # fmt: skip
        c = _SuspectCard(card, header)
        card.param.watch(lambda e: self._card_toggled(c, collapsed=e.new), "collapsed")
        return c

    def _card_toggled(self, c: _SuspectCard, *, collapsed: bool) -> None:
        if not self._filling:
            self._toggled(c.row, collapsed=collapsed, card=c.card, evidence=c.evidence, pages=c.pages)

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
