"""Pod view: pods as cards grouped by namespace, node, workload or service; problem pods stand out.

Served by ``workbench serve``: the snapshot is the URL's ``?snapshot=NAME`` (one of the served
snapshots) or the server's default; see :mod:`workbench.ui.serving`.
"""

from workbench.ui.common import serve_page
from workbench.ui.podview import PodView

if __name__.startswith("bokeh"):  # run by ``panel serve``: one fresh page per browser session
    serve_page(PodView, "pod_view")
