"""Results kept per process for a version of a snapshot: :func:`kept` (a small LRU per kind,
safe across threads) keyed on :func:`signature` (what changes when a snapshot grows), and
:class:`KeptTables`, a snapshot whose small tables are read from memory."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from workbench.store import Dataset

__all__ = [
    "KEEP_BYTES",
    "KEEP_ROWS",
    "NOT_KEPT",
    "KeptTables",
    "kept",
    "kept_by_cluster",
    "kept_tables",
    "known",
    "signature",
]

T = TypeVar("T")
_KEPT: dict[str, OrderedDict[Hashable, Any]] = {}
_LOCK = threading.Lock()
#: (kind, key) → the lock held while that value is computed
_COMPUTING: dict[tuple[str, Hashable], threading.Lock] = {}


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
        # one computation per key at a time: a second caller (another session, a triage
        # thread) waits for the first one's result instead of reading the same data again
        computing = _COMPUTING.setdefault((kind, key), threading.Lock())
    with computing:
        with _LOCK:
            if key in items:
                items.move_to_end(key)
                return items[key]  # type: ignore[no-any-return]
        try:
            value = compute()
        except BaseException:
            with _LOCK:
                _COMPUTING.pop((kind, key), None)
            raise
        with _LOCK:
            items[key] = value
            while len(items) > size:
                items.popitem(last=False)
            _COMPUTING.pop((kind, key), None)
    return value


def known(kind: str, key: Hashable) -> bool:
    """Whether :func:`kept` keeps a value of ``kind`` for ``key`` (it may go before it is asked for)."""
    with _LOCK:
        return key in _KEPT.get(kind, ())


def kept_by_cluster(kind: str, keys: Mapping[str, Hashable], one: Callable[[str], T],
                    every: Callable[[], Mapping[str, T]], *, size: int) -> list[T]:  # fmt: skip
    """Each cluster's value of ``kind`` (``keys``: cluster → its key), in the order of ``keys``:
    kept per cluster, so a scope of every cluster takes what a scope of one found, and back.
    A missing one is ``one(cluster)``; when two or more are missing, ``every()`` makes them all
    in one pass (cluster → value) and each is kept on its own."""
    if len(keys) > 1 and sum(not known(kind, k) for k in keys.values()) > 1:
        values = every()
        for c, k in keys.items():
            kept(kind, k, lambda v=values[c]: v, size=size)
    return [kept(kind, k, lambda c=c: one(c), size=size) for c, k in keys.items()]


#: :class:`KeptTables` keeps a table's files in memory when the table has at most this many rows
#: and its files at most this many bytes on disk (in memory a table takes 5 to 20 times that:
#: manifests and log lines are compressed text).
KEEP_ROWS = 500_000
KEEP_BYTES = 4 << 20
#: Tables never kept by :class:`KeptTables`: the big ones, which have ways of their own to be
#: shared (a small snapshot's metric samples, the spans linked once).
NOT_KEPT = frozenset({"metrics", "spans"})
#: How many files :class:`KeptTables` keeps (the least recently used go first).
KEEP_FILES = 256


class KeptTables(Dataset):
    """A snapshot whose small tables (at most :data:`KEEP_ROWS` rows and :data:`KEEP_BYTES` on
    disk, not :data:`NOT_KEPT`) are read once per process: each of their files is read whole on
    first use and kept (by path, size and modification time, so a file written again is read
    again); a :meth:`scan` takes its files' rows from memory and filters (and, for a state
    table, keeps each object's newest row) as a scan of the files does: the same rows in the
    same order, without opening a file. Make one with :func:`kept_tables`; it shares the
    snapshot's manifest as it was then."""

    def __init__(self, ds: Dataset) -> None:  # noqa: D107 - the class says it
        # not Dataset.__init__: the manifest is taken over, not read again
        self.__dict__.update(ds.__dict__)
        self._of = ds

    def _small(self, table: str) -> bool:
        """Whether ``table`` is kept (:func:`_small_table`; asked once per table)."""
        small: dict[str, bool] = self.__dict__.setdefault("_small_tables", {})
        if table not in small:
            small[table] = _small_table(self, table)
        return small[table]

    def refresh(self) -> Dataset:
        """Re-read the manifest (this copy's; the snapshot it was made of keeps its own)."""
        super().refresh()
        self.__dict__.pop("_small_tables", None)
        return self

    @property
    def _series(self) -> pl.DataFrame:  # type: ignore[override]
        """The snapshot's series, as the snapshot keeps them (read once for it, not for each
        copy) while it has the same manifest."""
        if self._of.manifest is self.manifest:
            return self._of._series
        return super()._series

    def _read(self, table: str, files: list[Path]) -> pl.LazyFrame:
        if not files or not self._small(table):
            return super()._read(table, files)
        frames = [_kept_file(self, table, f) for f in files]
        return (frames[0] if len(frames) == 1 else pl.concat(frames)).lazy()


def _small_table(ds: Dataset, table: str) -> bool:
    """Whether :class:`KeptTables` keeps ``table`` of ``ds`` in memory."""
    if table in NOT_KEPT or ds.row_counts.get(table, 0) > KEEP_ROWS:
        return False
    return sum(path.stat().st_size for path in ds.files(table)) <= KEEP_BYTES


def _kept_file(ds: Dataset, table: str, path: Path) -> pl.DataFrame:
    """The rows of one file of ``table``, read as a scan of ``ds`` reads them
    (:meth:`Dataset._read`), kept by path, size and mtime."""
    st = path.stat()
    key = (str(path), table, st.st_size, st.st_mtime_ns)
    return kept("table file", key, lambda: Dataset._read(ds, table, [path]).collect(), size=KEEP_FILES)


def kept_tables(ds: Dataset) -> Dataset:
    """``ds`` as a :class:`KeptTables` (itself when it is one already)."""
    return ds if isinstance(ds, KeptTables) else KeptTables(ds)
