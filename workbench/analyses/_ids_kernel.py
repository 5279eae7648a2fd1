"""The compiled kernel that packs trace and span ids (numba, cached on disk).

:func:`pack` reads a column of ids where Arrow's string views put them (polars' own layout,
handed over without a copy) and packs each id of ``16 × words`` lowercase hex digits into
``words`` unsigned 64-bit integers, two digits at a time (:data:`PAIRS`), in one pass over the
bytes (an id whose view points at the same bytes as the last one's, as a trace's transactions
read from one Parquet dictionary do, is copied from it). It gives what :func:`._transactions.pack_ids` gives by polars' regular expressions and
integer parsing, for a fraction of the CPU time.

The kernel has explicit signatures, so importing this module compiles it (or loads it from
numba's on-disk cache, ``__pycache__``): the cost is paid once per process, at import.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["PAIRS", "pack"]

_DIGITS = b"0123456789abcdef"
#: The value (0-255) of two lowercase hex digits ``a``, ``b`` at ``a << 8 | b``; 256 for a
#: pair of bytes that are not both lowercase hex digits.
PAIRS = np.full(1 << 16, 256, dtype=np.uint16)
PAIRS[
    (np.frombuffer(_DIGITS, np.uint8).astype(np.int64)[:, None] << 8) + np.frombuffer(_DIGITS, np.uint8)
] = np.arange(256, dtype=np.uint16).reshape(16, 16)

_RO = {t: nb.types.Array(getattr(nb, t), d, "C", readonly=True)
       for t, d in (("int32", 2), ("uint8", 1), ("int64", 1), ("boolean", 1), ("uint16", 1))}  # fmt: skip
_SIGS = [
    nb.boolean(_RO["int32"], _RO["uint8"], _RO["int64"], _RO["boolean"], _RO["uint16"], nb.uint64[:, ::1])
]


@nb.njit(_SIGS, cache=True, nogil=True)
def pack(views, data, starts, null, pairs, out):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201
    """Pack id ``i`` into ``out[:, i]``, 16 digits to a word, most significant first. Id ``i``
    is Arrow's string view ``views[i]`` (length, prefix, buffer, offset as ``int32``): its bytes
    start at ``data[starts[buffer] + offset]`` (``data``: the views' buffers one after the
    other). A ``null`` id (``null`` empty: none) packs as zeros. Returns False at the first id
    that is not ``16 × out.shape[0]`` lowercase hex digits (``out`` is then incomplete)."""
    words = out.shape[0]
    width = 16 * words
    nulls = null.size > 0
    last = -1  # the last id packed: the next one with the same bytes (a trace's next transaction) copies it
    for i in range(views.shape[0]):
        if nulls and null[i]:
            for w in range(words):
                out[w, i] = 0
            continue
        if views[i, 0] != width:
            return False
        if last >= 0 and views[i, 2] == views[last, 2] and views[i, 3] == views[last, 3]:
            for w in range(words):
                out[w, i] = out[w, last]
            last = i
            continue
        at = starts[views[i, 2]] + views[i, 3]
        for w in range(words):
            v = np.uint64(0)
            bad = np.uint16(0)
            for k in range(at + 16 * w, at + 16 * w + 16, 2):
                d = pairs[(np.int64(data[k]) << 8) | np.int64(data[k + 1])]
                bad |= d
                v = (v << np.uint64(8)) | np.uint64(d & 255)
            if bad > 255:
                return False
            out[w, i] = v
        last = i
    return True
