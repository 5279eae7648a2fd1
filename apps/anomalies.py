"""Anomalies: scored anomalous intervals of container metrics, service spans and log patterns,
with the series, its expected band and its change points.

Served by ``workbench serve``: the snapshot is the URL's ``?snapshot=NAME`` (one of the served
snapshots) or the server's default; see :mod:`workbench.ui.serving`.
"""

from workbench.ui.anomalies import AnomaliesPage
from workbench.ui.common import serve_page

if __name__.startswith("bokeh"):  # run by ``panel serve``: one fresh page per browser session
    serve_page(AnomaliesPage, "anomalies", load=False)
