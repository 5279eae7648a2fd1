"""The filters every dashboard page shares, kept in the URL so a copied link reopens the view.

A :class:`Scope` holds cluster, namespace, workload (``Kind/name``), time window and "only pods
with traces". Pages read :meth:`Scope.filters` (keyword arguments for ``Dataset.scan`` and the
analyses) and watch the scope's parameters to refresh. Page-specific state (the selected
object, the open tab…) lives on the page's own component and is synced the same way with
:func:`workbench.ui.common.sync_to_url`.

The snapshot itself is chosen by the URL's ``?snapshot=NAME`` (:mod:`workbench.ui.serving`);
:func:`scope_query` puts it first in every link of a page opened that way. The navigation
(:func:`nav`) lists every page with links that carry the snapshot and the current scope, so
moving from page to page keeps snapshot, cluster, namespace, workload and window.

>>> import workbench as wb
>>> scope = Scope(wb.open("data/demo"), namespace="shop")
>>> scope.filters()
{'namespace': 'shop'}
>>> scope.query(workload="Deployment/cart")
'?namespace=shop&workload=Deployment%2Fcart'

"""

from __future__ import annotations

import datetime as dt
import html
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import panel as pn
import param
import polars as pl

from workbench.store import Dataset, to_utc
from workbench.ui.common import sync_to_url
from workbench.ui.serving import THEME_PARAM, session_snapshot, session_theme

__all__ = ["PAGES", "SCOPE_PARAMS", "Scope", "choose", "nav", "scope_query"]

#: Every dashboard page: URL slug (``apps/<slug>.py``) → title. Order is the navigation order.
PAGES: dict[str, str] = {
    "overview": "Overview",
    "cluster": "Cluster",
    "application": "Application",
    "service_map": "Service map",
    "resources": "Resource browser",
    "pod_view": "Pod view",
    "performance": "Performance",
    "pod_start": "Pod start",
    "pending_pods": "Pending pods",
    "manifest_history": "Manifest history",
    "anomalies": "Anomalies",
    "logs": "Log explorer",
    "triage": "Triage",
    "right_sizing": "Right-sizing",
}

#: Set by ``workbench serve --apps DIR``: where the app scripts are.
ENV_APPS = "WORKBENCH_APPS"

#: Scope parameters synced to the URL query.
SCOPE_PARAMS = ("cluster", "namespace", "workload", "start", "end", "traced_only")

ALL = ""


class Scope(param.Parameterized):
    """Cluster, namespace, workload, window and "only pods with traces", for one browser session."""

    cluster = param.String(default=ALL, doc="Cluster to show ('' = all).")
    namespace = param.String(default=ALL, doc="Namespace to show ('' = all).")
    workload = param.String(default=ALL, doc="Workload as Kind/name ('' = all).")
    start = param.String(default=ALL, doc="Window start, ISO 8601 ('' = the snapshot's start).")
    end = param.String(default=ALL, doc="Window end, ISO 8601 ('' = the snapshot's end).")
    traced_only = param.Boolean(default=False, doc="Only pods that have spans.")

    def __init__(self, ds: Dataset, **params: Any) -> None:
        super().__init__(**params)
        self.ds = ds
        self._choice_updates: list[Callable[[], None]] = []  # one per widgets() set

    # -- what analyses get ---------------------------------------------------------------------
    def window(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """The chosen window, defaulting to the snapshot's."""
        lo, hi = self.ds.window
        return (to_utc(self.start) if self.start else lo), (to_utc(self.end) if self.end else hi)

    def filters(self, *, time: bool = False) -> dict[str, Any]:
        """Keyword arguments for ``Dataset.scan`` and the analyses: only what is set; with
        ``time`` also ``start``/``end`` (the window, defaulting to the snapshot's)."""
        out: dict[str, Any] = {}
        for name in ("cluster", "namespace", "workload"):
            value = getattr(self, name)
            if value:
                out[name] = value
        if time:
            out["start"], out["end"] = self.window()
        return out

    def traced_pods(self) -> pl.DataFrame:
        """(cluster, namespace, pod) of the pods that have spans in the scope."""
        scan = self.ds.scan("spans", **self.filters(time=True))
        return scan.select("cluster", "namespace", "pod").drop_nulls().unique().collect()

    def pods(self) -> pl.DataFrame:
        """The pods in scope (honouring "only pods with traces")."""
        pods = self.ds.pods(**self.filters())
        if self.traced_only:
            traced = self.traced_pods().rename({"pod": "name"})
            pods = pods.join(traced, on=["cluster", "namespace", "name"], how="semi")
        return pods

    def query(self, **overrides: Any) -> str:
        """The URL query of this scope (with ``overrides``), e.g. ``?cluster=a&namespace=b``."""
        return scope_query(self, **overrides)

    # -- choices ----------------------------------------------------------------------------
    def namespace_options(self) -> dict[str, str]:
        pods = self.ds.scan("pods", **({"cluster": self.cluster} if self.cluster else {}))
        counts = pods.group_by("namespace").len().sort("namespace").collect()
        return {"All namespaces": ALL, **{f"{ns} ({n})": ns for ns, n in counts.iter_rows() if ns}}

    def workload_options(self) -> dict[str, str]:
        pods = self.ds.scan("pods", **self._cn())
        counts = (
            pods.filter(pl.col("workload_name").is_not_null())
            .group_by("workload_kind", "workload_name")
            .len()
            .sort("workload_kind", "workload_name")
            .collect()
        )
        return {
            "All workloads": ALL,
            **{f"{k}/{n} ({c})": f"{k}/{n}" for k, n, c in counts.iter_rows()},
        }

    def _cn(self) -> dict[str, Any]:
        return {k: v for k, v in (("cluster", self.cluster), ("namespace", self.namespace)) if v}

    def refresh_choices(self) -> None:
        """Live mode, the snapshot grew: the menus of every :meth:`widgets` set list what it
        holds now (clusters, namespaces and workloads that appeared, with their new counts) and
        the window picker its new bounds. The choices are kept (a chosen value the snapshot
        lacks stays shown as ``"X (0)"``, see :func:`choose`) and no scope parameter changes, so
        a page watching the scope does not refresh for this; a window left at "all" (no
        ``start``/``end``) shows the grown window."""
        for update in self._choice_updates:
            update()

    # -- widgets ------------------------------------------------------------------------------
    def widgets(self, *, workload: bool = True, window: bool = True, traced: bool = True) -> pn.Column:
        """The sidebar controls bound to this scope (options follow the other choices)."""
        clusters = {"All clusters": ALL, **{c: c for c in self.ds.clusters}}
        cluster = pn.widgets.Select(label="Cluster", options=clusters)
        namespace = pn.widgets.Select(label="Namespace", options=self.namespace_options())
        choose(cluster, self.cluster, note=_NOT_HERE)
        choose(namespace, self.namespace)
        items: list[Any] = [cluster, namespace]
        cluster.link(self, value="cluster")
        namespace.link(self, value="namespace")
        self.param.watch(lambda e: choose(cluster, e.new, note=_NOT_HERE), "cluster")
        self.param.watch(lambda e: choose(namespace, e.new), "namespace")

        def refresh_namespaces(*_: Any) -> None:
            options = self.namespace_options()
            namespace.options = options
            if self.namespace not in options.values():
                self.namespace = ALL

        self.param.watch(refresh_namespaces, "cluster")
        updates: list[Callable[[], None]] = []

        def update_menus() -> None:
            # the options with the chosen value in them: a Select whose value is not among its
            # options falls back to the first, which would change the scope
            clusters = {"All clusters": ALL, **{c: c for c in self.ds.clusters}}
            cluster.options = _keeping(clusters, self.cluster, note=_NOT_HERE)
            namespace.options = _keeping(self.namespace_options(), self.namespace)

        updates.append(update_menus)
        if workload:
            wl = pn.widgets.Select(label="Workload", options=self.workload_options())
            choose(wl, self.workload)
            wl.link(self, value="workload")
            self.param.watch(lambda e: choose(wl, e.new), "workload")

            def refresh_workloads(*_: Any) -> None:
                options = self.workload_options()
                wl.options = options
                if self.workload not in options.values():
                    self.workload = ALL

            self.param.watch(refresh_workloads, ["cluster", "namespace"])
            updates.append(lambda: setattr(wl, "options", _keeping(self.workload_options(), self.workload)))
            items.append(wl)
        if window:
            lo, hi = self.ds.window
            bounds = [lo, hi]  # the snapshot's window as the picker knows it: choosing it is "all"
            moving = [False]  # the picker's value set by the snapshot growing, not by the user
            picker = pn.widgets.DatetimeRangePicker(
                label="Window (UTC)",
                start=lo.replace(tzinfo=None) if lo else None,
                end=hi.replace(tzinfo=None) if hi else None,
                value=tuple(t.replace(tzinfo=None) for t in self.window()) if lo and hi else None,
                enable_seconds=False,
            )

            def from_picker(event: param.parameterized.Event) -> None:
                if moving[0]:
                    return
                if not event.new:
                    self.param.update(start=ALL, end=ALL)
                    return
                a, b = (t.replace(tzinfo=dt.UTC) for t in event.new)
                same = [a, b] == bounds
                self.param.update(start=ALL if same else a.isoformat(), end=ALL if same else b.isoformat())

            def update_window() -> None:
                lo, hi = self.ds.window
                if lo is None or hi is None or [lo, hi] == bounds:
                    return
                bounds[:] = lo, hi
                start, end = (t.replace(tzinfo=None) for t in self.window())
                moving[0] = True
                try:  # bounds that hold the shown window (one chosen outside the snapshot's too)
                    picker.param.update(
                        start=min(start, lo.replace(tzinfo=None)), end=max(end, hi.replace(tzinfo=None))
                    )
                    picker.value = (start, end)  # a window left open at an end follows it
                finally:
                    moving[0] = False

            picker.param.watch(from_picker, "value")
            self.param.watch(
                lambda *_: setattr(picker, "value", tuple(t.replace(tzinfo=None) for t in self.window())),
                ["start", "end"],
            )
            updates.append(update_window)
            items.append(picker)
        if traced:
            box = pn.widgets.Checkbox(label="Only pods with traces", value=self.traced_only)
            box.link(self, value="traced_only")
            self.param.watch(lambda e: setattr(box, "value", e.new), "traced_only")
            items.append(box)
        for widget in items:  # fit the sidebar instead of a fixed width that gets clipped
            widget.param.update(width=None, sizing_mode="stretch_width")
        self._choice_updates.extend(updates)
        return pn.Column(*items, sizing_mode="stretch_width")

    def sync(self) -> bool:
        """Keep the scope in the URL query (served pages only)."""
        return sync_to_url(self, SCOPE_PARAMS)


#: How a cluster the snapshot does not have is labelled in the sidebar (see :func:`choose`).
_NOT_HERE = "not in this snapshot"


def choose(select: pn.widgets.Select, value: str, *, note: str = "0") -> None:
    """Show ``value`` in ``select``; a value its options lack is added to them as
    ``"value (note)"`` (namespaces and workloads: ``(0)``, no pods). A link can name a
    cluster, namespace or workload this snapshot does not have (one of another snapshot, one
    deleted since): the page filters on it and shows nothing, and the sidebar says so rather
    than showing "All …" (what a browser shows for a value not among the options)."""
    if value not in select.options.values():
        select.options = _keeping(select.options, value, note=note)
    select.value = value


def _keeping(options: dict[str, str], value: str, *, note: str = "0") -> dict[str, str]:
    """``options`` with ``value`` among them: added as ``"value (note)"`` when they lack it
    (see :func:`choose`)."""
    return options if value in options.values() else {**options, f"{value} ({note})": value}


def scope_query(state: param.Parameterized | None, **overrides: Any) -> str:
    """The URL query carrying whichever scope parameters ``state`` has (a :class:`Scope`, or a
    page with its own ``cluster``/``namespace``…), e.g. ``?cluster=a&namespace=b``; on a served
    page opened with ``?snapshot=NAME`` it starts with ``snapshot=NAME``, so links keep the
    snapshot (``snapshot=`` in ``overrides`` wins; ``snapshot=""`` drops it), and on one shown
    in the dark theme it ends with ``theme=dark``, so links keep the theme."""
    values: dict[str, Any] = {"snapshot": session_snapshot()}
    if state is not None:
        values.update({n: getattr(state, n) for n in SCOPE_PARAMS if n in state.param})
    values.update(overrides)
    values.setdefault(THEME_PARAM, session_theme())  # last: the dark theme follows from page to page
    items = {k: ("true" if v is True else v) for k, v in values.items() if v not in (ALL, None, False)}
    return f"?{urlencode(items)}" if items else ""


def served_pages(apps: Path | None = None) -> dict[str, str]:
    """The pages of :data:`PAGES` that have an app script (``apps/<slug>.py``), in nav order."""
    folder = apps or Path(os.environ.get(ENV_APPS, "") or Path(__file__).resolve().parents[2] / "apps")
    return {slug: title for slug, title in PAGES.items() if (folder / f"{slug}.py").is_file()}


def nav(
    scope: param.Parameterized | None, *, current: str, pages: Mapping[str, str] | None = None
) -> pn.pane.HTML:
    """Links to every served page (default :func:`served_pages`), carrying the scope's query and
    the snapshot (see :func:`scope_query`); the current page is bold."""
    pane = pn.pane.HTML(sizing_mode="stretch_width", margin=(10, 5))
    pages = served_pages() if pages is None else pages

    def render(*_: Any) -> None:
        query = scope_query(scope)
        links = []
        for slug, title in pages.items():
            label = html.escape(title)
            if slug == current:
                links.append(f"<li><b>{label}</b></li>")
            else:
                links.append(f'<li><a href="./{slug}{html.escape(query)}">{label}</a></li>')
        pane.object = (
            '<ul style="list-style:none;padding-left:0;margin:0;line-height:1.8">' + "".join(links) + "</ul>"
        )

    render()
    if scope is not None:
        scope.param.watch(render, [n for n in SCOPE_PARAMS if n in scope.param])
    return pane
