"""Service map: who calls whom in the window, with calls, errors and latency per edge and
service, compared with a baseline window.

Served by ``workbench serve`` (``panel serve apps/*.py --args --snapshot PATH``); the snapshot
comes from ``--args --snapshot PATH``, else ``$WORKBENCH_SNAPSHOT``, else ``data/demo``.
"""

import holoviews as hv
import panel as pn

from workbench.errors import WorkbenchError
from workbench.ui.common import EXTENSIONS, error_page, snapshot_argument
from workbench.ui.servicemap import ServiceMapPage

pn.extension(*EXTENSIONS, loading_indicator=True)
hv.extension("bokeh", logo=False)


def build() -> pn.template.BaseTemplate:
    """A fresh page for this browser session (nothing is shared between sessions)."""
    snapshot = snapshot_argument()
    try:
        return ServiceMapPage(snapshot).page()
    except WorkbenchError as err:
        return error_page("service map", snapshot=snapshot, error=err)


if __name__.startswith("bokeh"):
    build().servable(title="Service map")
