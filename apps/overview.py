"""Overview: what the snapshot holds, pods by status, the problem pods, incidents, warnings.

Served by ``workbench serve``: the snapshot is the URL's ``?snapshot=NAME`` (one of the served
snapshots) or the server's default; see :mod:`workbench.ui.serving`.
"""

from workbench.ui import Overview
from workbench.ui.common import serve_page

if __name__.startswith("bokeh"):  # run by ``panel serve``: one fresh page per browser session
    serve_page(Overview, "overview")
