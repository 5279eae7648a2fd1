"""Where a file sits: the dump it belongs to, its cluster, and whose log it is.

Three dump layouts are recognised by their folders (never by the name of the top folder):

``cluster-info``
    ``kubectl cluster-info dump --output-directory=D``: ``D/nodes.json`` and per namespace
    ``D/<ns>/{pods,events,services,deployments,replicasets,daemonsets,replication-controllers}.json``
    (``.yaml`` with ``-o yaml``), and ``D/<ns>/<pod>/logs.txt`` with every container's log.
``must-gather``
    ``oc adm must-gather``: ``namespaces/<ns>/<ns>.yaml``, ``namespaces/<ns>/core/*.yaml``,
    ``namespaces/<ns>/pods/<pod>/<pod>.yaml``, container logs in
    ``namespaces/<ns>/pods/<pod>/<container>/<container>/logs/{current,previous}.log``,
    ``cluster-scoped-resources/...``.
``insights``
    an OpenShift Insights archive: ``config/pod/<ns>/<pod>.json``, ``config/node/*.json``,
    ``events/<ns>.json``, logs in ``config/pod/<ns>/logs/<pod>/*.log``, ``config/node/logs/*.log``
    and ``.../namespaces/<ns>/pods/<pod>/containers/<container>/logs/last-N-lines.log``.

Kubelet log paths are understood anywhere: ``.../pods/<ns>_<pod>_<uid>/<container>/N.log`` and
``.../containers/<pod>_<ns>_<container>-<id>.log``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

__all__ = ["Dump", "DumpFinder", "Place", "dump_cluster", "log_owner", "walk"]

log = logging.getLogger(__name__)

DumpKind = Literal["cluster-info", "must-gather", "insights"]

#: How far above a file a dump's root is looked for (an Insights container log sits 9 folders
#: below the archive's root).
_MAX_DEPTH = 10
_DUMP_LISTS = (
    "pods",
    "events",
    "services",
    "deployments",
    "replicasets",
    "daemonsets",
    "replication-controllers",
)
_MANIFEST_EXT = (".json", ".yaml", ".yml")
#: An obfuscated value in an Insights archive (``xxxxxxxx-xxxxx``) names nothing.
_OBFUSCATED = re.compile(r"[xX\-]*")
_KUBELET_CONTAINER_LOG = re.compile(r"(?P<pod>[^_]+)_(?P<ns>[^_]+)_(?P<container>.+)-[0-9a-f]{64}\.log")


@dataclass(frozen=True, slots=True)
class Dump:
    """A recognised dump: its layout, its root folder and the cluster it was taken from."""

    kind: DumpKind
    root: Path
    cluster: str


@dataclass(frozen=True, slots=True)
class Place:
    """One file to import: where it was found and what its path says about it."""

    path: Path
    #: The cluster its rows go to.
    cluster: str
    dump: Dump | None
    #: Named on the command line (not found by walking a folder).
    explicit: bool


def _has_manifest(folder: Path, stem: str) -> bool:
    return any((folder / f"{stem}{ext}").is_file() for ext in _MANIFEST_EXT)


def _dirs(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    except OSError:
        return []


def _is_insights(folder: Path) -> bool:
    config = folder / "config"
    if not config.is_dir():
        return False
    markers = ("pod", "node", "id", "version.json", "infrastructure.json", "clusteroperator")
    return (folder / "insights-operator").is_dir() or sum((config / m).exists() for m in markers) >= 2


def _is_must_gather(folder: Path) -> bool:
    namespaces = folder / "namespaces"
    if (folder / "cluster-scoped-resources").is_dir() and namespaces.is_dir():
        return True
    if not namespaces.is_dir():
        return False
    return any((ns / "core").is_dir() or _has_manifest(ns, ns.name) for ns in _dirs(namespaces))


def _is_cluster_info(folder: Path) -> bool:
    if not _has_manifest(folder, "nodes") and not (folder / "nodes.txt").is_file():
        return False
    return any(any(_has_manifest(ns, stem) for stem in _DUMP_LISTS) for ns in _dirs(folder))


def _dump_kind(folder: Path) -> DumpKind | None:
    if _is_insights(folder):
        return "insights"
    if _is_must_gather(folder):
        return "must-gather"
    if _is_cluster_info(folder):
        return "cluster-info"
    return None


class DumpFinder:
    """Finds the dump a folder belongs to; remembers what it saw during one import."""

    def __init__(self, *, cluster: str | None) -> None:
        self.cluster = cluster
        self._kinds: dict[Path, DumpKind | None] = {}
        self._dumps: dict[Path, Dump] = {}

    def _kind(self, folder: Path) -> DumpKind | None:
        if folder not in self._kinds:
            self._kinds[folder] = _dump_kind(folder)
        return self._kinds[folder]

    def find(self, folder: Path) -> Dump | None:
        """The outermost dump holding ``folder`` (at most :data:`_MAX_DEPTH` levels up), or
        ``None``. The outermost wins so that folders inside a dump that look like another
        layout (an Insights archive's ``conditional/namespaces/...``) are read as part of it."""
        found: tuple[DumpKind, Path] | None = None
        here = folder.resolve()
        for candidate in (here, *list(here.parents)[: _MAX_DEPTH - 1]):
            kind = self._kind(candidate)
            if kind is not None:
                found = (kind, candidate)
        if found is None:
            return None
        kind, root = found
        if root not in self._dumps:
            self._dumps[root] = Dump(kind, root, self.cluster or dump_cluster(kind, root))
            log.info("%s: %s dump of cluster %r", root, kind, self._dumps[root].cluster)
        return self._dumps[root]


def _named(value: object) -> str | None:
    if isinstance(value, str) and value.strip() and not _OBFUSCATED.fullmatch(value.strip()):
        return value.strip()
    return None


def _load(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as err:
        log.debug("cannot read %s for the cluster name: %s", path, err)
        return {}
    return data if isinstance(data, dict) else {}


def _folder_name(root: Path) -> str:
    """A dump's folder name; must-gather nests its data in a folder named after the image
    (``quay-io-…-sha256-…``): then the name of the folder around it."""
    if "sha256" in root.name and root.parent.name:
        return root.parent.name
    return root.name or "imported"


def dump_cluster(kind: DumpKind, root: Path) -> str:
    """The cluster a dump comes from: the infrastructure name, else the cluster id, else the
    folder name (values an Insights archive obfuscated to ``xxxx`` count as absent)."""
    if kind == "insights":
        config = root / "config"
        candidates = [
            lambda: (_load(config / "infrastructure.json").get("status") or {}).get("infrastructureName"),
            lambda: (_load(config / "version.json").get("spec") or {}).get("clusterID"),
            lambda: (config / "id").read_text(encoding="utf-8") if (config / "id").is_file() else None,
        ]
    elif kind == "must-gather":
        config = root / "cluster-scoped-resources" / "config.openshift.io"
        candidates = [
            lambda: (_load(config / "infrastructures" / "cluster.yaml").get("status") or {}).get(
                "infrastructureName"
            ),
            lambda: (_load(config / "clusterversions" / "version.yaml").get("spec") or {}).get("clusterID"),
        ]
    else:
        candidates = []
    for candidate in candidates:
        try:
            name = _named(candidate())
        except (OSError, UnicodeDecodeError, AttributeError):
            name = None
        if name:
            return name
    return _folder_name(root)


def log_owner(path: Path, dump: Dump | None) -> tuple[bool, str | None, str | None, str | None]:
    """``(is a log by its place, namespace, pod, container)`` from a file's path."""
    parts = path.parts
    name = path.name
    if dump is not None:
        resolved = path.resolve()
        rel = resolved.relative_to(dump.root).parts if resolved.is_relative_to(dump.root) else parts
        if dump.kind == "cluster-info" and name == "logs.txt" and len(rel) == 3:
            return True, rel[0], rel[1], None
        if dump.kind == "must-gather" and name.endswith(".log"):
            # namespaces/<ns>/pods/<pod>/<container>/<container>/logs/current.log
            if len(rel) == 8 and rel[0] == "namespaces" and rel[2] == "pods" and rel[6] == "logs":
                return True, rel[1], rel[3], rel[4]
            return True, None, None, None
        if dump.kind == "insights" and name.endswith(".log"):
            # config/pod/<ns>/logs/<pod>/<file>.log
            if len(rel) == 6 and rel[:2] == ("config", "pod") and rel[3] == "logs":
                return True, rel[2], rel[4], None
            # [conditional/]namespaces/<ns>/pods/<pod>/containers/<container>/logs/<file>.log
            if len(rel) >= 8 and rel[-2] == "logs" and rel[-4] == "containers" and rel[-6] == "pods":
                if rel[-8] == "namespaces":
                    return True, rel[-7], rel[-5], rel[-3]
            return True, None, None, None
    if name.endswith(".log") and len(parts) >= 3:
        # kubelet: /var/log/pods/<ns>_<pod>_<uid>/<container>/<n>.log
        owner = parts[-3].split("_")
        if len(owner) == 3 and len(parts) >= 4 and parts[-4] == "pods" and name[:-4].isdigit():
            return True, owner[0], owner[1], parts[-2]
        # kubelet: /var/log/containers/<pod>_<ns>_<container>-<64 hex>.log
        match = _KUBELET_CONTAINER_LOG.fullmatch(name)
        if match and parts[-2] == "containers":
            return True, match["ns"], match["pod"], match["container"]
    return False, None, None, None


def _default_cluster(path: Path) -> str:
    folder = path if path.is_dir() else path.parent
    return folder.resolve().name or "imported"


def walk(path: Path, *, cluster: str | None, finder: DumpFinder) -> Iterator[Place]:
    """The files to import for one path given on the command line, sorted, hidden ones left out.

    Files of a recognised dump go to the dump's cluster; the others to ``cluster`` or, without
    it, to a cluster named after the folder given (for a file: the folder holding it)."""
    loose = cluster or _default_cluster(path)
    if path.is_file():
        dump = finder.find(path.parent)
        yield Place(path, dump.cluster if dump else loose, dump, explicit=True)
        return
    dumps: dict[Path, Dump | None] = {}
    for file in sorted(path.rglob("*")):
        relative = file.relative_to(path).parts
        if any(part.startswith(".") for part in relative) or not file.is_file():
            continue
        folder = file.parent
        if folder not in dumps:
            dumps[folder] = finder.find(folder)
        dump = dumps[folder]
        yield Place(file, dump.cluster if dump else loose, dump, explicit=False)
