"""Cluster: the node resource matrix, cluster-wide totals, problem pods and usage over time.

Served by ``workbench serve``: the snapshot is the URL's ``?snapshot=NAME`` (one of the served
snapshots) or the server's default; see :mod:`workbench.ui.serving`.
"""

from workbench.ui.cluster import ClusterPage
from workbench.ui.common import serve_page

if __name__.startswith("bokeh"):  # run by ``panel serve``: one fresh page per browser session
    serve_page(ClusterPage, "cluster")
