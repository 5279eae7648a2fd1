"""Pod start: pods created in the window and, for one, its Pending → Running → Stable phases and advice.

Served by ``workbench serve``: the snapshot is the URL's ``?snapshot=NAME`` (one of the served
snapshots) or the server's default; see :mod:`workbench.ui.serving`.
"""

from workbench.ui.common import serve_page
from workbench.ui.podstart import PodStartPage

if __name__.startswith("bokeh"):  # run by ``panel serve``: one fresh page per browser session
    serve_page(PodStartPage, "pod_start")
