"""Building the dashboard pages as served and timing changes on them, for B5
(:mod:`benchmarks.b5_dashboard`): :data:`PAGES`, :func:`plan` (the filter changes), :func:`boxes`
(hitmap selections) and :func:`measure`."""

from __future__ import annotations

import datetime as dt
import importlib
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import polars as pl

__all__ = ["BUDGET_S", "CHANGES", "FILTER", "PAGES", "SELECT", "boxes", "measure", "open_page", "plan"]

CHANGES = 20
#: A case stops making changes after this many seconds (the large demo), with at least 5 made.
BUDGET_S = 120.0
#: slug → (``module:Class``, constructor options as in ``apps/<slug>.py``, the filter actions that
#: change what it shows: "only pods with traces" does not for pages that read spans or pods' logs)
_ALL = ("namespace", "workload", "window", "cluster", "traced_only")
PAGES: dict[str, tuple[str, dict[str, Any], tuple[str, ...]]] = {
    "overview": ("workbench.ui.overview:Overview", {}, ("namespace", "cluster")),
    "cluster": ("workbench.ui.cluster:ClusterPage", {}, ("namespace", "window", "cluster")),
    "application": ("workbench.ui.application:ApplicationPage", {"load": False}, _ALL[:4]),
    "service_map": ("workbench.ui.servicemap:ServiceMapPage", {}, _ALL[:4]),
    "resources": ("workbench.ui.resources:ResourceBrowser", {}, _ALL),
    "pod_view": ("workbench.ui.podview:PodView", {}, ("namespace", "workload", "cluster", "traced_only")),
    "performance": ("workbench.ui.performance:PerformancePage", {}, _ALL[:4]),
    "pod_start": ("workbench.ui.podstart:PodStartPage", {}, _ALL[:4]),
    "pending_pods": ("workbench.ui.pending:PendingPods", {}, _ALL[:4]),
    "manifest_history": ("workbench.ui.manifests:ManifestHistory", {}, _ALL[:4]),
    "anomalies": ("workbench.ui.anomalies:AnomaliesPage", {"load": False}, _ALL[:4]),
    "logs": ("workbench.ui.logs:LogsPage", {}, _ALL[:4]),
    "triage": ("workbench.ui.triage:TriagePage", {}, ("namespace", "window", "cluster")),
    "right_sizing": ("workbench.ui.rightsizing:RightSizingPage", {}, _ALL[:4]),
}
FILTER, SELECT = "filter change", "hitmap selection"


# --- the changes ---------------------------------------------------------------------------------
def _values(ds: Any) -> dict[str, list[dict[str, Any]]]:
    """Per filter action, the successive changes it makes (values read off the snapshot)."""
    pods = ds.pods()
    ns = (
        pods.group_by("namespace")
        .len()
        .sort(["len", "namespace"], descending=[True, False])["namespace"]
        .to_list()
    )
    ns = (ns * 3)[:3] if ns else ["", "", ""]
    wl = (pods.filter(pl.col("namespace") == ns[0], pl.col("workload_kind") == "Deployment")
          .group_by("workload_kind", "workload_name").len()
          .sort(["len", "workload_name"], descending=[True, False]).head(2))  # fmt: skip
    workloads = [f"{k}/{n}" for k, n, _ in wl.iter_rows()] or [""]
    lo, hi = ds.window
    w = min(dt.timedelta(hours=1), (hi - lo) / 3) if lo and hi else None
    windows = [(lo + w, lo + 2 * w), (hi - w, hi)] if w else []
    clusters = list(ds.clusters)
    return {
        "namespace": [{"namespace": ns[0]}, {"namespace": ns[1]}, {"namespace": ""}, {"namespace": ns[2]},
                      {"namespace": ""}],
        "workload": [{"workload": workloads[0]}, {"workload": ""}, {"workload": workloads[-1]}, {"workload": ""}],
        "window": [*({"start": a.isoformat(), "end": b.isoformat()} for a, b in windows[:1]),
                   {"start": "", "end": ""},
                   *({"start": a.isoformat(), "end": b.isoformat()} for a, b in windows[1:]),
                   {"start": "", "end": ""}],
        "cluster": [*({"cluster": c} for c in clusters), {"cluster": ""}],
        "traced_only": [{"traced_only": True}, {"traced_only": False}],
    }  # fmt: skip


def plan(
    ds: Any, kinds: tuple[str, ...], target: Any, n: int = CHANGES
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``n`` changes of ``target`` (a scope) cycling through ``kinds``, each kind through its own
    values; a value ``target`` already has (e.g. a workload the sidebar reset when the namespace
    changed) is passed over, so every change is a change. Read lazily: each change is picked
    after the previous one was made."""
    values = _values(ds)
    nxt = dict.fromkeys(kinds, 0)
    for i in range(n):
        kind = kinds[i % len(kinds)]
        options = values[kind]
        for _ in range(len(options)):
            change = options[nxt[kind] % len(options)]
            nxt[kind] += 1
            if any(getattr(target, k) != v for k, v in change.items()):
                yield kind, change
                break


def boxes(ds: Any, n: int = CHANGES, seed: int = 0) -> list[tuple[float, float, float, float]]:
    """``n`` boxes ``(x0, y0, x1, y1)`` as a ``BoundsXY`` stream gives them on a hitmap: finish
    times in ms since the epoch, response times as log10 ms."""
    import numpy as np

    rng = np.random.default_rng(seed)
    lo, hi = (t.timestamp() * 1000 for t in ds.window)
    out = []
    for _ in range(n):
        width = rng.uniform(5, 60) * 60_000
        x0 = rng.uniform(lo, max(lo, hi - width))
        y0 = rng.uniform(0.0, 3.0)
        out.append((x0, y0, x0 + width, y0 + rng.uniform(1.0, 2.0)))
    return out


# --- measuring -----------------------------------------------------------------------------------
def _parts(template: Any) -> list[tuple[str, Any, Any]]:
    """The panes and tables of a rendered page's main area with what they show (compared by
    :func:`_same`)."""
    import panel as pn

    found: list[Any] = []
    seen: set[int] = set()

    def walk(obj: Any) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, pn.pane.PaneBase | pn.widgets.Tabulator):
            found.append(obj)
        if isinstance(obj, pn.viewable.Viewer):  # a component: its parts are its attributes
            for value in vars(obj).values():
                if isinstance(value, pn.viewable.Viewable | pn.viewable.Viewer):
                    walk(value)
        for child in getattr(obj, "objects", None) or []:
            if isinstance(child, pn.viewable.Viewable | pn.viewable.Viewer):
                walk(child)

    for obj in template.main.objects:  # not the sidebar: its navigation links follow every change
        walk(obj)
    return [
        (type(o).__name__, o, o.value if isinstance(o, pn.widgets.Tabulator) else o.object) for o in found
    ]


def _same(before: list[tuple[str, Any, Any]], after: list[tuple[str, Any, Any]]) -> bool:
    if len(before) != len(after):
        return False
    for (_, a, x), (_, b, y) in zip(before, after, strict=True):
        if a is not b:
            return False
        if x is y or (isinstance(x, str) and x == y):
            continue
        if hasattr(x, "equals") and hasattr(y, "equals") and getattr(x, "shape", 0) == getattr(y, "shape", 1):
            if x.equals(y):
                continue
        return False
    return True


def _loading(parts: list[tuple[str, Any, Any]]) -> int:
    return sum(1 for _, obj, _ in parts if getattr(obj, "loading", False))


def _timed(template: Any, doc: Any, act: Callable[[], Any]) -> dict[str, Any]:
    """Run ``act`` with ``doc`` as the current document (as a served session's callbacks run):
    wall and CPU milliseconds (CPU: every thread of this process), whether the page changed, how
    many of its parts still show a loading indicator."""
    from panel.io.state import set_curdoc

    before = _parts(template)
    c0, t0 = time.process_time(), time.perf_counter()
    with set_curdoc(doc):
        act()
    ms, cpu = (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000
    after = _parts(template)
    return {"ms": ms, "cpu_ms": cpu, "updated": not _same(before, after), "loading": _loading(after)}


def open_page(slug: str, snapshot: Path) -> tuple[Any, Any, Any, dict[str, float]]:
    """Build page ``slug`` as its app does and render it into a Bokeh document; returns the
    page, its template, the document and the seconds each step took.

    Both steps run with that document as the current one, as ``panel serve`` runs an app's
    script for a session: Panel then gives the page's panes the session's own stylesheets at
    once (rendered without it, each HTML pane's first new text swaps in another copy and makes
    Bokeh walk the model graph again, 30-40 ms that a served session does not pay)."""
    import holoviews as hv
    import panel as pn
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    from workbench.ui.common import EXTENSIONS

    pn.extension(*EXTENSIONS, loading_indicator=True)
    hv.extension("bokeh", logo=False)
    target, options, _ = PAGES[slug]
    module, name = target.split(":")
    cls = getattr(importlib.import_module(module), name)
    doc = Document()
    with set_curdoc(doc):
        t0 = time.perf_counter()
        page = cls(str(snapshot), **options)
        template = page.page()
        t1 = time.perf_counter()
        template.server_doc(doc)
    return page, template, doc, {"build_s": t1 - t0, "render_s": time.perf_counter() - t1}


def _bounds_stream(page: Any) -> Any:
    import holoviews as hv

    parts = list(vars(page).values())
    parts += [
        v for p in parts if hasattr(p, "__dict__") and not isinstance(p, type) for v in vars(p).values()
    ]
    found = [v for v in parts if isinstance(v, hv.streams.BoundsXY)]  # on the page or one of its parts
    if not found:
        msg = f"{type(page).__name__} has no BoundsXY stream on its hitmap (drawn only when it has transactions)"
        raise RuntimeError(msg)
    return found[0]


def measure(slug: str, snapshot: Path, *, action: str = FILTER, n: int = CHANGES,
            budget_s: float = BUDGET_S) -> dict[str, Any]:  # fmt: skip
    """Build ``slug``'s page on ``snapshot`` and time ``n`` filter changes (or hitmap selections):
    ``{"page", "action", "build_s", "render_s", "changes": [{"what", "ms", "cpu_ms", "updated", "loading"}]}``.

    The process first warms up as ``workbench serve`` does before serving
    (:func:`workbench.ui.warmup.warm_up`: the pages' imports, then the garbage collector told to
    leave their objects alone), so the page is timed as a served session is."""
    import workbench as wb
    from workbench.ui.warmup import warm_up

    warm_up()
    page, template, doc, out = open_page(slug, snapshot)
    ds = wb.open(snapshot)
    changes = []
    started = time.perf_counter()
    if action == SELECT:
        stream = _bounds_stream(page)
        steps: Iterable[tuple[str, Callable[[], Any]]] = [
            (f"box {b}", lambda b=b: stream.event(bounds=b)) for b in boxes(ds, n)
        ]
    else:
        target = getattr(page, "scope", page)
        steps = ((f"{kind} {change}", lambda c=change: target.param.update(**c))
                 for kind, change in plan(ds, PAGES[slug][2], target, n))  # fmt: skip
    for i, (what, act) in enumerate(steps):
        if i >= 5 and time.perf_counter() - started > budget_s:
            break
        changes.append({"what": what, **_timed(template, doc, act)})
    return {"page": slug, "action": action, **out, "changes": changes}
