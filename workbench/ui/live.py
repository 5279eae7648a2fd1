"""Live mode: follow a snapshot that ``workbench watch`` keeps appending to, and a base class for
pages that use it.

:class:`LiveControls` is a small sidebar component — a "Follow the snapshot" switch and an
interval in seconds. While following, it re-reads the snapshot's manifest every interval
(:meth:`workbench.store.Dataset.refresh`, through ``pn.state.add_periodic_callback``) and, when
``manifest["updated_at"]`` (or the number of rows and files: see :func:`snapshot_version`)
changed, calls the page's refresh function. The page keeps its own
parameters (scope, selected object, open tab), so a refresh shows the new data in the same
view. Any page can add it in one line::

    sidebar.append(live_controls(self.refresh, dataset=self.dataset))

``live_controls`` also keeps the switch and interval in the URL (``?live=true&every=5``), so a
shared link follows too. A refresh that is still running when the next look is due is not
stacked: that look is skipped (:meth:`LiveControls.check`).

Every dashboard page has them: the pages built on :class:`LivePage` (cluster, performance, pod
start, right-sizing, triage) through it, the others (overview, application, service map,
resource browser, pod view, pending pods, manifest history, anomalies, log explorer) as a
``live`` attribute calling their ``snapshot_changed`` method, which shows what the snapshot now
holds with the page's scope and selection kept (see :func:`take_live`). Given the page's
:class:`~workbench.ui.scope.Scope`, the controls also update the sidebar's menus and window
picker before that refresh (:meth:`~workbench.ui.scope.Scope.refresh_choices`: a cluster,
namespace or workload that appeared can be chosen, counts and window are the new ones), which
changes no filter and so adds no refresh.

On a server, the sessions showing one snapshot share its :class:`~workbench.store.Dataset`
(:func:`workbench.ui.serving.open_dataset`): a followed page's refresh re-reads the manifest of
that shared dataset, which the other sessions then see on their next computation (data is only
ever appended), and a session opened after an append gets a freshly opened dataset.

:class:`LivePage` is the base of the cluster, performance, pod start, right-sizing and triage
pages: it opens the dataset, holds the :class:`~workbench.ui.scope.Scope`, syncs the scope and
the page's own state to the URL *before* the first refresh (a saved link computes once, with
its own values), refreshes when the scope changes, and carries the live controls.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import panel as pn
import param

import workbench
from workbench.errors import WorkbenchError
from workbench.store import Dataset
from workbench.ui._refresh import batched, watch_scope
from workbench.ui.common import PlainText, page, url_values_refused
from workbench.ui.scope import PAGES, SCOPE_PARAMS, Scope, nav

__all__ = [
    "LIVE_URL_PARAMS",
    "LiveControls",
    "LivePage",
    "live_controls",
    "plain_text",
    "snapshot_version",
    "sync_url",
    "take_live",
]

log = logging.getLogger(__name__)

#: Live-mode parameters → their names in the URL query.
LIVE_URL_PARAMS = {"follow": "live", "interval": "every"}


def take_live(params: dict[str, Any]) -> dict[str, Any]:
    """Take the live-mode parameters (``follow``, ``interval``) out of a page's keyword
    arguments, for its :class:`LiveControls`::

        live = take_live(params)
        super().__init__(**params)
        self.live = LiveControls(self.dataset, self.snapshot_changed, scope=self.scope, **live)
    """
    return {k: params.pop(k) for k in LIVE_URL_PARAMS if k in params}


def sync_url(obj: param.Parameterized, mapping: Mapping[str, str]) -> bool:
    """Keep ``obj``'s parameters in the URL query under the names of ``mapping`` (parameter →
    query name). Does nothing outside a served page; returns whether it synced. Values the URL
    gives that a parameter refuses are logged and ignored."""
    location = pn.state.location
    if location is None or pn.state.curdoc is None or pn.state.curdoc.session_context is None:
        return False
    location.sync(obj, dict(mapping), on_error=url_values_refused(obj, mapping, location))
    return True


def plain_text(text: str = "", **params: Any) -> PlainText:
    """A text pane for cluster-sourced text (:class:`~workbench.ui.common.PlainText`: shown as
    characters, long lines wrapped), full width unless told otherwise."""
    params.setdefault("sizing_mode", "stretch_width")
    return PlainText(text, **params)


class LiveControls(pn.viewable.Viewer):
    """ "Follow the snapshot" switch and interval; calls ``refresh`` when the snapshot changed,
    after updating the choices of the page's ``scope`` (:meth:`Scope.refresh_choices`: new
    clusters, namespaces and workloads in the menus, the window picker's new bounds; the
    user's choices kept, no filter change)."""

    follow = param.Boolean(
        default=False, doc="Re-read the snapshot every interval and refresh when it changed."
    )
    interval = param.Integer(default=10, bounds=(1, 3600), doc="Seconds between two looks at the snapshot.")

    def __init__(
        self, dataset: Dataset, refresh: Callable[[], Any], *, scope: Scope | None = None, **params: Any
    ) -> None:
        super().__init__(**params)
        self.dataset = dataset
        self.refresh = refresh
        self.scope = scope  # the page's sidebar filters: their choices follow the snapshot
        self.seen = snapshot_version(dataset)
        self.changes = 0  # how many times the snapshot changed while followed
        self._callback: Any = None
        self._checking = threading.Lock()  # held while a look (and its refresh) runs
        self._cleanup_registered = False
        self._switch = pn.widgets.Switch.from_param(
            self.param.follow, name="", width=40, margin=(8, 5, 0, 10)
        )
        self._interval = pn.widgets.IntInput.from_param(
            self.param.interval, name="every (seconds)", width=110, description=self.param.interval.doc
        )
        self._status = plain_text("", styles={"font-size": "0.85em", "opacity": "0.8"}, margin=(0, 10))
        self._show_status()
        if self.follow:
            self._restart()

    def __panel__(self) -> pn.viewable.Viewable:
        label = pn.pane.HTML(
            "<b>Follow the snapshot</b>", margin=(10, 0, 0, 0), styles={"font-size": "0.9em"}
        )
        return pn.Column(
            pn.Row(self._switch, label, margin=0),
            self._interval,
            self._status,
            sizing_mode="stretch_width",
            css_classes=["wb-live"],
        )

    def sync(self) -> bool:
        """Keep the switch and interval in the URL (``live``, ``every``); served pages only."""
        return sync_url(self, LIVE_URL_PARAMS)

    # -- following --------------------------------------------------------------------------
    @param.depends("follow", "interval", watch=True)
    def _restart(self) -> None:
        self._stop()
        if self.follow:
            self._callback = pn.state.add_periodic_callback(self.check, period=self.interval * 1000)
            served = pn.state.curdoc is not None and pn.state.curdoc.session_context is not None
            if served and not self._cleanup_registered:
                pn.state.on_session_destroyed(lambda _ctx: self._stop())
                self._cleanup_registered = True
        self._show_status()

    def _stop(self) -> None:
        if self._callback is not None:
            try:
                self._callback.stop()
            except Exception:  # noqa: BLE001 - a session being torn down may have stopped it already
                log.debug("periodic callback already stopped", exc_info=True)
            self._callback = None

    def check(self) -> bool:
        """Re-read the snapshot's manifest; when it changed since the last look, update the
        choices of the scope's sidebar menus and run the page's refresh (once). Returns whether
        it changed. Errors are shown, never raised (the next look tries again). A look while
        another one (or its refresh) still runs does nothing and returns False: slow refreshes
        are not stacked (a served page's periodic callbacks run in Panel's thread pool when it
        has one)."""
        if not self._checking.acquire(blocking=False):
            return False
        try:
            try:
                self.dataset.refresh()
            except (WorkbenchError, OSError, ValueError) as err:
                self._show_status(error=f"cannot re-read the snapshot: {err}")
                return False
            now = snapshot_version(self.dataset)
            if now == self.seen:
                self._show_status()
                return False
            self.seen = now
            self.changes += 1
            log.info("snapshot %s changed (updated_at %s): refreshing", self.dataset.path, now[0])
            if self.scope is not None:
                try:
                    with batched():
                        self.scope.refresh_choices()
                except Exception:  # noqa: BLE001 - stale menus must not stop the page's refresh
                    log.warning(
                        "updating the sidebar's choices after a snapshot change failed", exc_info=True
                    )
            try:
                self.refresh()
            except Exception as err:  # noqa: BLE001 - a failed refresh must not stop following
                log.warning("refresh after a snapshot change failed", exc_info=True)
                self._show_status(error=f"refresh failed: {err}")
                return True
            self._show_status()
            return True
        finally:
            self._checking.release()

    def _show_status(self, *, error: str = "") -> None:
        looked = dt.datetime.now(dt.UTC).strftime("%H:%M:%S UTC")
        updated = _short_time(self.seen[0])
        if error:
            text = error
        elif self.follow:
            text = f"following; looked at {looked}\nsnapshot updated {updated}"
        else:
            text = f"snapshot updated {updated}"
        self._status.object = text


def snapshot_version(ds: Dataset) -> tuple[str | None, int, int]:
    """What identifies a version of a snapshot: ``manifest["updated_at"]``, with the number of
    rows and of data files (``updated_at`` has one-second resolution, so two appends within a
    second share it; their rows do not)."""
    tables = ds.manifest.get("tables", {})
    rows = sum(int(t.get("rows", 0)) for t in tables.values())
    files = sum(len(t.get("files", [])) for t in tables.values())
    return ds.manifest.get("updated_at"), rows, files


def _short_time(iso: str | None) -> str:
    if not iso:
        return "–"
    try:
        return (
            dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
            .astimezone(dt.UTC)
            .strftime("%Y-%m-%d %H:%M:%S UTC")
        )
    except ValueError:
        return iso


def live_controls(
    refresh: Callable[[], Any], *, dataset: Dataset, sync: bool = True, **params: Any
) -> LiveControls:
    """The live-mode component for a page whose ``refresh`` re-reads its data with its current
    selection. With ``sync`` (default) the switch and interval are kept in the URL."""
    controls = LiveControls(dataset, refresh, **params)
    if sync:
        controls.sync()
    return controls


class LivePage(pn.viewable.Viewer):
    """A dashboard page over a :class:`Scope`, with live mode (see the module docstring).

    Subclasses set :attr:`slug`, :attr:`url_params` (their own state kept in the URL) and
    :attr:`scope_options` (which scope selectors they show), build their components in
    :meth:`_build`, lay them out in :meth:`sections` and fill them in :meth:`refresh`.
    Nothing is computed before the page is shown (:meth:`__panel__` or :meth:`page`)."""

    slug: ClassVar[str] = ""
    url_params: ClassVar[Mapping[str, str]] = {}
    scope_options: ClassVar[Mapping[str, bool]] = {}
    #: The scope parameters whose change refreshes the page.
    scope_watch: ClassVar[Sequence[str]] = ("cluster", "namespace", "workload", "start", "end")

    def __init__(
        self, dataset: Dataset | str | os.PathLike[str], *, scope: Scope | None = None, **params: Any
    ) -> None:
        self.dataset = dataset if isinstance(dataset, Dataset) else workbench.open(dataset)
        scoped = {k: params.pop(k) for k in SCOPE_PARAMS if k in params}
        live = take_live(params)
        self.scope = scope or Scope(self.dataset, **scoped)
        super().__init__(**params)
        self.started = False
        self.live = LiveControls(self.dataset, self.refresh, scope=self.scope, **live)
        self._build()
        # once per new state of the scope, after the sidebar's own watchers (a new namespace
        # that resets the workload refreshes the page once, not twice)
        watch_scope(self.scope, list(self.scope_watch), self._scope_changed)

    # -- for subclasses -----------------------------------------------------------------------
    def _build(self) -> None:
        """Create the page's components (empty)."""

    def sections(self) -> list[pn.viewable.Viewable]:
        """The page's main sections, top to bottom."""
        raise NotImplementedError

    def refresh(self) -> None:
        """Recompute everything for the current scope and selection."""
        raise NotImplementedError

    # -- lifecycle ----------------------------------------------------------------------------
    def _scope_changed(self, *_: Any) -> None:
        if self.started:
            self.refresh()

    def start(self) -> None:
        """Compute the page once (later changes refresh it)."""
        if not self.started:
            self.started = True
            self.refresh()

    def sidebar(self) -> list[Any]:
        """Scope selectors, live controls, navigation."""
        return [
            self.scope.widgets(**dict(self.scope_options)),
            pn.layout.Divider(),
            self.live,
            pn.layout.Divider(),
            nav(self.scope, current=self.slug),
        ]

    def __panel__(self) -> pn.viewable.Viewable:
        self.start()
        return pn.Column(
            pn.Row(self.scope.widgets(**dict(self.scope_options)), self.live),
            *self.sections(),
            sizing_mode="stretch_width",
        )

    def page(self) -> pn.template.BaseTemplate:
        """The served page: scope, page state and live mode synced to the URL, then computed."""
        self.scope.sync()
        if self.url_params:
            sync_url(self, self.url_params)
        self.live.sync()
        self.start()
        return page(
            PAGES[self.slug], snapshot=self.dataset.path, sidebar=self.sidebar(), main=self.sections()
        )
