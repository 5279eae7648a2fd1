"""The snapshot manifest: what a snapshot holds, where its files are, and what went wrong.

A snapshot is a folder::

    manifest.json                  schema version, clusters, window, sources, warnings, tables
    pods/part-000001-1a2b3c4d.parquet
    metrics/cluster=eks-prod/date=2026-11-02/part-000007-5e6f7a8b.parquet
    ground_truth.json              (extra files, e.g. the demo's known incidents)

The manifest is the commit record: readers only read the data files it lists, so a file that a
crashed writer left behind is never seen, and replacing ``manifest.json`` (an atomic rename) is
what makes an append visible.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from workbench.errors import SnapshotError
from workbench.schema import SCHEMA_VERSION

__all__ = ["FORMAT", "MANIFEST", "new_manifest", "read_manifest", "write_json_atomic"]

FORMAT = "workbench-snapshot"
MANIFEST = "manifest.json"


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def new_manifest() -> dict[str, Any]:
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "created_at": now_iso(),
        "updated_at": now_iso(),
        "clusters": [],
        "window": {"start": None, "end": None},
        "sources": [],
        "warnings": [],
        "tables": {},
        "files": [],
    }


def read_manifest(folder: Path) -> dict[str, Any]:
    """Read and check ``folder/manifest.json``; errors name the file and what to do."""
    path = folder / MANIFEST
    if not folder.exists():
        msg = f"no snapshot at {folder}: the folder does not exist (create one with `workbench demo --out {folder}`)"
        raise SnapshotError(msg)
    if not path.is_file():
        msg = f"{folder} is not a snapshot: {MANIFEST} is missing (was the collection interrupted? collect again)"
        raise SnapshotError(msg)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        msg = f"{path} is corrupt ({err}); the snapshot cannot be read: collect it again"
        raise SnapshotError(msg) from err
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        msg = f'{path} is not a workbench snapshot manifest (no "format": "{FORMAT}")'
        raise SnapshotError(msg)
    version = manifest.get("schema_version")
    if not isinstance(version, int):
        msg = f"{path} has no schema_version; the snapshot is corrupt: collect it again"
        raise SnapshotError(msg)
    if version > SCHEMA_VERSION:
        msg = (
            f"{path} was written by a newer workbench (schema version {version}, this one reads up to "
            f"{SCHEMA_VERSION}); upgrade workbench to read it"
        )
        raise SnapshotError(msg)
    for key, default in new_manifest().items():
        manifest.setdefault(key, default)
    return manifest


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON to a temporary file beside ``path``, fsync it, then rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, indent=1, sort_keys=False, default=str)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
