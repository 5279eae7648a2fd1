"""Right-sizing: request and limit advice per workload container, with settings, totals and downloads.

Served by ``workbench serve``: the snapshot is the URL's ``?snapshot=NAME`` (one of the served
snapshots) or the server's default; see :mod:`workbench.ui.serving`.
"""

from workbench.ui.common import serve_page
from workbench.ui.rightsizing import RightSizingPage

if __name__.startswith("bokeh"):  # run by ``panel serve``: one fresh page per browser session
    serve_page(RightSizingPage, "right_sizing")
