"""Warming a dashboard server's process up before its first visitor.

``workbench serve`` has ``panel serve`` run this file once at start (``--setup``), before it
takes connections. :func:`warm_up` then:

1. imports what the pages import — panel and HoloViews with the Bokeh backend and the
   extensions every page loads, polars, every page module the app scripts import — and opens
   the default snapshot (:func:`workbench.ui.serving.open_dataset` keeps one per process), so
   the first visitor does not wait for them (about 0.4 s of CPU off the first page's build on
   the demo, most of it the imports);
2. collects garbage once and *freezes* what is left (:func:`gc.freeze`): the objects those
   imports made (about 350,000) are never scanned by the garbage collector again. Without it,
   Python's full collections, due each time the objects that survived grew by a quarter, scan
   all of them: on the demo one lands in a page's change every few sessions (typically a
   session's first change) and adds 0.1–0.3 s to it.

Pages are not built at start: Panel's own ``--warm`` would build every page once (about 25 s
of CPU for the 14 pages of the demo), and a page built after the imports costs the first
visitor no more than the next ones (the rest of a session's first change is per session: a
text pane's first update gives it one more stylesheet). Benchmark B5 warms its process up the
same way before building the page it times (:func:`benchmarks._dashboard.measure`).
"""

from __future__ import annotations

import gc
import logging
import os
import runpy
from pathlib import Path

__all__ = ["warm_up"]

log = logging.getLogger(__name__)

_done: list[str] = []


def warm_up(apps: Path | None = None, *, snapshot: Path | str | None = None) -> list[str]:
    """Import what the app scripts in ``apps`` import (default: the served ones, see
    :func:`workbench.ui.scope.served_pages`), load the extensions, open ``snapshot`` (default:
    the server's, ``$WORKBENCH_SNAPSHOT``, when set), then collect garbage and freeze what is
    left (see the module docstring). Once per process: later calls do nothing. Returns the
    scripts whose imports ran."""
    if _done:
        return []
    import holoviews as hv
    import panel as pn

    from workbench.errors import WorkbenchError
    from workbench.ui.common import EXTENSIONS
    from workbench.ui.scope import ENV_APPS
    from workbench.ui.serving import ENV_SNAPSHOT, open_dataset

    pn.extension(*EXTENSIONS, loading_indicator=True)
    hv.extension("bokeh", logo=False)
    folder = apps or Path(os.environ.get(ENV_APPS, "") or Path(__file__).resolve().parents[2] / "apps")
    scripts = sorted(p for p in folder.glob("*.py") if not p.name.startswith("_")) if folder.is_dir() else []
    for script in scripts:  # under another name than bokeh's, a script imports and builds nothing
        try:
            runpy.run_path(str(script), run_name="workbench_warm_up")
        except Exception:  # a broken script fails for its visitors with its own message
            log.warning("warm-up: could not import what %s imports", script, exc_info=True)
    path = snapshot or os.environ.get(ENV_SNAPSHOT)
    if path:
        try:
            open_dataset(path)
        except WorkbenchError as err:
            log.info("warm-up: snapshot %s not opened: %s", path, err)
    gc.collect()
    gc.freeze()
    _done.extend(str(s) for s in scripts)
    return [str(s) for s in scripts]


if __name__ == "panel_setup_module":  # run by ``panel serve --setup`` (workbench serve)
    from workbench.ui import warmup as _module  # the imported module, which knows it ran

    _module.warm_up()
