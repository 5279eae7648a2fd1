"""Performance browser: a workload's pods and chosen metrics side by side on one time axis.

Served by ``workbench serve``: the snapshot is the URL's ``?snapshot=NAME`` (one of the served
snapshots) or the server's default; see :mod:`workbench.ui.serving`.
"""

from workbench.ui.common import serve_page
from workbench.ui.performance import PerformancePage

if __name__.startswith("bokeh"):  # run by ``panel serve``: one fresh page per browser session
    serve_page(PerformancePage, "performance")
