"""Which snapshot a served page shows, and the one helper every app script calls.

A server (``workbench serve``, i.e. ``panel serve apps/*.py --args --snapshot PATH --snapshots
DIR``) has a *default* snapshot and a *folder of snapshots*: every folder directly under DIR that
holds a ``manifest.json`` (default DIR: the default snapshot's parent, so ``data/`` with
``data/demo`` and whatever was collected into ``data/`` works out of the box). A page opened with
``?snapshot=NAME`` shows the snapshot folder called NAME; without it, the default.

The name is only ever looked up among the listed folder names (:meth:`SnapshotCatalog.resolve`):
nothing from the URL becomes a path, so ``..``, ``/etc`` or ``a/b`` name nothing and get the
error page listing the snapshots that exist. The folder is listed on every page load, so a
snapshot collected while the server runs appears without a restart.

- :func:`serve_page`: what ``apps/<slug>.py`` calls (resolve the snapshot, build the page, show
  the error page on a :class:`~workbench.errors.WorkbenchError`, mark it servable).
- :func:`open_dataset`: one :class:`~workbench.store.Dataset` per snapshot folder per server
  process (reopened when its ``manifest.json`` changes); per-session state stays per session.
- :func:`served` / :func:`session_snapshot`: the current session's snapshot (for the header,
  the snapshot menu and the links that carry it, see :func:`workbench.ui.scope.scope_query`).
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import panel as pn

import workbench
from workbench.errors import SnapshotError, WorkbenchError
from workbench.store import Dataset

__all__ = [
    "DEFAULT_SNAPSHOT",
    "ENV_SNAPSHOT",
    "ENV_SNAPSHOTS",
    "THEME_PARAM",
    "URL_PARAM",
    "Served",
    "SnapshotCatalog",
    "UnknownSnapshotError",
    "open_dataset",
    "serve_page",
    "served",
    "session_snapshot",
    "session_theme",
    "snapshot_argument",
    "snapshot_folders",
    "snapshot_menu",
    "snapshots_argument",
    "switch_snapshot",
]

log = logging.getLogger(__name__)

ENV_SNAPSHOT = "WORKBENCH_SNAPSHOT"
ENV_SNAPSHOTS = "WORKBENCH_SNAPSHOTS"
DEFAULT_SNAPSHOT = "data/demo"
#: The URL query parameter naming the snapshot.
URL_PARAM = "snapshot"
#: A snapshot folder name that says nothing: such a default goes by its parent folder's name.
GENERIC_NAME = "snapshot"
#: The URL parameter of the template's theme (Panel's: ``?theme=dark``).
THEME_PARAM = "theme"


# -- arguments --------------------------------------------------------------------------------
def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    args = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--snapshot", default=None)
    parser.add_argument("--snapshots", default=None)
    known, _rest = parser.parse_known_args(args)
    return known


def snapshot_argument(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """The default snapshot folder of a served app.

    ``panel serve apps/*.py --args --snapshot PATH`` wins, then ``$WORKBENCH_SNAPSHOT``, then
    ``data/demo``. Unknown arguments are ignored (``panel serve`` may pass its own).
    """
    env = os.environ if environ is None else environ
    return Path(_arguments(argv).snapshot or env.get(ENV_SNAPSHOT) or DEFAULT_SNAPSHOT)


def snapshots_argument(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """The folder of snapshots a served app offers: ``--args --snapshots DIR``, then
    ``$WORKBENCH_SNAPSHOTS``, then the default snapshot's parent folder."""
    env = os.environ if environ is None else environ
    given = _arguments(argv).snapshots or env.get(ENV_SNAPSHOTS)
    return Path(given) if given else snapshot_argument(argv, env).absolute().parent


# -- the catalog ------------------------------------------------------------------------------
def snapshot_folders(folder: Path) -> dict[str, Path]:
    """The snapshots directly under ``folder`` (name → path), sorted by name: sub-folders with a
    ``manifest.json``. Hidden folders (a writer's temporary ``.name.tmp-…``) are skipped; a
    missing folder has none."""
    try:
        children = sorted(folder.iterdir())
    except OSError:
        return {}
    return {c.name: c for c in children if not c.name.startswith(".") and (c / "manifest.json").is_file()}


class UnknownSnapshotError(SnapshotError):
    """A ``?snapshot=`` name that is not one of the served snapshots."""

    def __init__(self, name: str, available: Sequence[str]) -> None:
        self.name = name
        self.available = list(available)
        listed = ", ".join(self.available) or "none"
        why = " (a snapshot is named by its folder's name, never by a path)" if _looks_like_path(name) else ""
        super().__init__(f"no snapshot named {name!r} on this server{why}; available snapshots: {listed}")


def _looks_like_path(name: str) -> bool:
    return name in (".", "..") or any(c in name for c in "/\\\0") or name.startswith("~")


@dataclass(frozen=True)
class SnapshotCatalog:
    """The snapshots one server offers: ``default`` (shown without ``?snapshot=``) and every
    snapshot folder directly under ``folder``."""

    default: Path
    folder: Path | None = None

    @classmethod
    def from_arguments(
        cls, argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
    ) -> SnapshotCatalog:
        """The catalog of ``--args --snapshot PATH --snapshots DIR`` (see :func:`snapshot_argument`
        and :func:`snapshots_argument`)."""
        return cls(snapshot_argument(argv, environ), snapshots_argument(argv, environ))

    @property
    def default_name(self) -> str:
        """The default snapshot's name: the last part of its path as given, symlinks not
        followed (``data/demo`` → ``demo`` when it links to ``data/demo-2026-11-02``); a folder
        called ``snapshot`` (the layout ``NAME/snapshot`` of the benchmarks' data) goes by its
        parent's name."""
        path = Path(os.path.abspath(self.default))
        if path.name == GENERIC_NAME and path.parent.name:
            return path.parent.name
        return path.name or str(self.default)

    def _found(self) -> dict[str, Path]:
        """The folder's snapshots, the default under :attr:`default_name` (a folder's snapshot
        of that name that is another folder wins, with a warning), sorted by name."""
        found = snapshot_folders(self.folder) if self.folder is not None else {}
        name = self.default_name
        if name in found and found[name].resolve() != self.default.resolve():
            _warn_name_clash(self.default, found[name])
        found.setdefault(name, self.default)
        return dict(sorted(found.items()))

    def available(self) -> dict[str, Path]:
        """Name → folder of every snapshot offered (the snapshot menu), sorted by name: the
        folder's snapshots plus the default under :attr:`default_name`; the default is listed
        once (a folder entry that is the default under another name, e.g. its symlink's target
        or ``snapshot`` of ``NAME/snapshot``, is left out but still opens, see :meth:`resolve`)."""
        found = self._found()
        name = self.default_name
        default = found[name].resolve()
        return {n: p for n, p in found.items() if n == name or p.resolve() != default}

    def resolve(self, name: str | None) -> tuple[str, Path]:
        """``(name, folder)`` of the snapshot called ``name``; no name gives the default.

        ``name`` is looked up among the snapshot folders' names (and the default's) only, so a
        path (``..``, ``/etc``, ``a/b``) never reaches the file system; a name that is the
        default under another name gives the default's. Raises :class:`UnknownSnapshotError`
        (listing the available names) for anything else."""
        if not name:
            return self.default_name, self.default
        found = self._found()
        if _looks_like_path(name) or name not in found:
            raise UnknownSnapshotError(name, list(self.available()))
        if name not in self.available():  # the default under another name
            return self.default_name, found[self.default_name]
        return name, found[name]


@functools.cache
def _warn_name_clash(default: Path, other: Path) -> None:
    log.warning(
        "the default snapshot %s and %s share the name %r: ?snapshot=%s opens the latter",
        default, other, other.name, other.name,
    )  # fmt: skip


# -- datasets shared by the sessions of one server ----------------------------------------------
_DATASETS: dict[Path, tuple[tuple[int, int], Dataset]] = {}
_DATASETS_LOCK = threading.Lock()


def open_dataset(path: str | os.PathLike[str]) -> Dataset:
    """The :class:`Dataset` of the snapshot at ``path``, opened once per server process and
    shared by every session (datasets are read-only); reopened when the snapshot's
    ``manifest.json`` changed (a ``workbench watch`` appended), so a new session sees the new
    data. Raises :class:`~workbench.errors.SnapshotError` like ``workbench.open``."""
    key = Path(path).absolute().resolve()
    try:
        st = (key / "manifest.json").stat()
    except OSError:
        return workbench.open(path)  # raises the error that says what is missing
    stamp = (st.st_mtime_ns, st.st_size)
    with _DATASETS_LOCK:
        hit = _DATASETS.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    ds = workbench.open(path)
    with _DATASETS_LOCK:
        _DATASETS[key] = (stamp, ds)
    log.debug("opened snapshot %s for this server", key)
    return ds


# -- the session's snapshot -------------------------------------------------------------------
@dataclass(frozen=True)
class Served:
    """What one browser session shows: ``requested`` is the URL's ``?snapshot=`` ('' = the
    default), ``name`` the snapshot's name, ``catalog`` what the server offers."""

    requested: str
    name: str
    catalog: SnapshotCatalog


_SESSIONS: weakref.WeakKeyDictionary[Any, Served] = weakref.WeakKeyDictionary()


def _session_doc() -> Any:
    doc = pn.state.curdoc
    return doc if doc is not None and doc.session_context is not None else None


def served() -> Served | None:
    """The current session's snapshot (``None`` outside a page built by :func:`serve_page`,
    e.g. in JupyterLab)."""
    doc = _session_doc()
    return None if doc is None else _SESSIONS.get(doc)


def session_snapshot() -> str:
    """The ``?snapshot=`` of the current session's URL ('' for the default snapshot or outside a
    served page): what links to other pages carry."""
    current = served()
    return current.requested if current is not None else ""


def session_theme() -> str:
    """``dark`` when the current served page was opened with ``?theme=dark`` (what the
    template's light/dark switch reloads the page with), else '': links to other pages carry
    it, so the theme chosen on one page stays on the next."""
    if served() is None:
        return ""
    return "dark" if _arg(THEME_PARAM) == "dark" else ""


def _arg(name: str) -> str:
    """The first value of URL parameter ``name`` of the current session ('' when absent)."""
    values = pn.state.session_args.get(name) or [b""]
    value = values[0]
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def _requested() -> str:
    return _arg(URL_PARAM)


def switch_snapshot(name: str) -> None:
    """Reload the current page on snapshot ``name`` (``?snapshot=NAME``; the other filters
    belong to the old snapshot and are dropped)."""
    location = pn.state.location
    if location is None:
        return
    theme = session_theme()
    location.search = "?" + urlencode({URL_PARAM: name, **({THEME_PARAM: theme} if theme else {})})
    location.reload = True


def snapshot_menu() -> pn.widgets.MenuButton | None:
    """The sidebar's snapshot selector (served pages offering more than one snapshot): a menu of
    the available snapshots; choosing one reloads the page on it."""
    current = served()
    if current is None:
        return None
    names = list(current.catalog.available())
    if len(names) < 2 and current.name in names:
        return None
    menu = pn.widgets.MenuButton(
        name=f"Snapshot: {current.name}" if current.name in names else "Choose a snapshot",
        items=[(f"{'● ' if n == current.name else ''}{n}", n) for n in names],
        button_type="light",
        sizing_mode="stretch_width",
        css_classes=["wb-snapshot-menu"],
        margin=(10, 10, 5, 10),
    )
    menu.on_click(lambda event: switch_snapshot(event.new))
    return menu


# -- the app helper ---------------------------------------------------------------------------
def serve_page(page_class: Callable[..., Any], slug: str, /, **options: Any) -> Any:
    """Build this browser session's page and mark it servable: what ``apps/<slug>.py`` calls.

    Resolves the snapshot (``?snapshot=NAME`` among the served ones, else the default), opens it
    through :func:`open_dataset`, builds ``page_class(dataset, **options).page()`` and serves
    it titled ``PAGES[slug]``. A :class:`~workbench.errors.WorkbenchError` (missing snapshot,
    unknown name, corrupt manifest) gives the error page instead. Returns the template."""
    import holoviews as hv

    from workbench.ui.common import EXTENSIONS, error_page
    from workbench.ui.scope import PAGES

    pn.extension(*EXTENSIONS, loading_indicator=True)
    hv.extension("bokeh", logo=False)
    title = PAGES[slug]
    catalog = SnapshotCatalog.from_arguments()
    requested = _requested()
    doc = _session_doc()
    path: Path | str = requested or catalog.default
    try:
        name, path = catalog.resolve(requested)
        if doc is not None:
            _SESSIONS[doc] = Served(requested, name, catalog)
        template = page_class(open_dataset(path), **options).page()
    except WorkbenchError as err:
        log.info("page %s: %s", slug, err)
        if doc is not None and doc not in _SESSIONS:
            _SESSIONS[doc] = Served(requested, requested, catalog)
        hint = None
        if isinstance(err, UnknownSnapshotError):
            hint = (
                "Open one of the available snapshots with ?snapshot=NAME, or choose it in the Snapshot menu."
            )
        template = error_page(title, snapshot=path, error=err, hint=hint)
    template.servable(title=title)
    return template
