"""The one normaliser from Kubernetes manifests to the snapshot's typed tables.

Every source (live cluster, watch, offline dumps, files) hands its manifests to a
:class:`Normalizer`, so ``kubectl``-style status, workload resolution and quantities are computed
once, the same way, everywhere.

>>> from datetime import UTC, datetime
>>> n = Normalizer(cluster="c1")
>>> n.add({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop",
...        "uid": "u1", "labels": {"app": "web"}}, "status": {"phase": "Running"}},
...       observed_at=datetime(2024, 1, 1, tzinfo=UTC))
>>> n.add({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "token", "namespace": "shop"}})
>>> t = n.tables()
>>> t["pods"].select("name", "status", "workload_kind").row(0)
('web', 'Running', 'Pod')
>>> t["objects"].height, n.warnings[0].startswith("skipped Secret shop/token")
(1, True)
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import polars as pl

from workbench.errors import ParameterError, SchemaError
from workbench.kube._bulk import BulkRows, add_json, event_frame, load_split_kernels, mirrored_of, pod_frames
from workbench.kube._common import api_group, gc_paused, manifest_text, newest_timestamp, parse_json
from workbench.kube._frames import columns_of, frame
from workbench.kube.kinds import expand, is_list
from workbench.kube.pods import pod_rows
from workbench.kube.resources import event_name, event_row, node_row, service_row, workload_row
from workbench.schema import conform

__all__ = ["NORMALIZED_TABLES", "Normalizer", "load_kernels", "normalize", "normalize_json"]

logger = logging.getLogger(__name__)

#: The tables :meth:`Normalizer.tables` returns.
NORMALIZED_TABLES = ("objects", "pods", "containers", "nodes", "workloads", "services", "events")

#: (API group, kind) → the state table holding the object's latest revision. Other kinds (and
#: look-alikes from other groups, e.g. a Knative ``Service``) go to ``objects`` only.
_TABLE_OF = {
    ("", "Pod"): "pods",
    ("", "Node"): "nodes",
    ("", "Service"): "services",
    ("", "Event"): "events",
    ("events.k8s.io", "Event"): "events",
    **{
        (g, k): "workloads" for g in ("apps", "extensions") for k in ("Deployment", "ReplicaSet", "DaemonSet")
    },
    ("apps", "StatefulSet"): "workloads",
    ("batch", "Job"): "workloads",
    ("batch", "CronJob"): "workloads",
}


#: The columns of ``objects`` after ``cluster``, in the order :meth:`Normalizer._add_object` keeps them.
_OBJECT_COLUMNS = ("kind", "api_version", "namespace", "name", "uid", "resource_version", "observed_at",
                   "deleted", "manifest")  # fmt: skip


_BUILDERS = {"nodes": node_row, "workloads": workload_row, "services": service_row, "events": event_row}


@dataclass(slots=True)
class _Revision:
    obj: dict[str, Any]
    observed_at: datetime
    deleted: bool


def _text(value: object) -> str | None:
    if type(value) is str:
        return value or None
    return None if value is None or value == "" else str(value)


class Normalizer:
    """Collects manifests of any kind and turns them into the snapshot tables.

    Each :meth:`add` is one observed revision: it becomes an ``objects`` row (managedFields
    removed). The state tables (``pods``, ``containers``, ``nodes``, ``workloads``, ``services``,
    ``events``) hold the latest revision of each object by ``observed_at`` (ties: the later
    add wins), including objects whose latest revision was a deletion; for pods ``deleted`` is
    then the time the deletion was observed. Bad input never raises: it is skipped and
    described in :attr:`warnings`.

    Rules worth knowing:

    * Secrets (and SecretList items) are never stored. Lists are expanded; an item (or object)
      without ``kind`` gets it from its typed List, its selfLink or its shape, else is skipped.
    * An Event without ``metadata.name`` (Insights archives strip it) gets a stable name made
      of its reason and a hash of its content; any other kind without a name is skipped.
    * ``pods.status``, ``restarts`` and ``containers_ready/total`` are kubectl's STATUS,
      RESTARTS and READY; ``reason`` is :func:`~workbench.kube.status.pod_reason`.
    * Pod requests/limits follow the scheduler: the sum over app containers and sidecars, or
      the largest init container (plus earlier sidecars) when larger, plus ``spec.overhead``.
    * ``workload_kind/name``: ReplicaSet → its Deployment (from the ReplicaSet's own owner
      when that ReplicaSet was added, else when the pod's ``pod-template-hash`` label is the
      ReplicaSet name's suffix), Job → its CronJob (only from an added Job), no owner → the
      pod itself (kind ``Pod``), any other owner (DaemonSet, StatefulSet, Node…) as it is.
    * ``services.pods``: pods of the same namespace whose labels match the selector, leaving
      out pods whose latest revision is a deletion; an empty selector selects nothing.
    """

    def __init__(self, *, cluster: str) -> None:
        if not cluster or not isinstance(cluster, str):
            msg = "cluster must be a non-empty name, e.g. Normalizer(cluster='prod-eu')"
            raise ParameterError(msg)
        self.cluster = cluster
        #: One line per skipped or repaired input, naming what was wrong.
        self.warnings: list[str] = []
        self._objects: list[tuple[Any, ...]] = []  # one tuple of _OBJECT_COLUMNS per revision
        #: objects rows of add_json() calls: (len(self._objects) then, frame)
        self._object_chunks: list[tuple[int, pl.DataFrame]] = []
        #: key → latest revision: a _Revision, or the id of a row in a bulk batch (add_json)
        self._latest: dict[tuple[str, ...], _Revision | int] = {}
        self._bulk = BulkRows()

    def _warn(self, message: str) -> None:
        logger.warning("%s", message)
        self.warnings.append(message)

    def add(
        self,
        manifest: Mapping[str, Any],
        *,
        observed_at: datetime | None = None,
        deleted: bool = False,
        origin: str | None = None,
    ) -> None:
        """Add one manifest (any kind; a List adds each of its items).

        ``observed_at`` defaults to the newest timestamp the object carries (creation, status
        conditions, container states, event times), else now. ``deleted=True`` records a
        deletion. ``origin`` (e.g. ``"pods.yaml document 2"``) prefixes warnings.
        """
        _check_time(observed_at)
        where = f"{origin}: " if origin else ""
        if not isinstance(manifest, Mapping):
            self._warn(f"{where}skipped a manifest that is not a mapping but {type(manifest).__name__}")
            return
        listed = is_list(manifest)
        for index, obj in expand(dict(manifest)):
            self._add_object(obj, observed_at, where, index if listed else None, deleted=deleted)

    def add_json(
        self,
        raw: bytes,
        *,
        observed_at: datetime | None = None,
        deleted: bool = False,
        origin: str | None = None,
        fallback: bool = True,
    ) -> bool:
        """:meth:`add` of the JSON document ``raw`` (bytes as the API or ``kubectl get -o json``
        gives them), with the same result. A List of Pods or Events takes a compiled path
        (:mod:`workbench.kube._bulk`) that never builds the objects in Python; invalid JSON
        raises what :func:`~workbench.kube.parse_json` raises.

        Returns whether that path took the document. With ``fallback=False`` a document it does
        not take (too small, not a List, invalid JSON…) is left alone rather than read object by
        object, for callers that read such documents their own way. Warnings about a List's
        items are prefixed ``"{origin}: item N: "`` on either path."""
        _check_time(observed_at)
        where = f"{origin}: " if origin else ""
        if add_json(self, raw, observed_at=observed_at, deleted=deleted, where=where):
            return True
        if fallback:
            self.add(parse_json(raw), observed_at=observed_at, deleted=deleted, origin=origin)
        return False

    @property
    def revisions(self) -> int:
        """The objects added so far: the rows of the ``objects`` table, one per revision."""
        return len(self._objects) + sum(chunk.height for _, chunk in self._object_chunks)

    def _add_object(
        self, obj: object, observed_at: datetime | None, where: str, index: int | None, *, deleted: bool
    ) -> None:
        if not isinstance(obj, dict):
            self._warn(
                f"{_label(where, index)}skipped an item that is not a mapping but {type(obj).__name__}"
            )
            return
        kind = obj.get("kind")
        metadata = obj.get("metadata")
        if not isinstance(kind, str) or not kind:
            keys = ", ".join(sorted(map(str, obj))[:6])
            self._warn(
                f"{_label(where, index)}skipped an object without 'kind' (keys: {keys}); "
                "is it a Kubernetes object?"
            )
            return
        api_version = _text(obj.get("apiVersion")) or ""
        group = api_group(api_version)
        if kind == "Secret" and group == "":
            ns, name = (metadata or {}).get("namespace"), (metadata or {}).get("name")
            self._warn(f"{_label(where, index)}skipped Secret {ns}/{name}: Secrets are never collected")
            return
        table = _TABLE_OF.get((group, kind))
        if metadata is None and table == "events":
            metadata = {}
        if not isinstance(metadata, dict):
            self._warn(f"{_label(where, index)}skipped a {kind} without 'metadata'")
            return
        name = metadata.get("name")
        if type(name) is not str or not name:
            name = _text(name)
            if name is None and table == "events":
                name = event_name(obj)
            if name is None:
                self._warn(f"{_label(where, index)}skipped a {kind} without 'metadata.name'")
                return
        if "managedFields" in metadata:
            metadata = dict(metadata)
            del metadata["managedFields"]
            obj = {**obj, "metadata": metadata}
        namespace = metadata.get("namespace")
        if type(namespace) is not str or not namespace:
            namespace = _text(namespace)
            if namespace is None and table == "events":
                namespace = _text(obj.get("namespace"))
        try:
            when = observed_at or newest_timestamp(obj) or datetime.now(UTC)
            text = manifest_text(obj)
        except (TypeError, ValueError, AttributeError) as err:
            self._warn(
                f"{_label(where, index)}skipped {kind} {namespace}/{name}: it cannot be stored as JSON ({err})"
            )
            return
        uid, version = metadata.get("uid"), metadata.get("resourceVersion")
        uid = uid if type(uid) is str and uid else _text(uid)
        version = version if type(version) is str and version else _text(version)
        self._objects.append((kind, api_version or None, namespace, name, uid, version, when, deleted, text))
        if table is None:
            return
        if table == "pods":
            key: tuple[str, ...] = (table, uid or f"{namespace}/{name}")
        elif table == "workloads":
            key = (table, kind, namespace or "", name)
        else:
            key = (table, namespace or "", name)
        if self._bulk.pending:
            self._bulk.settle(self._latest)
        previous = self._latest.get(key)
        if previous is None or when >= self._observed(previous):
            self._latest[key] = _Revision(obj, when, deleted)

    def _observed(self, revision: _Revision | int) -> datetime:
        return self._bulk.observed_at(revision) if type(revision) is int else revision.observed_at

    def tables(self) -> dict[str, pl.DataFrame]:
        """The tables ``objects, pods, containers, nodes, workloads, services, events``, each
        conformed to :mod:`workbench.schema` (empty tables have the right columns). Well-formed
        pods take a one-pass path (:mod:`workbench.kube._podfast`) that gives the same rows."""
        with gc_paused():
            return self._tables()

    def _tables(self) -> dict[str, pl.DataFrame]:
        rows: dict[str, list[dict[str, Any]]] = {t: [] for t in NORMALIZED_TABLES}
        owners: dict[tuple[str, str, str], tuple[str, str] | None] = {}
        pods: list[tuple[_Revision, dict[str, Any], list[dict[str, Any]]]] = []
        services: list[tuple[_Revision, dict[str, Any]]] = []
        bulk: dict[str, list[tuple[int, int]] | np.ndarray] = {"pods": [], "events": []}
        # bulk rows whose keys were never settled into _latest (which is then empty)
        bulk.update(self._bulk.unsettled(self._latest))
        ordinal = {"pods": 0, "events": 0}
        pod_pos: list[int] = []
        event_pos: list[int] = []
        for key, rev in self._latest.items():
            table = key[0]
            if table in ordinal:
                ordinal[table] += 1
                if type(rev) is int:
                    bulk[table].append((ordinal[table], rev))  # type: ignore[union-attr]
                    continue
            if table == "pods":
                built = self._pod(rev)
                if built is not None:
                    pods.append((rev, *built))
                    pod_pos.append(ordinal["pods"])
                continue
            row = self._build(table, rev)
            if row is None:
                continue
            if table == "services":
                services.append((rev, row))
            else:
                rows[table].append(row)
                if table == "events":
                    event_pos.append(ordinal["events"])
            if table == "workloads" and row["kind"] in ("ReplicaSet", "Job"):
                owner = (row["owner_kind"], row["owner_name"]) if row["owner_kind"] else None
                owners[(row["kind"], row["namespace"] or "", row["name"])] = owner
        by_label: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        selected = _selector_keys(services)  # only these labels can select a pod
        mirrored = _mirrored_static_pods(pods) | mirrored_of(self._bulk, bulk["pods"])
        positions: dict[str, list[int]] = {"pods": [], "containers": []}
        for (rev, row, containers), pos in zip(pods, pod_pos, strict=True):
            if (row["namespace"], row["name"], row["uid"]) in mirrored:
                continue  # the kubelet's own view of a static pod the API lists as its mirror pod
            positions["pods"].append(pos)
            positions["containers"] += [pos] * len(containers)
            labels = (rev.obj.get("metadata") or {}).get("labels")
            labels = labels if isinstance(labels, dict) else {}
            row["workload_kind"], row["workload_name"] = _workload(row, labels, owners)
            row["deleted"] = rev.observed_at if rev.deleted else None
            rows["pods"].append(row)
            rows["containers"].extend(containers)
            if selected and not rev.deleted:
                for label, value in labels.items():
                    if str(label) in selected:
                        by_label[(row["namespace"] or "", str(label), str(value))].add(row["name"])
        bulk_frames = (
            pod_frames(self._bulk, bulk["pods"], owners, mirrored, selected, by_label)
            if len(bulk["pods"])
            else None
        )
        for rev, row in services:
            selector = (rev.obj.get("spec") or {}).get("selector")
            if isinstance(selector, dict) and selector:
                ns = row["namespace"] or ""
                sets = [by_label.get((ns, str(k), str(v)), set()) for k, v in selector.items()]
                row["pods"] = sorted(set.intersection(*sets))
            rows["services"].append(row)
        tables = {"objects": self._objects_frame()}
        if not len(bulk["pods"]) and not len(bulk["events"]):
            for table, table_rows in rows.items():
                if table != "objects":
                    tables[table] = self._conform(table, table_rows)
            return tables
        positions["events"] = event_pos
        extra: dict[str, list[pl.DataFrame]] = {"pods": [], "containers": [], "events": []}
        if bulk_frames is not None:
            extra["pods"].append(bulk_frames[0])
            extra["containers"].append(bulk_frames[1])
        if len(bulk["events"]):
            extra["events"].append(event_frame(self._bulk, bulk["events"]))
        for table, table_rows in rows.items():
            if table == "objects":
                continue
            if table not in extra:
                tables[table] = self._conform(table, table_rows)
                continue
            own = self._conform(table, table_rows, positions[table])
            if not own.height and len(extra[table]) == 1 and extra[table][0]["__pos"].is_sorted():
                tables[table] = extra[table][0].drop("__pos")  # bulk rows only, in order
                continue
            merged = pl.concat([own, *extra[table]]).sort("__pos", maintain_order=True)
            tables[table] = merged.drop("__pos")
        return tables

    def _objects_frame(self) -> pl.DataFrame:
        if not self._object_chunks:
            return self._frame_of_tuples(self._objects)
        parts, done = [], 0
        for at, chunk in self._object_chunks:
            if at > done:
                parts.append(self._frame_of_tuples(self._objects[done:at]))
            parts.append(chunk)
            done = at
        if len(self._objects) > done:
            parts.append(self._frame_of_tuples(self._objects[done:]))
        return pl.concat(parts)

    def _frame_of_tuples(self, objects: list[tuple[Any, ...]]) -> pl.DataFrame:
        if not objects:
            return self._conform("objects", [])
        columns = dict(zip(_OBJECT_COLUMNS, map(list, zip(*objects, strict=True)), strict=True))
        columns["cluster"] = [self.cluster] * len(objects)
        try:
            return frame("objects", columns)
        except SchemaError:
            rows = [{"cluster": self.cluster, **dict(zip(_OBJECT_COLUMNS, o, strict=True))} for o in objects]
            return self._conform("objects", rows)

    def _pod(self, rev: _Revision) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """A pod's row and its container rows, or ``None`` (with a warning) when malformed."""
        try:
            return pod_rows(rev.obj, cluster=self.cluster, observed_at=rev.observed_at)
        except (AttributeError, TypeError, ValueError, KeyError) as err:
            self._malformed(rev, "pods", err)
            return None

    def _build(self, table: str, rev: _Revision) -> dict[str, Any] | None:
        """One state row; a malformed object is skipped with a warning instead of failing the
        whole table."""
        try:
            return _BUILDERS[table](rev.obj, cluster=self.cluster, observed_at=rev.observed_at)
        except (AttributeError, TypeError, ValueError, KeyError) as err:
            self._malformed(rev, table, err)
            return None

    def _malformed(self, rev: _Revision, table: str, err: Exception) -> None:
        metadata = rev.obj.get("metadata") or {}
        what = f"{rev.obj.get('kind')} {metadata.get('namespace')}/{metadata.get('name')}"
        self._warn(f"left {what} out of the {table} table: its manifest is malformed ({err!r})")

    def _conform(
        self, table: str, rows: list[dict[str, Any]], positions: list[int] | None = None
    ) -> pl.DataFrame:
        """The rows as the table; rows that do not fit are dropped with a warning. With
        ``positions`` (one per row) the frame has them as an extra column ``__pos``."""
        kept = positions
        try:
            result = frame(table, columns_of(rows))
        except SchemaError:
            good, kept = [], []
            for i, row in enumerate(rows):
                try:
                    conform(table, [row])
                except SchemaError as err:
                    self._warn(f"dropped {table} row {row.get('namespace')}/{row.get('name')}: {err}")
                else:
                    good.append(row)
                    if positions is not None:
                        kept.append(positions[i])
            result = conform(table, good)
        if positions is None:
            return result
        return result.with_columns(__pos=pl.Series(kept, dtype=pl.Int64))


def _check_time(observed_at: object) -> None:
    if observed_at is not None and (not isinstance(observed_at, datetime) or observed_at.tzinfo is None):
        msg = f"observed_at must be a timezone-aware datetime (e.g. datetime.now(UTC)), got {observed_at!r}"
        raise ParameterError(msg)


def _label(where: str, index: int | None) -> str:
    """The prefix of a warning about one object: its origin and, for a List item, its index."""
    return where if index is None else f"{where}item {index}: "


def _workload(
    row: Mapping[str, Any],
    labels: Mapping[str, Any],
    owners: Mapping[tuple[str, str, str], tuple[str, str] | None],
) -> tuple[str, str]:
    """The workload a pod belongs to: ReplicaSet → its Deployment, Job → its CronJob, no owner →
    the pod itself, anything else as it is."""
    kind, name = row["owner_kind"], row["owner_name"]
    if kind is None:
        return "Pod", row["name"]
    namespace = row["namespace"] or ""
    if kind in ("ReplicaSet", "Job"):
        if (kind, namespace, name) in owners:
            return owners[(kind, namespace, name)] or (kind, name)
        template_hash = labels.get("pod-template-hash") if isinstance(labels, Mapping) else None
        if kind == "ReplicaSet" and template_hash and name.endswith(f"-{template_hash}"):
            return "Deployment", name[: -len(template_hash) - 1]
    return kind, name


class _HasObj:  # the shape of workbench.sources.files.Manifest, without importing sources
    obj: Mapping[str, Any]
    origin: str


def normalize(
    manifests: Iterable[Mapping[str, Any] | _HasObj], *, cluster: str, observed_at: datetime | None = None
) -> dict[str, pl.DataFrame]:
    """Normalise many manifests at once: dicts, or items of :func:`workbench.sources.files.read_manifests`
    (whose origin then prefixes warnings, which are logged). Python's cyclic garbage collector is
    paused meanwhile (see :func:`~workbench.kube._common.gc_paused`): it would otherwise walk the
    parsed manifests over and over and find nothing to free."""
    normalizer = Normalizer(cluster=cluster)
    with gc_paused():
        for manifest in manifests:
            if isinstance(manifest, Mapping):
                normalizer.add(manifest, observed_at=observed_at)
            else:
                normalizer.add(
                    manifest.obj, observed_at=observed_at, origin=getattr(manifest, "origin", None)
                )
        return normalizer.tables()


def normalize_json(
    raw: bytes, *, cluster: str, observed_at: datetime | None = None
) -> dict[str, pl.DataFrame]:
    """The tables of one JSON document (a List as ``kubectl get -o json`` or the API gives it):
    :meth:`Normalizer.add_json`, whose compiled path reads a PodList or EventList 3.5–6.5 times
    faster than parsing it and calling :func:`normalize` (21–28 times the kubernetes client),
    with the same tables. Without ``observed_at`` each object is observed at the newest time
    it carries, as :meth:`Normalizer.add` does.

    >>> import json
    >>> from datetime import UTC, datetime
    >>> raw = json.dumps({"apiVersion": "v1", "kind": "PodList", "items": [{"apiVersion": "v1",
    ...     "kind": "Pod", "metadata": {"name": "web", "namespace": "shop", "uid": "u1"},
    ...     "status": {"phase": "Running"}}]}).encode()
    >>> normalize_json(raw, cluster="c1", observed_at=datetime(2024, 1, 1, tzinfo=UTC))["pods"]["status"][0]
    'Running'
    """
    normalizer = Normalizer(cluster=cluster)
    normalizer.add_json(raw, observed_at=observed_at)
    return normalizer.tables()


def load_kernels() -> None:
    """Load the compiled code of :func:`normalize_json` now rather than on the first large List
    a process reads: about 0.4 s from numba's cache (and, the first time after an install,
    about 20 s to compile it). A server or a benchmark calls it with its imports."""
    pod = {
        "metadata": {"name": "web-0", "namespace": "shop", "uid": "u0", "resourceVersion": "1",
                     "creationTimestamp": "2024-05-01T12:00:00Z", "labels": {"app": "web", "pod-template-hash": "5d"},
                     "annotations": {"note": "x"}, "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                     "name": "web-5d", "uid": "r1", "controller": True}],
                     "managedFields": [{"manager": "kubelet", "operation": "Update"}]},
        "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "web:1", "resources": {
                 "requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}}}]},
        "status": {"phase": "Running", "podIP": "10.0.0.1", "hostIP": "10.1.0.1", "qosClass": "Burstable",
                   "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2024-05-01T12:00:05Z"}],
                   "containerStatuses": [{"name": "app", "ready": True, "restartCount": 1, "image": "web:1",
                                          "state": {"running": {"startedAt": "2024-05-01T12:00:03Z"}},
                                          "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                                                        "finishedAt": "2024-05-01T12:00:02Z"}}}]},
    }  # fmt: skip
    event = {
        "metadata": {"name": "web-0.1", "namespace": "shop", "uid": "e0", "resourceVersion": "2",
                     "creationTimestamp": "2024-05-01T12:00:00Z"},
        "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "web-0", "uid": "u0"},
        "type": "Warning", "reason": "BackOff", "message": "Back-off restarting failed container",
        "firstTimestamp": "2024-05-01T12:00:00Z", "lastTimestamp": "2024-05-01T12:01:00Z", "count": 3,
        "source": {"component": "kubelet", "host": "n1"},
    }  # fmt: skip
    at = datetime(2024, 5, 1, 12, 5, tzinfo=UTC)
    for kind, item in (("Pod", pod), ("Event", event)):
        typed = [{**item, "metadata": {**item["metadata"], "name": f"{item['metadata']['name']}-{i}"}}
                 for i in range(40)]  # fmt: skip
        for items in (typed, [{"apiVersion": "v1", "kind": kind, **i} for i in typed]):
            doc = {"apiVersion": "v1", "kind": f"{kind}List", "items": items}
            normalize_json(orjson.dumps(doc), cluster="warm-up", observed_at=at)
            normalize_json(json.dumps(doc, indent=1).encode(), cluster="warm-up", observed_at=at)
        normalize_json(orjson.dumps(doc), cluster="warm-up")  # each object's own time
    load_split_kernels(orjson.dumps(doc))  # what only Lists of 1 MiB or more use


def _selector_keys(services: list[tuple[_Revision, dict[str, Any]]]) -> set[str]:
    """The label keys the services' selectors use."""
    keys: set[str] = set()
    for rev, _ in services:
        selector = (rev.obj.get("spec") or {}).get("selector")
        if isinstance(selector, dict):
            keys.update(map(str, selector))
    return keys


def _mirrored_static_pods(pods: list[tuple[_Revision, dict[str, Any], Any]]) -> set[tuple[Any, Any, Any]]:
    """Static pods seen twice: the kubelet's ``/pods`` lists them under their config hash as
    uid, the API under the mirror pod's uid with annotation ``kubernetes.io/config.mirror``
    holding that hash. Returns (namespace, name, uid) of the kubelet copies to drop."""
    out = set()
    for rev, row, _ in pods:
        annotations = (rev.obj.get("metadata") or {}).get("annotations")
        mirror = annotations.get("kubernetes.io/config.mirror") if isinstance(annotations, dict) else None
        if mirror and mirror != row["uid"]:
            out.add((row["namespace"], row["name"], mirror))
    return out
