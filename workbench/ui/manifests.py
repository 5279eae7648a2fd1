"""The manifest history page: one object's revisions on a timeline next to the Warning events
about it (and what it runs), a diff of its manifest between two moments (added lines green,
removed red, every line escaped), and the cluster-wide "what changed" list of the window ranked
by nearness to a chosen moment.

In JupyterLab::

    import workbench as wb, workbench.ui
    wb.ui.manifests.ManifestHistory(wb.open("data/demo"), kind="Node", selected="ip-10-0-65-111.ec2.internal")

Served (``apps/manifest_history.py``): object, moments, "ignore noise" and the ranking moment live
in the URL (``?kind=Deployment&name=shop/checkout&t1=…&t2=…``). With no object chosen the page
shows the Deployment with the most revisions in the scope's window.
"""

from __future__ import annotations

import datetime as dt
import html
import os
from typing import Any

import panel as pn
import param
import polars as pl

import workbench
from workbench.analyses import manifests
from workbench.errors import WorkbenchError
from workbench.store import Dataset, to_utc
from workbench.ui._refresh import Drawn, batched, watch_scope
from workbench.ui.common import busy, format_time, page
from workbench.ui.live import LiveControls, take_live
from workbench.ui.resources import PlainText, object_key, parse_key, rows_table, set_rows, sync_params
from workbench.ui.scope import PAGES, SCOPE_PARAMS, Scope, nav
from workbench.viz import manifests as vm

__all__ = ["URL_PARAMS", "ManifestHistory", "iso"]

URL_PARAMS = {"kind": "kind", "selected": "name", "in_cluster": "in_cluster", "t1": "t1", "t2": "t2",
              "ignore_noise": "ignore_noise", "around": "around"}  # fmt: skip
_SKIP_KINDS = manifests.DERIVED_KINDS | {"Event"}


def iso(t: dt.datetime) -> str:
    """A moment as the URL carries it: ``2026-11-02T08:42:00.080000Z``."""
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _panes(chart: vm.HistoryChart | vm.ChangesChart) -> list[pn.pane.Bokeh]:
    """A chart's figure and its placeholder as panes (each shown when the chart says so)."""
    return [pn.pane.Bokeh(model, sizing_mode="stretch_width") for model in (chart.figure, chart.placeholder)]


def _time(text: str) -> dt.datetime | None:
    try:
        return to_utc(text or None)
    except WorkbenchError:
        return None


class ManifestHistory(pn.viewable.Viewer):
    """Manifest history of one object and what changed in the window, within a :class:`~workbench.ui.scope.Scope`."""

    kind = param.String(default="", doc="Kind of the object ('' = Deployment).")
    selected = param.String(
        default="", doc="The object, namespace/name (name for cluster-scoped kinds); '' = the most changed."
    )
    in_cluster = param.String(default="", doc="Cluster of the object ('' = the scope's).")
    t1 = param.String(default="", doc="First moment, ISO 8601 ('' = the first revision in the window).")
    t2 = param.String(default="", doc="Second moment, ISO 8601 ('' = the last revision in the window).")
    ignore_noise = param.Boolean(default=True, doc="Leave out fields that change by themselves.")
    around = param.String(default="", doc="Rank changes by nearness to this moment ('' = the window's end).")

    def __init__(
        self, dataset: Dataset | str | os.PathLike[str], *, scope: Scope | None = None, **params: Any
    ) -> None:
        self.dataset = dataset if isinstance(dataset, Dataset) else workbench.open(dataset)
        scoped = {k: params.pop(k) for k in SCOPE_PARAMS if k in params}
        self.scope = scope or Scope(self.dataset, **scoped)
        live = take_live(params)
        super().__init__(**params)
        self.live = LiveControls(self.dataset, self.snapshot_changed, scope=self.scope, **live)
        self.revisions = pl.DataFrame(schema=manifests.REVISION_COLUMNS)
        self.changes = pl.DataFrame(schema=manifests.CHANGE_COLUMNS)
        self._target: tuple[str, str, str | None, str] | None = None
        self._quiet = 0  # > 0 while the page itself updates its widgets
        self._drawn = Drawn()
        self._build()
        watch_scope(self.scope, ["cluster", "namespace", "workload", "start", "end"], self._refresh_all)
        self.param.watch(lambda *_: self._refresh_object(), ["kind", "selected", "in_cluster"])
        self.param.watch(lambda *_: self._refresh_diff(), ["t1", "t2", "ignore_noise"])
        self.param.watch(lambda *_: self._refresh_changes(), ["around"])
        self._refresh_all()

    def _build(self) -> None:
        w = {"sizing_mode": "stretch_width"}
        self._kind_select = pn.widgets.Select(label="Kind", options=self._kinds(), width=200)
        self._object_select = pn.widgets.Select(label="Object", options={}, min_width=300, **w)
        self._t1_select = pn.widgets.Select(
            label="Compare from", options={}, css_classes=["wb-t1"], min_width=300, **w
        )
        self._t2_select = pn.widgets.Select(label="to", options={}, css_classes=["wb-t2"], min_width=300, **w)
        self._noise = pn.widgets.Checkbox.from_param(
            self.param.ignore_noise, label="Ignore noise (resourceVersion, heartbeats…)"
        )
        self._kind_select.param.watch(self._kind_picked, "value")
        self._object_select.param.watch(self._object_picked, "value")
        self._t1_select.param.watch(lambda e: self._moment_picked("t1", e.new), "value")
        self._t2_select.param.watch(lambda e: self._moment_picked("t2", e.new), "value")
        self._title = pn.pane.HTML("", **w)
        # Bokeh figures built once and redrawn in place (workbench.viz._figures), each with a
        # placeholder shown when there is nothing to show
        self._timeline = vm.HistoryChart()
        self._revisions = rows_table(wrap=("summary",), widths={"summary": 760}, pagination="local",
                                     page_size=10, css_classes=["wb-revisions"])  # fmt: skip
        self._revisions.on_click(self._revision_clicked)
        self._diff_note = PlainText("", **w)
        self._diff = pn.pane.HTML("", css_classes=["wb-diff"], styles={"overflow-x": "auto"}, **w)
        self._fields = rows_table(wrap=("old", "new", "path"), widths={"old": 340, "new": 340, "path": 300},
                                  css_classes=["wb-fields"])  # fmt: skip
        lo, hi = self.dataset.window
        self._around = pn.widgets.DatetimePicker(label="Rank by nearness to (UTC)", start=lo.replace(tzinfo=None) if lo else None,
                                                 end=hi.replace(tzinfo=None) if hi else None, enable_seconds=True, width=280)  # fmt: skip
        self._around.param.watch(self._around_picked, "value")
        self._changes_note = PlainText("", **w)
        self._changes_chart = vm.ChangesChart()
        self._changes = rows_table(wrap=("old", "new", "path"), widths={"old": 230, "new": 230, "path": 250},
                                   pagination="local", page_size=15, css_classes=["wb-changes"])  # fmt: skip
        self._changes.on_click(self._change_clicked)
        self._object_card = pn.Card(self._title, pn.Row(self._kind_select, self._object_select, **w), *_panes(self._timeline),
                                    self._revisions, title="Object", collapsible=False, **w)  # fmt: skip
        self._diff_card = pn.Card(pn.Row(self._t1_select, self._t2_select, **w), self._noise, self._diff_note, self._diff,
                                  self._fields, title="Diff between two moments", collapsible=False, **w)  # fmt: skip
        self._changes_card = pn.Card(self._around, self._changes_note, *_panes(self._changes_chart), self._changes,
                                     title="What changed in the window", collapsible=False, **w)  # fmt: skip

    def sections(self) -> list[pn.viewable.Viewable]:
        """The page's sections: the object and its timeline, the diff, what changed."""
        return [self._object_card, self._diff_card, self._changes_card]

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            pn.Row(self.scope.widgets(traced=False), self.live), *self.sections(), sizing_mode="stretch_width"
        )

    def page(self) -> pn.template.BaseTemplate:
        """The served page: scope in the sidebar, scope, object, moments and live mode synced to the URL."""
        self.scope.sync()
        sync_params(self, URL_PARAMS)
        self.live.sync()
        sidebar = [
            self.scope.widgets(traced=False),
            pn.layout.Divider(),
            self.live,
            pn.layout.Divider(),
            nav(self.scope, current="manifest_history"),
        ]
        return page(
            PAGES["manifest_history"], snapshot=self.dataset.path, sidebar=sidebar, main=self.sections()
        )

    # -- choices ------------------------------------------------------------------------------
    def _kinds(self) -> list[str]:
        kinds = self.dataset.scan("objects").select("kind").unique().collect()["kind"].to_list()
        return sorted(k for k in kinds if k and k not in _SKIP_KINDS)

    def _counts(self, kind: str) -> pl.DataFrame:
        """Revisions per object of ``kind`` in scope: in the window, most first."""
        s = self.scope
        start, end = s.window()
        lf = self.dataset.scan("objects", cluster=s.cluster or None, end=end).filter(pl.col("kind") == kind)
        if s.namespace:
            lf = lf.filter(pl.col("namespace").is_null() | (pl.col("namespace") == s.namespace))
        objs = lf.select("cluster", "namespace", "name", "observed_at").collect()
        inside = objs.filter(pl.col("observed_at") >= start) if start else objs
        counts = (inside if inside.height else objs).group_by("cluster", "namespace", "name").len()
        return counts.sort(
            ["len", "cluster", "namespace", "name"], descending=[True, False, False, False], nulls_last=True
        )

    def target(self) -> tuple[str, str, str | None, str] | None:
        """``(cluster, kind, namespace, name)`` of the object shown, or None when the scope has none."""
        kind = self.kind or "Deployment"
        counts = self._counts(kind)
        if self.selected:
            namespace, name = parse_key(kind, self.selected)
            hit = counts.filter(
                pl.col("name") == name, *([pl.col("namespace") == namespace] if namespace else [])
            )
            cluster = (
                self.in_cluster
                or self.scope.cluster
                or (hit["cluster"][0] if hit["cluster"].n_unique() == 1 else "")
            )
            return cluster, kind, namespace, name
        if self.scope.workload and self.scope.workload.startswith(f"{kind}/"):
            counts = counts.filter(pl.col("name") == self.scope.workload.split("/", 1)[1])
        if counts.is_empty():
            return None
        cluster, namespace, name, _n = counts.row(0)
        return cluster, kind, namespace, name

    # -- events from widgets ------------------------------------------------------------------
    def _set(self, widget: pn.widgets.Widget, **values: Any) -> None:
        """Update a widget without its watchers taking it for a user's pick."""
        self._quiet += 1
        try:
            widget.param.update(**values)
        finally:
            self._quiet -= 1

    def _kind_picked(self, event: Any) -> None:
        if self._quiet:
            return
        if event.new != (self.kind or "Deployment"):
            self.param.update(kind=event.new, selected="", in_cluster="", t1="", t2="")

    def _object_picked(self, event: Any) -> None:
        if self._quiet or not event.new or self._target is None or event.new == self._value(self._target):
            return
        cluster, key = event.new.split("|", 1)
        multi = len(self.dataset.clusters) > 1 and not self.scope.cluster
        self.param.update(selected=key, in_cluster=cluster if multi else "", t1="", t2="")

    def _moment_picked(self, which: str, value: str | None) -> None:
        if self._quiet:
            return
        current = getattr(self, which) or self._default(which)
        if value and _time(value) != _time(current):
            setattr(self, which, value)

    def _around_picked(self, event: Any) -> None:
        if not self._quiet and event.new is not None:
            picked = event.new.replace(tzinfo=dt.UTC)
            if picked != (_time(self.around) or self.scope.window()[1]):
                self.around = iso(picked)

    def _revision_clicked(self, event: Any) -> None:
        if event.row is not None and event.row < self.revisions.height:
            times = self.revisions["observed_at"].to_list()
            self.param.update(t1=iso(times[max(event.row - 1, 0)]), t2=iso(times[event.row]))

    def _change_clicked(self, event: Any) -> None:
        if event.row is None or event.row >= self.changes.height:
            return
        c = self.changes.row(event.row, named=True)
        try:
            revs = manifests.object_revisions(
                self.dataset, c["kind"], c["namespace"], c["name"], cluster=c["cluster"]
            )
        except WorkbenchError:
            return
        before = revs.filter(pl.col("observed_at") < c["time"])["observed_at"]
        multi = len(self.dataset.clusters) > 1 and not self.scope.cluster
        self.param.update(kind=c["kind"], selected=object_key(c["kind"], c["namespace"], c["name"]),
                          in_cluster=c["cluster"] if multi else "", t2=iso(c["time"]),
                          t1=iso(before.max() if before.len() else c["time"] - dt.timedelta(microseconds=1)))  # type: ignore[arg-type]  # fmt: skip

    # -- refresh ------------------------------------------------------------------------------
    @staticmethod
    def _value(target: tuple[str, str, str | None, str]) -> str:
        cluster, kind, namespace, name = target
        return f"{cluster}|{object_key(kind, namespace, name)}"

    def _default(self, which: str) -> str:
        times = self.revisions["observed_at"].to_list()
        return iso(times[0] if which == "t1" else times[-1]) if times else ""

    def snapshot_changed(self) -> None:
        """Show what the snapshot now holds (live mode), with the same scope, object and moments:
        the kinds it holds and the window the moments are picked in are read again."""
        lo, hi = self.dataset.window
        self._set(self._kind_select, options=self._kinds())
        self._set(
            self._around,
            start=lo.replace(tzinfo=None) if lo else None,
            end=hi.replace(tzinfo=None) if hi else None,
        )
        self._refresh_all()

    def _refresh_all(self) -> None:
        with batched():
            self._refresh_object()
            self._refresh_changes()

    def _refresh_object(self) -> None:
        with busy(self._object_card, self._diff_card), batched():
            kind = self.kind or "Deployment"
            options = self._kind_select.options
            self._set(self._kind_select, options=options if kind in options else [*options, kind], value=kind)
            self._target = target = self.target()
            counts = self._counts(kind)
            multi = counts["cluster"].n_unique() > 1
            options = {f"{c + ': ' if multi else ''}{object_key(kind, ns, n)} ({k} revisions)": f"{c}|{object_key(kind, ns, n)}"
                       for c, ns, n, k in counts.iter_rows()}  # fmt: skip
            if target is not None and self._value(target) not in options.values():
                options[object_key(kind, target[2], target[3])] = self._value(target)
            self._set(self._object_select, options=options, value=self._value(target) if target else None)
            self.revisions = pl.DataFrame(schema=manifests.REVISION_COLUMNS)
            if target is None:
                self._title.object = f"<p>No {html.escape(kind)} in this scope.</p>"
                self._timeline.hide()
                set_rows(self._revisions, pl.DataFrame())
                self._drawn.forget("timeline")
                self._drawn.forget("revisions")
                self._refresh_diff()
                return
            cluster, kind, namespace, name = target
            start, end = self.scope.window()
            period = f"{max(int((end - start).total_seconds()), 1)}s" if start and end else "7d"
            try:
                params = manifests.HistoryParams(
                    cluster=cluster or None, period=period, end=end, ignore_noise=self.ignore_noise
                )
                self.revisions = manifests.revisions(self.dataset, kind, namespace, name, params)
                timeline = manifests.timeline(self.dataset, kind, namespace, name, params)
            except WorkbenchError as err:
                self._title.object = f"<p style='color:#c62828'>{html.escape(str(err))}</p>"
                self._timeline.hide()
                set_rows(self._revisions, pl.DataFrame())
                self._drawn.forget("timeline")
                self._drawn.forget("revisions")
                self._refresh_diff()
                return
            warnings = timeline.filter(pl.col("source") == "event").height
            self._title.object = (
                f"<h3 style='margin:4px 0'>{html.escape(kind)} {html.escape(object_key(kind, namespace, name))}</h3>"
                f"<div style='opacity:0.75'>cluster {html.escape(cluster)} · {self.revisions.height} revision(s) and "
                f"{warnings} Warning event(s) between {html.escape(format_time(start))} and {html.escape(format_time(end))}"
                " · click a revision to compare it with the one before</div>"
            )
            revisions = self.revisions
            self._drawn.draw("timeline", lambda: self._timeline.draw(timeline), timeline)
            self._drawn.draw("revisions", lambda: set_rows(self._revisions, revisions.select(
                pl.col("revision").alias("#"), pl.col("observed_at").alias("observed"), "categories", "changes", "summary",
            )), revisions)  # fmt: skip
            self._refresh_diff()

    def _moment_options(self, current: str) -> dict[str, str]:
        options = {f"#{r['revision']} {r['observed_at']:%Y-%m-%d %H:%M:%S.%f}"[:-3] + f" · {', '.join(r['categories']) or 'no change'}": iso(r["observed_at"])
                   for r in self.revisions.iter_rows(named=True)}  # fmt: skip
        t = _time(current)
        if t is not None and iso(t) not in options.values():
            options[f"{t:%Y-%m-%d %H:%M:%S} (chosen moment)"] = iso(t)
        return options

    def _refresh_diff(self) -> None:
        target = self._target
        t1, t2 = self.t1 or self._default("t1"), self.t2 or self._default("t2")
        for select, value in ((self._t1_select, t1), (self._t2_select, t2)):
            parsed = _time(value)
            self._set(select, options=self._moment_options(value), value=iso(parsed) if parsed else None)
        if target is None or not t1 or not t2:
            self._diff_note.object = "No revisions to compare in this window."
            self._diff.object = ""
            set_rows(self._fields, pl.DataFrame())
            return
        cluster, kind, namespace, name = target
        a, b = sorted(
            (
                _time(t1) or dt.datetime.min.replace(tzinfo=dt.UTC),
                _time(t2) or dt.datetime.min.replace(tzinfo=dt.UTC),
            )
        )
        try:
            d = manifests.diff(
                self.dataset,
                kind,
                namespace,
                name,
                a,
                b,
                cluster=cluster or None,
                ignore_noise=self.ignore_noise,
            )
        except WorkbenchError as err:
            self._diff_note.object = f"Cannot compare: {err}"
            self._diff.object = ""
            set_rows(self._fields, pl.DataFrame())
            return
        seen = ", ".join(
            f"{label} {format_time(t) if t else 'did not exist'}"
            for label, t in (("revision of", d.before_at), ("against", d.after_at))
        )
        self._diff_note.object = (
            f"{len(d.added)} line(s) added (green), {len(d.removed)} removed (red); {d.changes.height} field change(s). "
            f"Each moment shows the newest revision at or before it ({seen})."
        )
        self._diff.object = vm.diff_html(d.text)  # every line is HTML-escaped by the viz
        set_rows(self._fields, d.changes)

    def _refresh_changes(self) -> None:
        with busy(self._changes_card), batched():
            s = self.scope
            start, end = s.window()
            around = _time(self.around) or end
            if around is not None:
                self._set(self._around, value=around.replace(tzinfo=None))
            try:
                self.changes = manifests.what_changed(self.dataset, cluster=s.cluster or None, namespace=s.namespace or None,
                                                      start=start, end=end, around=around, limit=500)  # fmt: skip
            except WorkbenchError as err:
                self.changes = pl.DataFrame(schema=manifests.CHANGE_COLUMNS)
                self._changes_note.object = f"Cannot list changes: {err}"
            else:
                self._changes_note.object = (
                    f"{self.changes.height} change(s) of what people and tools changed between {format_time(start)} and "
                    f"{format_time(end)}, nearest to {format_time(around)} first (status fields and objects made by "
                    "controllers left out). Click one to open its diff above."
                )
            changes = self.changes
            multi = changes["cluster"].n_unique() > 1
            self._drawn.draw(
                "changes chart", lambda: self._changes_chart.draw(changes, around=around), changes, around
            )
            self._drawn.draw("changes", lambda: set_rows(self._changes, changes.select(
                "rank", "time", "distance", *(["cluster"] if multi else []), "kind", "namespace", "name", "category", "path",
                "old", "new",
            )), changes)  # fmt: skip
