"""Log explorer: search and filter log lines, counts per level, pod, category and field,
volume by level, error bursts and new patterns.

Served by ``workbench serve`` (``panel serve apps/*.py --args --snapshot PATH``); the snapshot
comes from ``--args --snapshot PATH``, else ``$WORKBENCH_SNAPSHOT``, else ``data/demo``.
"""

import holoviews as hv
import panel as pn

from workbench.errors import WorkbenchError
from workbench.ui.common import EXTENSIONS, error_page, snapshot_argument
from workbench.ui.logs import LogsPage

pn.extension(*EXTENSIONS, loading_indicator=True)
hv.extension("bokeh", logo=False)


def build() -> pn.template.BaseTemplate:
    """A fresh page for this browser session (nothing is shared between sessions)."""
    snapshot = snapshot_argument()
    try:
        return LogsPage(snapshot).page()
    except WorkbenchError as err:
        return error_page("log explorer", snapshot=snapshot, error=err)


if __name__.startswith("bokeh"):
    build().servable(title="Log explorer")
