"""Manifest history: an object's revisions next to its Warning events, a diff between two moments, and what changed.

Served by ``workbench serve``: the snapshot is the URL's ``?snapshot=NAME`` (one of the served
snapshots) or the server's default; see :mod:`workbench.ui.serving`.
"""

from workbench.ui.common import serve_page
from workbench.ui.manifests import ManifestHistory

if __name__.startswith("bokeh"):  # run by ``panel serve``: one fresh page per browser session
    serve_page(ManifestHistory, "manifest_history")
