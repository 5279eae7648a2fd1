"""The bulk path from a List's JSON bytes to the normaliser's tables (3.5–6.5× parsing and then
the per-object path on a PodList or EventList, 21–28× the kubernetes client: benchmark B3).

:meth:`workbench.kube.normalize.Normalizer.add_json` hands a List here. The document is read
once into a tape by compiled code (:mod:`._json_kernel`), never into Python objects; core/v1
Pods and Events then become columns straight from the tape (:mod:`._bulk_kernel`), with the
same values the per-object path gives:

* each item's manifest text is what ``orjson.dumps`` writes of the parsed item without
  ``metadata.managedFields``: a view into the List's own bytes where they already are that
  text, else written from the tape;
* text columns are Arrow string views too, into the List's bytes where a value is its string's
  bytes (copied only where a string has escapes or two are joined, as an event's source); the
  event message is stripped and its type checked in the same pass;
* the pod rules (kubectl status and READY/RESTARTS, the reason, QoS, the scheduler's requests
  and limits, the owner, the container rows' states and reasons) are computed by the
  per-object code once per *signature*: what those rules read of a pod and nothing that differs
  between replicas (names, uids, IPs, times, labels). Pods with the same signature get the same
  rule results; their own names, times, IPs, labels and annotations come from the tape.

Lists of 1 MiB or more are read by two threads (the kernels release the GIL): the tape in two
halves split between two items (:meth:`_Tape.split`), then each kernel (the text columns'
too) takes half of the items, and the manifest, time and map columns are built in a worker.

Anything unusual goes to the per-object path, item by item (another kind, a kind to infer, a
value of an odd type, a number ``orjson`` might read as a float, a duplicate or escaped key, a
signature whose pod the fast per-object code does not take), or as a whole document (JSON that
``orjson`` refuses, so that the same error is raised; not a List).

Without ``observed_at`` each object is observed at the newest time it carries, as
:func:`~workbench.kube._common.newest_timestamp` reads it (:func:`K.newest_times` reads the same
texts in the tape), else at the time of the call; the bulk rows then hold one time each
(:data:`When`).

``tests/unit/kube/test_kube_bulk.py`` checks that both paths give the same tables.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import repeat
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import polars as pl
import pyarrow as pa

from workbench.errors import SchemaError
from workbench.kube import _bulk_kernel as K
from workbench.kube import _json_kernel as J
from workbench.kube._common import gc_paused, parse_json, parse_time
from workbench.kube._frames import columns_of, frame
from workbench.kube._podfast import fast_pod_rows
from workbench.kube.kinds import expand
from workbench.schema import SCHEMAS, TS, conform

if TYPE_CHECKING:
    from workbench.kube.normalize import Normalizer

__all__ = ["Batch", "BulkRows", "add_json", "event_frame", "load_split_kernels", "mirrored_of", "pod_frames"]

#: Smaller documents are read by the per-object path (the tape's set-up is not worth it).
MIN_BYTES = 4096
_R = TypeVar("_R")
#: When bulk rows were observed: one time for all, or each row's own (µs since the epoch).
When = datetime | np.ndarray
#: Lists at least this large are read by two threads (:func:`add_json`)
THREADED_BYTES = 1 << 20
#: and a kernel's items are split in halves when there are at least this many
SPLIT_ITEMS = 2000
#: the most bytes one chunk of text columns copies (:func:`K.text_views`; its views hold int32 offsets)
_VIEW_LIMIT = 2**31 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Pod columns the per-pod values fill; the others come from the signature's representative.
_OWN = ("cluster", "namespace", "name", "uid", "node", "created", "scheduled", "initialized", "ready_time",
        "pod_ip", "host_ip", "labels", "annotations", "observed_at")  # fmt: skip
_OWN_CONTAINER = ("cluster", "namespace", "pod", "pod_uid", "started_at", "last_finished_at", "observed_at")
_FIELD = {name: i for i, name in enumerate(K.POD_FIELDS)}
_EFIELD = {name: i for i, name in enumerate(K.EVENT_FIELDS)}
_UID = pl.col("uid")
#: a bulk row's key in ``Normalizer._latest`` (after the table's name), from its objects row
_KEY = {
    "pods": [pl.when(_UID.is_not_null() & (_UID != "")).then(_UID)
             .otherwise(pl.concat_str([pl.col("namespace").fill_null("None"), pl.lit("/"), pl.col("name")]))
             .alias("key")],
    "events": [pl.col("namespace").fill_null(""), pl.col("name")],
}  # fmt: skip


@dataclass(slots=True)
class Batch:
    """The bulk rows of one :func:`add_json`: ``pods`` (with ``__template_hash`` and
    ``__mirror``), ``containers`` (with ``__row``, the pod's row in ``pods``) and ``events``."""

    pods: pl.DataFrame | None = None
    containers: pl.DataFrame | None = None
    events: pl.DataFrame | None = None


class BulkRows:
    """Ids of the rows in :class:`Batch` tables, for ``Normalizer._latest`` to hold as plain
    ints: each batch table's rows have consecutive ids from their part's base.

    A List read whole by the bulk path leaves its keys :attr:`pending` rather than putting them
    in ``Normalizer._latest`` one by one: :meth:`settle` puts them there (as item by item would)
    before anything else reads or changes it, and a Normalizer holding nothing else takes the
    latest rows straight from the keys (:meth:`unsettled`)."""

    def __init__(self) -> None:
        self.bases: list[int] = []
        #: per part: (table, batch, observed_at, deleted)
        self.parts: list[tuple[str, Batch, When, bool]] = []
        self.next = 0
        #: keys of bulk rows not yet in ``Normalizer._latest``, in the order they were added
        self.pending: list[_Keys] = []

    def add(self, table: str, batch: Batch, count: int, observed_at: When, *, deleted: bool) -> int:
        """Room for ``count`` rows; returns the first id."""
        base = self.next
        self.bases.append(base)
        self.parts.append((table, batch, observed_at, deleted))
        self.next += count
        return base

    def observed_at(self, row: int) -> datetime:
        p = bisect_right(self.bases, row) - 1
        return _at(self.parts[p][2], row - self.bases[p])

    def settle(self, latest: dict[tuple[Any, ...], Any]) -> None:
        """Put the :attr:`pending` keys into ``latest`` (key → revision or row id) as adding
        their items one by one would have: a key keeps its first place and takes the last
        row, unless ``latest`` holds a revision observed later."""
        pending, self.pending = self.pending, []
        for block in pending:
            fresh = block.latest()
            for key in [k for k in fresh if k in latest]:
                held = latest[key]
                if _at(block.observed_at, fresh[key] - block.base) < (
                    self.observed_at(held) if type(held) is int else held.observed_at
                ):
                    del fresh[key]
            latest.update(fresh)

    def unsettled(self, latest: dict[tuple[Any, ...], Any]) -> dict[str, np.ndarray]:
        """With nothing in ``latest`` and at most one pending block per table: table → its
        latest rows as ``(position, id)`` pairs (what :meth:`settle` and a walk over ``latest``
        would give), leaving them pending. Otherwise the keys are settled and nothing returned."""
        tables = [block.table for block in self.pending]
        if latest or len(set(tables)) < len(tables):
            self.settle(latest)
            return {}
        return {block.table: block.refs() for block in self.pending}

    def groups(
        self, refs: list[tuple[int, int]] | np.ndarray
    ) -> list[tuple[Batch, np.ndarray, np.ndarray, bool]]:
        """``(position, id)`` pairs grouped by part: (batch, rows in its table, positions,
        deleted)."""
        pairs = np.asarray(refs, np.int64).reshape(-1, 2)
        part = np.searchsorted(np.array(self.bases, np.int64), pairs[:, 1], side="right") - 1
        out = []
        for p in np.unique(part).tolist():
            sel = part == p
            _, batch, _, deleted = self.parts[p]
            out.append((batch, pairs[sel, 1] - self.bases[p], pairs[sel, 0], deleted))
        return out


def _at(when: When, row: int) -> datetime:
    """The time of row ``row`` of a part or block observed ``when``."""
    if isinstance(when, datetime):
        return when
    return _EPOCH + timedelta(microseconds=int(when[row]))


@dataclass(slots=True)
class _Keys:
    """The ``Normalizer._latest`` keys of one bulk table's rows ``base…``: ``(table, *keys)``."""

    table: str
    keys: pl.DataFrame
    base: int
    observed_at: When
    #: whether the keys' last column (the names) is known to hold no value twice
    distinct: bool | None = None

    def tuples(self) -> list[tuple[Any, ...]]:
        return list(zip(repeat(self.table), *(c.to_list() for c in self.keys.iter_columns()), strict=False))

    def latest(self) -> dict[tuple[Any, ...], int]:
        """Key → id of its latest row (the last of those observed latest), keys in the order of
        their first rows: what adding the rows one by one leaves."""
        ids = range(self.base, self.base + self.keys.height)
        if isinstance(self.observed_at, datetime):
            return dict(zip(self.tuples(), ids, strict=True))
        times = self.observed_at.tolist()
        out: dict[tuple[Any, ...], int] = {}
        for key, row in zip(self.tuples(), ids, strict=True):
            held = out.get(key)
            if held is None or times[row - self.base] >= times[held - self.base]:
                out[key] = row
        return out

    def refs(self) -> np.ndarray:
        """``(position, id)`` of each key's last row, positions counted from 1 in the order of
        each key's first row."""
        m = self.keys.height
        rows = np.arange(m, dtype=np.int64)
        names_differ = self.distinct or self.keys[:, -1].n_unique() == m  # then no key is there twice
        if not names_differ and self.keys.is_duplicated().any():
            last = pl.col("__row")
            keys = self.keys.with_row_index("__row")
            if not isinstance(self.observed_at, datetime):  # the last of the rows observed latest
                keys = keys.with_columns(__t=pl.Series(self.observed_at, dtype=pl.Int64))
                last = last.filter(pl.col("__t") == pl.col("__t").max())
            rows = (
                keys.group_by(self.keys.columns, maintain_order=True)
                .agg(last.last())["__row"]
                .to_numpy()
                .astype(np.int64)
            )
        return np.column_stack([np.arange(1, len(rows) + 1, dtype=np.int64), self.base + rows])


def _take(df: pl.DataFrame, rows: np.ndarray) -> pl.DataFrame:
    """``df[rows]``, without copying when ``rows`` are all of ``df`` in order."""
    if len(rows) == df.height and (not len(rows) or (rows[0] == 0 and (np.diff(rows) == 1).all())):
        return df
    return df[rows]


class _Tape:
    __slots__ = ("after", "b", "end", "flag", "hole", "kind", "raw", "start", "verbatim")

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.b = np.frombuffer(raw, np.uint8)
        #: entries ``[hole[0], hole[1])`` are unused when the tape was read in two halves
        self.hole = (0, 0)
        #: per item of the List: its bytes are already its manifest text (see K.classify)
        self.verbatim = np.zeros(0, np.bool_)

    def _room(self, cap: int) -> None:
        self.kind = np.empty(cap, np.uint8)
        self.start = np.empty(cap, np.int32)
        self.end = np.empty(cap, np.int32)
        self.after = np.empty(cap, np.int32)
        self.flag = np.empty(cap, np.uint8)

    def parse(self, pool: ThreadPoolExecutor | None = None) -> bool:
        """Read the document (with a ``pool``, a List in two halves at once: :meth:`split`);
        False when it is not JSON as orjson reads it (or too deep)."""
        # Kubernetes JSON has about one entry per 12 bytes; a document with more gets the most
        # any document can need
        for cap in (len(self.raw) // 6 + 16, len(self.raw) // 2 + 2):
            self._room(cap)
            if pool is not None and self.split(pool, len(self.raw) // 2):
                return True
            _, err, _ = J.parse(self.b, self.kind, self.start, self.end, self.after, self.flag)
            if err != J.E_FULL:
                return err == 0
        return False

    def split(self, pool: ThreadPoolExecutor, lo: int) -> bool:
        """Read a List in two halves at once, split between two items at the first comma from
        ``lo`` that looks like one (:func:`~workbench.kube._json_kernel.split_point`): a worker
        reads the bytes before it; this thread reads those after it as if inside the List's
        ``items`` (stand-in entries for the open object and array), then the entries are
        joined. The tape is then the one :func:`~workbench.kube._json_kernel.parse` writes: the
        worker's half must end at that comma, between two items of an array in the top object,
        which is exactly where the second half began. The halves are written where their room
        is and linked: the entries of :attr:`hole` are unused (never touched, so no memory is
        spent on moving them), and :func:`K.children` steps over them. False (the tape to be read again) when that does not hold, or
        when either half holds what the whole document may not."""
        b, cap = self.b, len(self.kind)
        key_start, key_end = J.first_item_key(b, 1 << 16)
        p = J.split_point(b, lo, key_start, key_end) if key_start >= 0 else -1
        if p < 0:
            return False
        base = int(cap * p / len(b))  # the first half's room (the entries are about even)
        scratch = np.array([cap - 2, cap - 1], np.int64)
        self.kind[scratch] = (J.OBJ, J.ARR)
        self.flag[scratch] = 0
        head, tail = np.empty(J.MAX_DEPTH + 1, np.int64), np.zeros(J.MAX_DEPTH + 1, np.int64)
        tail[:2] = scratch
        self.hole = (0, 0)
        tape = (self.kind, self.start, self.end, self.after, self.flag)
        first = pool.submit(J.parse_part, b, p, *tape, 0, 0, base, head, 0, J.S_VALUE)
        _, err2, _, _, state2 = J.parse_part(b, len(b), *tape, p + 1, base, cap - 2, tail, 2, J.S_VALUE)
        t1, err1, _, sp1, state1 = first.result()
        if err1 or state1 != J.S_AFTER or sp1 != 2 or tuple(self.kind[head[:2]]) != (J.OBJ, J.ARR):
            return False
        if err2 or state2 != J.S_DONE:
            return False
        J.link(self.end, self.after, self.flag, head[:2].copy(), scratch)
        self.hole = (t1, base)
        return True

    def member(self, obj: int, key: str) -> int:
        return int(
            J.member(
                self.b,
                self.kind,
                self.start,
                self.end,
                self.after,
                obj,
                np.frombuffer(key.encode(), np.uint8),
            )
        )

    def text(self, e: int) -> str | None:
        """A plain (unescaped) string entry's text, else None."""
        if e < 0 or self.kind[e] != J.STR or self.flag[e] & J.ESCAPED:
            return None
        return self.raw[self.start[e] : self.end[e]].decode()

    def item(self, e: int) -> bytes:
        """The JSON text of entry ``e`` (a string with its quotes)."""
        if self.kind[e] == J.STR:
            return self.raw[self.start[e] - 1 : self.end[e] + 1]
        return self.raw[self.start[e] : self.end[e]]


def _arrow_strings(parts: tuple[np.ndarray, np.ndarray, np.ndarray], name: str) -> pl.Series:
    data, offsets, valid = parts
    n = len(valid)
    bits = pa.py_buffer(np.packbits(valid, bitorder="little"))
    array = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data), bits)
    return pl.Series(name, pl.from_arrow(array), dtype=pl.String)


def _strings(tape: _Tape, entries: np.ndarray, name: str) -> pl.Series:
    return _arrow_strings(K.strings(tape.b, tape.kind, tape.start, tape.end, tape.flag, entries), name)


def _string_columns(
    tape: _Tape,
    fields: np.ndarray,
    names: dict[str, int | tuple[int, ...]],
    pool: ThreadPoolExecutor | None = None,
    meanwhile: Callable[[], object] | None = None,
) -> dict[str, pl.Series]:
    """Text columns of ``fields`` (name → its column, or ``(op, column[, column])``, an op of
    :func:`K.text_views`) in one compiled pass, as Arrow string views into the List's own bytes
    where a value is its string's bytes (with a ``pool``, a large one in two halves at once,
    each column then in two chunks; ``meanwhile`` as in :func:`_halves`)."""
    wanted = {name: (K.TEXT, v, -1) if isinstance(v, int) else (*v, -1)[:3] for name, v in names.items()}

    # a column with another's entries (an event's namespace and its metadata's, mostly) is read once
    def same(x: tuple[int, int, int], y: tuple[int, int, int]) -> bool:
        if x[0] != y[0] or x[2] != y[2]:
            return False
        a, b = x[1], y[1]
        return a == b or (
            len(fields) > 0 and fields[0, a] == fields[0, b] and np.array_equal(fields[:, a], fields[:, b])
        )

    twin: dict[str, str] = {}
    specs: dict[str, tuple[int, int, int]] = {}
    for name, spec in wanted.items():
        twin[name] = next((other for other, known in specs.items() if same(known, spec)), name)
        if twin[name] == name:
            specs[name] = spec
    cols = np.array([[a, b] for _, a, b in specs.values()], np.int64)
    ops = np.array([op for op, _, _ in specs.values()], np.int64)
    raw = pa.py_buffer(tape.raw)

    def read(lo: int, hi: int) -> dict[str, list[pl.Series]]:
        out: dict[str, list[pl.Series]] = {name: [] for name in specs}
        while True:
            data, views, valid, rows = K.text_views(
                tape.b, tape.kind, tape.start, tape.end, tape.flag, fields[lo:hi], cols, ops, _VIEW_LIMIT
            )
            if rows == 0 and lo < hi:
                raise ValueError(f"the text of item {lo} is larger than {_VIEW_LIMIT} bytes")
            buffer = pa.py_buffer(data)
            for c, name in enumerate(specs):
                bits = pa.py_buffer(np.packbits(valid[c], bitorder="little"))
                array = pa.Array.from_buffers(
                    pa.string_view(),
                    rows,
                    [bits, pa.py_buffer(views[c * rows : (c + 1) * rows]), raw, buffer],
                )
                out[name].append(pl.Series(name, pl.from_arrow(array), dtype=pl.String))
            lo += rows
            if lo >= hi:
                return out

    parts = _halves(pool, len(fields), read, meanwhile)
    read_ = {name: pl.concat([s for part in parts for s in part[name]], rechunk=False) for name in specs}
    return {name: read_[twin[name]].alias(name) for name in names}


def _read_times(tape: _Tape, fields: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``parse_time`` of the entries in the columns ``cols`` of ``fields``, µs-exact, in one
    compiled pass: ``(values, valid)``, one column per column of ``cols``; forms the compiled
    reader leaves are read by :func:`parse_time` itself."""
    values, state = K.times_all(tape.b, tape.kind, tape.start, tape.end, fields, cols)
    odd = np.nonzero(state == 2)
    if len(odd[0]):
        for q, c, t in zip(*odd, _parsed_times(tape, fields[odd[0], cols[odd[1]]]), strict=True):
            if t is not None:
                values[q, c] = t
                state[q, c] = 1
    return values, state == 1


def _parsed_times(tape: _Tape, entries: np.ndarray) -> list[int | None]:
    """:func:`parse_time` of the text entries the compiled reader leaves to it, as µs."""
    times = (parse_time(text) for text in _strings(tape, entries, "time").to_list())
    return [None if t is None else (t - _EPOCH) // _MICRO for t in times]


def _time_series(name: str, values: np.ndarray, valid: np.ndarray) -> pl.Series:
    return pl.Series(name, values, dtype=pl.Int64).set(pl.Series(~valid), None).cast(TS)


def _times(tape: _Tape, entries: np.ndarray, name: str) -> pl.Series:
    """``parse_time`` of the entries (:func:`_read_times`)."""
    values, valid = _read_times(tape, entries.reshape(-1, 1), np.zeros(1, np.int64))
    return _time_series(name, values[:, 0], valid[:, 0])


_MICRO = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH


#: the event time columns :func:`_event_times` reads, in this order
_EVENT_TIMES = np.array(
    [_EFIELD[c] for c in ("first_a", "event_time", "created", "last_a", "series_last")], np.int64
)


def _event_times(tape: _Tape, fields: np.ndarray) -> tuple[pl.Series, pl.Series]:
    """The events' ``first_time`` (firstTimestamp, else eventTime, else creationTimestamp) and
    ``last_time`` (lastTimestamp, else series.lastObservedTime, else eventTime, else the first
    time), each read as :func:`_times` reads it, in one compiled pass."""
    values, ok = _read_times(tape, fields, _EVENT_TIMES)
    first = np.where(ok[:, 0], values[:, 0], np.where(ok[:, 1], values[:, 1], values[:, 2]))
    first_ok = ok[:, 0] | ok[:, 1] | ok[:, 2]
    last = np.where(
        ok[:, 3], values[:, 3], np.where(ok[:, 4], values[:, 4], np.where(ok[:, 1], values[:, 1], first))
    )
    last_ok = ok[:, 3] | ok[:, 4] | ok[:, 1] | first_ok
    return _time_series("first_time", first, first_ok), _time_series("last_time", last, last_ok)


def load_split_kernels(raw: bytes) -> None:
    """Load the compiled code that reads a List in two halves (:meth:`_Tape.split`) by reading
    ``raw``, a small List, that way."""
    with ThreadPoolExecutor(2, thread_name_prefix="workbench-bulk") as pool:
        tape = _Tape(raw)
        tape._room(len(raw) // 2 + 2)
        tape.split(pool, len(raw) // 2)


def add_json(
    normalizer: Normalizer, raw: bytes, *, observed_at: datetime | None, deleted: bool, where: str
) -> bool:
    """Add the List ``raw`` to ``normalizer`` by the bulk path; False (nothing added) when the
    per-object path should read the whole document instead. Without ``observed_at`` each
    object is observed at the newest time it carries, else now."""
    if not isinstance(raw, bytes) or not MIN_BYTES <= len(raw) < 2**31 - 1:
        return False
    # a large List is read by two threads (the kernels release the GIL): the tape in two
    # halves, the manifest texts written while the rows are read, each kernel on half the items
    threaded = len(raw) >= THREADED_BYTES
    with ThreadPoolExecutor(2, thread_name_prefix="workbench-bulk") if threaded else nullcontext() as pool:
        return _read(normalizer, _Tape(raw), pool, observed_at=observed_at, deleted=deleted, where=where)


def _read(
    normalizer: Normalizer,
    tape: _Tape,
    pool: ThreadPoolExecutor | None,
    *,
    observed_at: datetime | None,
    deleted: bool,
    where: str,
) -> bool:
    if not tape.parse(pool) or tape.kind[0] != J.OBJ:
        return False
    if not J.keys_plain(tape.b, tape.kind, tape.start, tape.end, tape.after, tape.flag, 0):
        return False
    items_e = tape.member(0, "items")
    list_kind_e, list_api_e = tape.member(0, "kind"), tape.member(0, "apiVersion")
    list_kind = tape.text(list_kind_e)
    if items_e < 0 or tape.kind[items_e] != J.ARR or list_kind is None or not list_kind.endswith("List"):
        return False
    list_api = tape.text(list_api_e)
    if list_api_e >= 0 and list_api is None and tape.kind[list_api_e] != J.NULL:
        return False
    items = K.children(tape.kind, tape.after, items_e, *tape.hole)
    typed = {"PodList": 1, "EventList": 2}.get(list_kind, 0) if list_api in (None, "v1") else 0
    parts = _halves(
        pool,
        len(items),
        lambda lo, hi: K.classify(
            tape.b, tape.kind, tape.start, tape.end, tape.after, tape.flag, items[lo:hi], typed
        ),
    )
    codes, inferred, verbatim = (np.concatenate(a) for a in zip(*parts, strict=True))
    tape.verbatim = verbatim
    if not codes.any():
        return False
    when: When = observed_at if observed_at is not None else _own_times(tape, items, codes)
    if not codes.any():  # (no item's times read as the per-object path reads them)
        return False
    with gc_paused():
        _add(
            normalizer,
            tape,
            items,
            codes,
            inferred,
            list_kind,
            list_api,
            when,
            pool,
            deleted=deleted,
            where=where,
        )
    return True


def _own_times(tape: _Tape, items: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Each item's observed time when the caller gives none, µs since the epoch: the newest
    time it carries (:func:`~workbench.kube._common.newest_timestamp`), else now. Items whose
    times the tape cannot read as Python would (``codes`` 0 on return) get 0."""
    fast = np.flatnonzero(codes)
    newest, entries, owners, ok = K.newest_times(
        tape.b, tape.kind, tape.start, tape.end, tape.after, items[fast]
    )
    if len(entries):  # times in other forms (offsets, escapes)
        for q, t in zip(owners.tolist(), _parsed_times(tape, entries), strict=True):
            if t is not None:
                newest[q] = max(newest[q], t)
    now = (datetime.now(UTC) - _EPOCH) // _MICRO
    newest[newest == np.iinfo(np.int64).min] = now
    codes[fast[~ok]] = 0
    times = np.zeros(len(items), np.int64)
    times[fast] = newest
    return times


def _soon(pool: ThreadPoolExecutor | None, fn: Callable[..., _R], *args: Any) -> Future[_R] | _Later:
    """``fn(*args)`` in a worker of ``pool``, or (no pool) here when its result is asked for."""
    return pool.submit(fn, *args) if pool is not None else _Later(fn, *args)


def _maps(tape: _Tape, entries: np.ndarray, name: str) -> pl.Series:
    """The maps (labels, annotations) at ``entries`` as JSON text, keys sorted."""
    return _arrow_strings(
        K.maps(tape.b, tape.kind, tape.start, tape.end, tape.after, tape.flag, entries), name
    )


def _halves(
    pool: ThreadPoolExecutor | None,
    n: int,
    run: Callable[[int, int], _R],
    meanwhile: Callable[[], object] | None = None,
) -> list[_R]:
    """``[run(0, n)]``, or with a ``pool`` and enough items ``[run(0, h), run(h, n)]``, the first
    half in a worker while this thread does the second; ``meanwhile`` is called once the first
    half is queued (so that what it queues comes after)."""
    if pool is None or n < SPLIT_ITEMS:
        if meanwhile is not None:
            meanwhile()
        return [run(0, n)]
    h = n // 2
    first = pool.submit(run, 0, h)
    if meanwhile is not None:
        meanwhile()
    second = run(h, n)
    return [first.result(), second]


def _add(
    n: Normalizer,
    tape: _Tape,
    items: np.ndarray,
    codes: np.ndarray,
    inferred: np.ndarray,
    list_kind: str,
    list_api: str | None,
    observed_at: When,
    pool: ThreadPoolExecutor | None,
    *,
    deleted: bool,
    where: str,
) -> None:
    batch = Batch()
    pods_q = np.flatnonzero(codes == 1)
    events_q = np.flatnonzero(codes == 2)

    def texts(qs: np.ndarray, kind: str) -> Future[tuple[np.ndarray, np.ndarray]] | _Later:
        return _soon(pool, _manifest_texts, tape, items[qs], inferred[qs], tape.verbatim[qs], kind)

    pod_texts = texts(pods_q, "Pod") if len(pods_q) else None
    event_texts = texts(events_q, "Event") if len(events_q) else None
    pod_objects = (
        _pods(n, tape, items, pods_q, codes, inferred, batch, observed_at, pod_texts, pool, deleted=deleted)
        if pod_texts is not None
        else None
    )
    event_objects = (
        _events(
            n, tape, items, events_q, codes, inferred, batch, observed_at, event_texts, pool, deleted=deleted
        )
        if event_texts is not None
        else None
    )
    # the objects rows and latest revisions, item by item as add() would
    fast = codes > 0
    parts = [f for f in (pod_objects, event_objects) if f is not None]
    if fast.all() and parts:  # every item took the bulk path: its keys wait (BulkRows.pending)
        for table, part in (("pods", pod_objects), ("events", event_objects)):
            if part is None:
                continue
            qs, frame_, distinct = part
            when = _of(observed_at, qs)
            base = n._bulk.add(table, batch, len(qs), when, deleted=deleted)
            n._bulk.pending.append(_Keys(table, frame_.select(_KEY[table]), base, when, distinct))
        n._object_chunks.append((len(n._objects), pl.concat([f for _, f, _ in parts])))
        return
    latest = n._latest
    n._bulk.settle(latest)
    keys: list[Any] = [None] * len(items)
    ids: list[int] = [0] * len(items)
    for table, part in (("pods", pod_objects), ("events", event_objects)):
        if part is None:
            continue
        qs, frame_, _ = part
        when = _of(observed_at, qs)
        base = n._bulk.add(table, batch, len(qs), when, deleted=deleted)
        table_keys = _Keys(table, frame_.select(_KEY[table]), base, when).tuples()
        for r, q in enumerate(qs.tolist()):
            keys[q] = table_keys[r]
            ids[q] = base + r
    fast_objects = (
        pl.concat([f.with_columns(__item=pl.Series(q, dtype=pl.Int64)) for q, f, _ in parts])
        if parts
        else None
    )
    saved, n._objects = n._objects, []
    slow_positions: list[int] = []
    for q in range(len(items)):
        if fast[q]:
            key = keys[q]
            previous = latest.get(key)
            if previous is None or _at(observed_at, q) >= n._observed(previous):
                latest[key] = ids[q]
            continue
        before = len(n._objects)
        obj = parse_json(tape.item(int(items[q])))
        doc: dict[str, Any] = {"kind": list_kind, "items": [obj]}
        if list_api is not None:
            doc["apiVersion"] = list_api
        for _, sub in expand(doc):  # without a time of the call's, the object's own
            n._add_object(
                sub, observed_at if isinstance(observed_at, datetime) else None, where, q, deleted=deleted
            )
        slow_positions += [q] * (len(n._objects) - before)
    slow, n._objects = n._objects, saved
    if fast_objects is None:
        n._objects.extend(slow)
        return
    chunk = fast_objects
    if slow:
        slow_frame = n._frame_of_tuples(slow).with_columns(__item=pl.Series(slow_positions, dtype=pl.Int64))
        chunk = pl.concat([fast_objects, slow_frame]).sort("__item", maintain_order=True)
    n._object_chunks.append((len(n._objects), chunk.drop("__item")))


def _of(when: When, qs: np.ndarray) -> When:
    """The times of the items ``qs`` (positions among the List's items)."""
    return when if isinstance(when, datetime) else when[qs]


def _observed(when: When, qs: np.ndarray) -> pl.Series:
    """The ``observed_at`` column of the items ``qs``."""
    if isinstance(when, datetime):
        return _constant("observed_at", when, len(qs), TS)
    return pl.Series("observed_at", when[qs], dtype=pl.Int64).cast(TS)


class _Later:
    """A result computed when it is asked for (the unthreaded stand-in for a ``Future``)."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        self._fn, self._args = fn, args

    def result(self) -> Any:
        return self._fn(*self._args)


def _manifest_texts(
    tape: _Tape, entries: np.ndarray, inferred: np.ndarray, verbatim: np.ndarray, kind: str
) -> tuple[np.ndarray, np.ndarray]:
    """The manifest texts of the items ``entries`` as Arrow string views (:func:`K.manifests`)
    and the buffer of those that are not the List's own bytes: each item's bytes less
    metadata.managedFields, written again where they are not orjson's already."""
    skips = K.skips(tape.b, tape.kind, tape.start, tape.end, tape.after, entries)
    prefix = np.frombuffer(f'{{"apiVersion":"v1","kind":"{kind}"'.encode(), np.uint8)
    copied = ~verbatim | inferred | (skips >= 0)
    size = int((tape.end[entries[copied]] - tape.start[entries[copied]]).sum()) + len(prefix) * int(
        inferred.sum()
    )
    out = np.empty(size, np.uint8)
    views = np.empty((len(entries), 16), np.uint8)
    K.manifests(tape.b, tape.kind, tape.start, tape.end, tape.after, tape.flag, entries, skips, inferred, verbatim,
                prefix, out, views)  # fmt: skip
    return views, out


def _objects(
    n: Normalizer,
    tape: _Tape,
    keep: np.ndarray,
    texts: Future[tuple[np.ndarray, np.ndarray]] | _Later,
    kind: str,
    observed_at: pl.Series,
    *,
    deleted: bool,
    ids: dict[str, pl.Series],
) -> pl.DataFrame:
    """The ``objects`` rows of the kept items (``keep``: their positions among the kind's items,
    whose manifest texts ``texts`` gives); ``ids``: their namespace, name, uid and
    resource_version columns. The manifest column refers to the List's bytes rather than
    copying them."""
    views, out = texts.result()
    m = len(keep)
    buffers = [None, pa.py_buffer(views), pa.py_buffer(tape.raw), pa.py_buffer(out)]
    array = pa.Array.from_buffers(pa.string_view(), len(views), buffers)
    manifest = pl.Series("manifest", pl.from_arrow(array), dtype=pl.String)
    if m < len(views):
        manifest = manifest.gather(keep)
    return pl.DataFrame([
        _constant("cluster", n.cluster, m, pl.String),
        _constant("kind", kind, m, pl.String),
        _constant("api_version", "v1", m, pl.String),
        *(ids[c].alias(c) for c in ("namespace", "name", "uid", "resource_version")),
        observed_at,
        _constant("deleted", deleted, m, pl.Boolean),
        manifest,
    ])  # fmt: skip


def _object_ids(text: dict[str, pl.Series]) -> dict[str, pl.Series]:
    """The ``objects`` rows' namespace, name, uid and resource_version among the text columns."""
    return {c: text[f"obj_{c}"] for c in ("namespace", "name", "uid")} | {
        "resource_version": text["obj_version"]
    }


def _constant(name: str, value: Any, m: int, dtype: pl.DataType) -> pl.Series:
    return pl.repeat(value, m, dtype=dtype, eager=True).alias(name)


def _events(
    n: Normalizer,
    tape: _Tape,
    items: np.ndarray,
    qs: np.ndarray,
    codes: np.ndarray,
    inferred: np.ndarray,
    batch: Batch,
    observed_at: When,
    texts: Future[tuple[np.ndarray, np.ndarray]] | _Later,
    pool: ThreadPoolExecutor | None,
    *,
    deleted: bool,
) -> tuple[np.ndarray, pl.DataFrame, bool | None] | None:
    entries = items[qs]
    m = len(entries)
    # entries as int32s (a tape has fewer than 2**31): half the fresh memory of int64s
    ok, fields, count_values, hashes = (
        np.empty(m, np.bool_),
        np.empty((m, len(K.EVENT_FIELDS)), np.int32),
        np.empty(m, np.int64),
        np.empty(m, np.int64),
    )
    _halves(
        pool,
        m,
        lambda lo, hi: K.events(
            tape.b, tape.kind, tape.start, tape.end, tape.after, tape.flag, entries[lo:hi], ok[lo:hi], fields[lo:hi],
            count_values[lo:hi], hashes[lo:hi],
        ),
    )  # fmt: skip
    f = fields

    times: list[Future[tuple[pl.Series, pl.Series]] | _Later] = []

    def start_times() -> None:  # in a worker, after the first half of the text columns
        times.append(_soon(pool, _event_times, tape, f))

    text = _string_columns(tape, f, {c: _EFIELD[c] for c in (
        "namespace", "obj_name", "uid", "involved_kind", "involved_namespace", "involved_name", "involved_uid",
        "reason", "obj_namespace", "obj_uid", "obj_version")} | {
        "type": (K.EVENT_TYPE, _EFIELD["type"]), "message": (K.STRIPPED, _EFIELD["message"]),
        "source": (K.JOINED, _EFIELD["component"], _EFIELD["host"])}, pool, start_times)  # fmt: skip
    count = pl.Series("count", count_values, dtype=pl.Int64)
    ok &= count_values <= 2**31 - 1
    first, last = times[0].result()
    events = pl.DataFrame([
        _constant("cluster", n.cluster, m, pl.String),
        text["namespace"],
        text["obj_name"].alias("name"),
        *(text[c] for c in ("uid", "involved_kind", "involved_namespace", "involved_name", "involved_uid", "type",
                            "reason", "message")),
        first,
        last,
        count,
        text["source"],
        _observed(observed_at, qs),
    ])  # fmt: skip
    keep = np.flatnonzero(ok)
    codes[qs[~ok]] = 0
    if not len(keep):
        return None
    try:
        batch.events = _conform("events", _take(events, keep))
    except SchemaError:
        codes[qs] = 0
        return None
    ids = _object_ids(text)
    if len(keep) < m:
        ids = {c: col.gather(keep) for c, col in ids.items()}
    objects = _objects(n, tape, keep, texts, "Event", batch.events["observed_at"], deleted=deleted, ids=ids)
    named = hashes if len(keep) == m else hashes[keep]  # the names' hashes, or -1: escaped
    distinct = True if bool((named >= 0).all()) and K.all_distinct(named) else None
    return qs[keep], objects, distinct


def _conform(table: str, df: pl.DataFrame) -> pl.DataFrame:
    extra = [c for c in df.columns if c.startswith("__")]
    conformed = conform(table, df.drop(extra))
    return conformed.with_columns(df.select(extra)) if extra else conformed


def _pods(
    n: Normalizer,
    tape: _Tape,
    items: np.ndarray,
    qs: np.ndarray,
    codes: np.ndarray,
    inferred: np.ndarray,
    batch: Batch,
    observed_at: When,
    texts: Future[tuple[np.ndarray, np.ndarray]] | _Later,
    pool: ThreadPoolExecutor | None,
    *,
    deleted: bool,
) -> tuple[np.ndarray, pl.DataFrame, bool | None] | None:
    entries = items[qs]
    # each pod's signature is written in its own room (at most its bytes and 64) of one buffer,
    # whose pages past what is written are never touched
    room = np.zeros(len(entries) + 1, np.int64)
    np.cumsum(tape.end[entries] - tape.start[entries] + 64, out=room[1:])
    sig = np.empty(int(room[-1]), np.uint8)

    def read(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        part, written = entries[lo:hi], sig[room[lo] : room[hi]]
        ok, fields, offsets, rows = K.pods(tape.b, tape.kind, tape.start, tape.end, tape.after, tape.flag, part,
                                           written)  # fmt: skip
        rows[:, 0] += lo
        return ok, fields, offsets + room[lo], rows, K.hash_signatures(written, offsets)

    parts = _halves(pool, len(entries), read)
    ok, fields, status_rows, hashes = (np.concatenate([p[k] for p in parts]) for k in (0, 1, 3, 4))
    starts = np.concatenate([p[2][:-1] for p in parts])
    ends = np.concatenate([p[2][1:] for p in parts])
    group, groups = K.group_signatures(sig, starts, ends, hashes, ok)
    reps = _representatives(
        n, tape, entries, group, groups, observed_at if isinstance(observed_at, datetime) else _EPOCH
    )
    good_group = np.array([rep is not None for rep in reps] + [False], np.bool_)
    ok &= good_group[group]
    keep = np.flatnonzero(ok)
    codes[qs[~ok]] = 0
    if not len(keep):
        return None
    m = len(keep)
    f = fields[keep]

    def col(name: str) -> np.ndarray:
        return f[:, _FIELD[name]].copy()

    kept_groups = group[keep]
    usable = [rep for rep in reps if rep is not None]
    index_of = np.cumsum(good_group[:-1]) - 1  # group → row among the usable representatives
    rep_frame = frame("pods", columns_of([rep[0] for rep in usable]))
    shared = rep_frame.drop(*_OWN, "workload_kind", "workload_name", "deleted")
    later = {c: _soon(pool, _maps, tape, col(c), c) for c in ("labels", "annotations")}
    later |= {c: _soon(pool, _times, tape, col(c), c) for c in ("initialized", "ready_time")}
    text = _string_columns(tape, f, {c: _FIELD[c] for c in (
        "namespace", "name", "uid", "node", "pod_ip", "host_ip", "template_hash", "mirror", "obj_namespace",
        "obj_name", "obj_uid", "obj_version")}, pool)  # fmt: skip
    own = pl.DataFrame([
        _constant("cluster", n.cluster, m, pl.String),
        text["namespace"],
        text["name"],
        text["uid"],
        text["node"],
        _times(tape, col("created"), "created"),
        _times(tape, col("scheduled"), "scheduled"),
        later["initialized"].result(),
        later["ready_time"].result(),
        text["pod_ip"],
        text["host_ip"],
        later["labels"].result(),
        later["annotations"].result(),
        _observed(observed_at, qs[keep]),
    ])  # fmt: skip
    rows = pl.concat([own, shared[index_of[kept_groups]]], how="horizontal")
    extras = pl.DataFrame([text["template_hash"].alias("__template_hash"), text["mirror"].alias("__mirror")])
    batch.pods = pl.concat(
        [rows.select([c for c in SCHEMAS["pods"] if c in rows.columns]), extras], how="horizontal"
    )
    # containers: the representative's rows, with each pod's own names and times
    spec_rows = []
    for g, rep in enumerate(usable):
        for k, (row, status_at) in enumerate(zip(rep[1], rep[2], strict=True)):
            spec_rows.append(
                {"__group": g, "__k": k, "__is_init": status_at[0], "__index": status_at[1], **row}
            )
    if spec_rows:
        rep_containers = frame(
            "containers",
            columns_of([{c: v for c, v in r.items() if not c.startswith("__")} for r in spec_rows]),
        )
        keys = pl.DataFrame({c: [r[c] for r in spec_rows] for c in ("__group", "__k", "__is_init", "__index")},
                            schema={"__group": pl.Int64, "__k": pl.Int64, "__is_init": pl.Int64, "__index": pl.Int64})  # fmt: skip
        rep_containers = pl.concat([keys, rep_containers.drop(*_OWN_CONTAINER)], how="horizontal")
        pods_keys = pl.DataFrame({"__row": np.arange(m), "__q": keep, "__group": index_of[kept_groups]})
        joined = pods_keys.join(rep_containers, on="__group", how="inner").sort("__row", "__k")
        times = pl.DataFrame(
            {"__q": status_rows[:, 0], "__is_init": status_rows[:, 1], "__index": status_rows[:, 2]}
        )
        times = times.with_columns(
            _times(tape, status_rows[:, 3].copy(), "started_at"),
            _times(tape, status_rows[:, 4].copy(), "last_finished_at"),
        )
        joined = joined.join(times, on=["__q", "__is_init", "__index"], how="left", maintain_order="left")
        base = batch.pods.select("cluster", "namespace", "observed_at", pod="name", pod_uid="uid")[
            joined["__row"]
        ]
        containers = pl.concat([base, joined], how="horizontal")
        batch.containers = containers.select(*SCHEMAS["containers"], "__row")
    else:
        batch.containers = pl.DataFrame(schema={**SCHEMAS["containers"], "__row": pl.Int64})
    objects = _objects(
        n, tape, keep, texts, "Pod", own["observed_at"], deleted=deleted, ids=_object_ids(text)
    )
    return qs[keep], objects, None


def _representatives(
    n: Normalizer, tape: _Tape, entries: np.ndarray, group: np.ndarray, count: int, observed_at: datetime
) -> list[tuple[dict[str, Any], list[dict[str, Any]], list[tuple[int, int]]] | None]:
    """Per signature, its first pod's rows by the per-object fast code and, per container row,
    the (is_init, index) of the container status it was built from; None where that code does
    not take the pod (its pods then go to the per-object path). Their ``observed_at`` is not
    used (each pod has its own)."""
    members = np.flatnonzero(group >= 0)
    _, first = np.unique(group[members], return_index=True)
    reps: list[Any] = []
    for g, r in enumerate(members[first].tolist()):
        del g
        obj = parse_json(tape.item(int(entries[r])))
        try:
            built = fast_pod_rows(obj, n.cluster, observed_at)
        except (AttributeError, TypeError, ValueError, KeyError):
            built = None
        if built is None:
            reps.append(None)
            continue
        reps.append((*built, _status_positions(obj)))
    try:  # all of them at once; one by one only when one does not fit the tables
        frame("pods", columns_of([rep[0] for rep in reps if rep is not None]))
        frame("containers", columns_of([c for rep in reps if rep is not None for c in rep[1]]))
    except SchemaError:
        for g, rep in enumerate(reps):
            if rep is None:
                continue
            try:
                frame("pods", columns_of([rep[0]]))
                frame("containers", columns_of(rep[1]))
            except SchemaError:
                reps[g] = None
    return reps


def _status_positions(pod: dict[str, Any]) -> list[tuple[int, int]]:
    """(is_init, status index or -1) of each container row, in the rows' order (specs joined
    with statuses by name, the last status of a name winning, then statuses without a spec)."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    out: list[tuple[int, int]] = []
    for is_init, specs_key, statuses_key in ((1, "initContainers", "initContainerStatuses"),
                                             (0, "containers", "containerStatuses")):  # fmt: skip
        index: dict[Any, int] = {}
        for k, cs in enumerate(status.get(statuses_key) or []):
            index[cs.get("name")] = k
        out += [(is_init, index.pop(c.get("name"), -1)) for c in spec.get(specs_key) or []]
        out += [(is_init, k) for k in index.values()]
    return out


# --- the state tables, in Normalizer.tables() ---------------------------------------------------
def mirrored_of(rows: BulkRows, refs: list[tuple[int, int]] | np.ndarray) -> set[tuple[Any, Any, Any]]:
    """:func:`~workbench.kube.normalize._mirrored_static_pods` of the bulk pods."""
    out: set[tuple[Any, Any, Any]] = set()
    for batch, picked, _, _ in rows.groups(refs):
        assert batch.pods is not None
        sub = _take(batch.pods, picked).filter(pl.col("__mirror").is_not_null() & (pl.col("__mirror") != "")
                                        & (pl.col("uid").is_null() | (pl.col("__mirror") != pl.col("uid"))))  # fmt: skip
        out.update(sub.select("namespace", "name", "__mirror").iter_rows())
    return out


def pod_frames(
    rows: BulkRows,
    refs: list[tuple[int, int]] | np.ndarray,
    owners: dict[tuple[str, str, str], tuple[str, str] | None],
    mirrored: set[tuple[Any, Any, Any]],
    selected: set[str],
    by_label: dict[tuple[str, str, str], set[str]],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The bulk pods' ``pods`` and ``containers`` rows (with ``__pos``), as the per-object loop
    of :meth:`~workbench.kube.normalize.Normalizer.tables` makes them: mirrored static pods left
    out, workloads resolved, ``deleted`` set, and their labels added to ``by_label``."""
    import orjson

    pods, containers = [], []
    for batch, picked, positions, deleted in rows.groups(refs):
        assert batch.pods is not None and batch.containers is not None
        sub = _take(batch.pods, picked).with_columns(
            (pl.col("observed_at") if deleted else pl.lit(None, TS)).alias("deleted"),
            __pos=pl.Series(positions, dtype=pl.Int64), __row=pl.Series(picked, dtype=pl.Int64),
        )  # fmt: skip
        if mirrored:
            keep = [t not in mirrored for t in sub.select("namespace", "name", "uid").iter_rows()]
            sub = sub.filter(pl.Series(keep, dtype=pl.Boolean))
        sub = _workloads(sub, owners)
        if selected and not deleted:
            for ns, name, text in sub.select("namespace", "name", "labels").iter_rows():
                for label, value in (orjson.loads(text) if text else {}).items():
                    if str(label) in selected:
                        by_label[(ns or "", str(label), str(value))].add(name)
        pods.append(sub.select(*SCHEMAS["pods"], "__pos"))
        own = batch.containers.join(
            sub.select("__row", "__pos"), on="__row", how="inner", maintain_order="left"
        )
        containers.append(own.select(*SCHEMAS["containers"], "__pos"))
    return pl.concat(pods), pl.concat(containers)


def _workloads(sub: pl.DataFrame, owners: dict[tuple[str, str, str], tuple[str, str] | None]) -> pl.DataFrame:
    """:func:`~workbench.kube.normalize._workload` over the rows."""
    kind, owner, name = pl.col("owner_kind"), pl.col("owner_name"), pl.col("name")
    if owners:
        table = pl.DataFrame(
            [(k, ns, n, (v or (k, n))[0], (v or (k, n))[1]) for (k, ns, n), v in owners.items()],
            schema={
                "owner_kind": pl.String,
                "__ns": pl.String,
                "owner_name": pl.String,
                "__wk": pl.String,
                "__wn": pl.String,
            },  # fmt: skip
            orient="row",
        )
        sub = sub.with_columns(__ns=pl.col("namespace").fill_null("")).join(
            table,
            on=["owner_kind", "__ns", "owner_name"],
            how="left",
            maintain_order="left",
            nulls_equal=False,
        )
    else:
        sub = sub.with_columns(__wk=pl.lit(None, pl.String), __wn=pl.lit(None, pl.String))
    template = pl.col("__template_hash")
    replica = (
        (kind == "ReplicaSet") & (template.fill_null("") != "") & owner.str.ends_with(pl.lit("-") + template)
    )
    return sub.with_columns(
        workload_kind=pl.when(kind.is_null()).then(pl.lit("Pod")).when(pl.col("__wk").is_not_null())
        .then(pl.col("__wk")).when(replica).then(pl.lit("Deployment")).otherwise(kind),
        workload_name=pl.when(kind.is_null()).then(name).when(pl.col("__wk").is_not_null()).then(pl.col("__wn"))
        .when(replica).then(owner.str.slice(0, owner.str.len_chars() - template.str.len_chars() - 1))
        .otherwise(owner),
    )  # fmt: skip


def event_frame(rows: BulkRows, refs: list[tuple[int, int]] | np.ndarray) -> pl.DataFrame:
    """The bulk events' rows (with ``__pos``)."""
    parts = []
    for batch, picked, positions, _ in rows.groups(refs):
        assert batch.events is not None
        parts.append(_take(batch.events, picked).with_columns(__pos=pl.Series(positions, dtype=pl.Int64)))
    return pl.concat(parts)
