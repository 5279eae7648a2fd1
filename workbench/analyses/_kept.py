"""Results kept per process for a version of a snapshot: :func:`kept` (a small LRU per kind,
safe across threads) keyed on :func:`signature` (what changes when a snapshot grows)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from workbench.store import Dataset

__all__ = ["kept", "signature"]

T = TypeVar("T")
_KEPT: dict[str, OrderedDict[Hashable, Any]] = {}
_LOCK = threading.Lock()


def signature(ds: Dataset) -> tuple[Any, ...]:
    """What identifies a version of a snapshot (its path, ``updated_at``, and each table's
    rows and files, as its manifest says): a key part of what :func:`kept` keeps."""
    tables = ds.manifest.get("tables", {})
    return (
        str(ds.path),
        ds.manifest.get("updated_at"),
        tuple((t, int(v.get("rows", 0)), len(v.get("files", []))) for t, v in sorted(tables.items())),
    )


def kept(kind: str, key: Hashable, compute: Callable[[], T], *, size: int) -> T:
    """``compute()``, kept for ``key`` among the last ``size`` keys of ``kind`` (per process;
    ``key`` holds the snapshot's :func:`signature`, so a snapshot that grew is read again)."""
    with _LOCK:
        items = _KEPT.setdefault(kind, OrderedDict())
        if key in items:
            items.move_to_end(key)
            return items[key]  # type: ignore[no-any-return]
    value = compute()
    with _LOCK:
        items[key] = value
        while len(items) > size:
            items.popitem(last=False)
    return value
