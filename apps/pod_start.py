"""Pod start: pods created in the window and, for one, its Pending → Running → Stable phases and advice.

Served by ``workbench serve`` (``panel serve apps/*.py --args --snapshot PATH``); the snapshot
comes from ``--args --snapshot PATH``, else ``$WORKBENCH_SNAPSHOT``, else ``data/demo``.
"""

import holoviews as hv
import panel as pn

from workbench.errors import WorkbenchError
from workbench.ui.common import EXTENSIONS, error_page, snapshot_argument
from workbench.ui.podstart import PodStartPage
from workbench.ui.scope import PAGES

pn.extension(*EXTENSIONS, loading_indicator=True)
hv.extension("bokeh", logo=False)


def build() -> pn.template.BaseTemplate:
    """A fresh page for this browser session (nothing is shared between sessions)."""
    snapshot = snapshot_argument()
    try:
        return PodStartPage(snapshot).page()
    except WorkbenchError as err:
        return error_page(PAGES["pod_start"], snapshot=snapshot, error=err)


if __name__.startswith("bokeh"):
    build().servable(title=PAGES["pod_start"])
