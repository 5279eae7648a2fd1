"""Application: TPS, response time, errors and active transactions per service, the hitmap
(X-View) whose box selection lists transactions, and a transaction's trace, logs and pod.

Served by ``workbench serve`` (``panel serve apps/*.py --args --snapshot PATH``); the snapshot
comes from ``--args --snapshot PATH``, else ``$WORKBENCH_SNAPSHOT``, else ``data/demo``.
"""

import holoviews as hv
import panel as pn

from workbench.errors import WorkbenchError
from workbench.ui.application import ApplicationPage
from workbench.ui.common import EXTENSIONS, error_page, snapshot_argument

pn.extension(*EXTENSIONS, loading_indicator=True)
hv.extension("bokeh", logo=False)


def build() -> pn.template.BaseTemplate:
    """A fresh page for this browser session (nothing is shared between sessions)."""
    snapshot = snapshot_argument()
    try:
        return ApplicationPage(snapshot, load=False).page()
    except WorkbenchError as err:
        return error_page("application", snapshot=snapshot, error=err)


if __name__.startswith("bokeh"):
    build().servable(title="Application")
