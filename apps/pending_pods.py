"""Pending pods: why pods cannot be scheduled, by QoS class and reason, and where they would fit.

Served by ``workbench serve``: the snapshot is the URL's ``?snapshot=NAME`` (one of the served
snapshots) or the server's default; see :mod:`workbench.ui.serving`.
"""

from workbench.ui.common import serve_page
from workbench.ui.pending import PendingPods

if __name__.startswith("bokeh"):  # run by ``panel serve``: one fresh page per browser session
    serve_page(PendingPods, "pending_pods")
