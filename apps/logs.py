"""Log explorer: search and filter log lines, counts per level, pod, category and field,
volume by level, error bursts and new patterns.

Served by ``workbench serve``: the snapshot is the URL's ``?snapshot=NAME`` (one of the served
snapshots) or the server's default; see :mod:`workbench.ui.serving`.
"""

from workbench.ui.common import serve_page
from workbench.ui.logs import LogsPage

if __name__.startswith("bokeh"):  # run by ``panel serve``: one fresh page per browser session
    serve_page(LogsPage, "logs")
