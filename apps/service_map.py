"""Service map: who calls whom in the window, with calls, errors and latency per edge and
service, compared with a baseline window.

Served by ``workbench serve``: the snapshot is the URL's ``?snapshot=NAME`` (one of the served
snapshots) or the server's default; see :mod:`workbench.ui.serving`.
"""

from workbench.ui.common import serve_page
from workbench.ui.servicemap import ServiceMapPage

if __name__.startswith("bokeh"):  # run by ``panel serve``: one fresh page per browser session
    serve_page(ServiceMapPage, "service_map")
