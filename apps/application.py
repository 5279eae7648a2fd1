"""Application: TPS, response time, errors and active transactions per service, the hitmap
(X-View) whose box selection lists transactions, and a transaction's trace, logs and pod.

Served by ``workbench serve``: the snapshot is the URL's ``?snapshot=NAME`` (one of the served
snapshots) or the server's default; see :mod:`workbench.ui.serving`.
"""

from workbench.ui.application import ApplicationPage
from workbench.ui.common import serve_page

if __name__.startswith("bokeh"):  # run by ``panel serve``: one fresh page per browser session
    serve_page(ApplicationPage, "application", load=False)
