"""Object manifest history: an object's revisions over a period next to its Warning events, a
diff of its manifest between two moments, and a cluster-wide "what changed" list.

>>> from workbench.analyses import manifests
>>> manifests.revisions(ds, "Deployment", "shop", "checkout", cluster="eks-prod-us-east-1")   # doctest: +SKIP
>>> d = manifests.diff(ds, "Node", None, "ip-10-0-0-43.ec2.internal", "2026-11-02T07:00Z", "2026-11-02T07:20Z")  # doctest: +SKIP
>>> print(d.text)                                                                 # doctest: +SKIP
>>> manifests.what_changed(ds, around="2026-11-02T07:15Z")                        # doctest: +SKIP

Every revision is a row of the ``objects`` table. Fields in :data:`NOISE` (resourceVersion,
managedFields, generation, observedGeneration, heartbeat and probe times, node images, the
Deployment revision and last-applied-configuration annotations) change without anyone changing
the object's intent; they are left out of diffs and change lists unless ``ignore_noise=False``
(or pass your own ``noise=`` paths; the syntax is in :func:`parse_path`).

Result columns:

- :func:`revisions`: :data:`REVISION_COLUMNS`, one row per revision in the period, oldest
  first; ``changes``/``categories``/``summary`` compare it with the revision before it (which
  may be older than the period); a new uid starts with category ``created``.
- :func:`timeline`: :data:`TIMELINE_COLUMNS`: the object's revisions and the events about it
  (for a workload also about its ReplicaSets/Jobs and its pods), oldest first.
- :func:`diff`: a :class:`ManifestDiff`: unified YAML diff, added and removed lines, and the
  field changes as :data:`FIELD_COLUMNS`.
- :func:`what_changed`: :data:`CHANGE_COLUMNS`: one row per changed field of any object in
  the window, nearest to ``around`` first (categories in :data:`CATEGORIES`).
- :func:`manifest_at`: one object's manifest (a dict) as of a moment; :func:`to_yaml` prints it.
"""

from workbench.analyses.manifests._changes import CHANGE_COLUMNS, DERIVED_KINDS, ChangeParams, what_changed
from workbench.analyses.manifests._diff import (
    CATEGORIES,
    NOISE,
    field_changes,
    parse_path,
    strip_noise,
    to_yaml,
)
from workbench.analyses.manifests._history import (
    FIELD_COLUMNS,
    REVISION_COLUMNS,
    TIMELINE_COLUMNS,
    HistoryParams,
    ManifestDiff,
    diff,
    object_events,
    related_names,
    revisions,
    timeline,
)
from workbench.analyses.manifests._objects import canonical_kind, manifest_at, object_revisions, snapshot_end

__all__ = [
    "CATEGORIES",
    "CHANGE_COLUMNS",
    "DERIVED_KINDS",
    "FIELD_COLUMNS",
    "NOISE",
    "REVISION_COLUMNS",
    "TIMELINE_COLUMNS",
    "ChangeParams",
    "HistoryParams",
    "ManifestDiff",
    "canonical_kind",
    "diff",
    "field_changes",
    "manifest_at",
    "object_events",
    "object_revisions",
    "parse_path",
    "related_names",
    "revisions",
    "snapshot_end",
    "strip_noise",
    "timeline",
    "to_yaml",
    "what_changed",
]
