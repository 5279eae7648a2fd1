"""Resource browser: a table per kind and each object's Detail, YAML, Event, Log and Performance tabs.

Served by ``workbench serve``: the snapshot is the URL's ``?snapshot=NAME`` (one of the served
snapshots) or the server's default; see :mod:`workbench.ui.serving`.
"""

from workbench.ui.common import serve_page
from workbench.ui.resources import ResourceBrowser

if __name__.startswith("bokeh"):  # run by ``panel serve``: one fresh page per browser session
    serve_page(ResourceBrowser, "resources")
