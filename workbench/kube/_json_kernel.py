"""The compiled half of :mod:`workbench.kube._bulk` (numba, cached on disk): a validating JSON
reader that writes a *tape* instead of Python objects, and the walks over it.

The tape has one entry per JSON value, in document order (an object's members are its key, a
string, then its value): ``kind`` (:data:`OBJ`, :data:`ARR`, :data:`STR`, :data:`NUM`,
:data:`TRUE`, :data:`FALSE`, :data:`NULL`), ``start``/``end`` (a string's bytes between its
quotes; a container from its bracket to after its closing one; a literal's bytes), ``after``
(the entry after the value's whole subtree, so siblings are one step apart) and ``flag``
(:data:`ESCAPED` for a string with escapes, :data:`NOT_INT` for a number that is not a plain
integer of at most 18 digits, which ``orjson`` might read as a float).

:func:`parse` accepts exactly the JSON that ``orjson.loads`` accepts (RFC 8259: no ``NaN``, no
trailing commas, no byte-order mark, valid UTF-8, escapes that name characters, no lone
surrogate), nesting up to :data:`MAX_DEPTH`; anything else returns an error code and the
caller leaves the document to ``orjson``/``json`` (which then say what is wrong).
:func:`parse_part` is the same reader from any state, so a List can be read in two halves at
once: :func:`first_item_key` and :func:`split_point` find a comma that looks like one between
two items, each half is read by one thread into its own range of the tape, :func:`link` joins
them, and the caller keeps the result only where the first half ended at that comma between two
values of an array in the top object (where the second half began). The tape is then the one
:func:`parse` writes but for a hole of unused entries between the halves: the first half's last
value ends (``after``) at the hole, and the walk over that array's values
(:func:`workbench.kube._bulk_kernel.children`) steps over it.

:func:`emit` writes a value as ``orjson.dumps`` would write what ``orjson.loads`` made of it
(compact, keys in their order, strings with orjson's escapes), optionally leaving out one
member. :func:`sorted_map` writes a flat object with its keys sorted (``OPT_SORT_KEYS``).
"""

from __future__ import annotations

import numba as nb
import numpy as np
from llvmlite import ir
from numba.core import cgutils
from numba.cpython.unsafe.numbers import trailing_zeros
from numba.extending import intrinsic

__all__ = ["ARR", "ESCAPED", "FALSE", "MAX_DEPTH", "NOT_INT", "NULL", "NUM", "OBJ", "STR", "TRUE"]

OBJ, ARR, STR, NUM, TRUE, FALSE, NULL = 1, 2, 3, 4, 5, 6, 7
#: ``flag`` bits: a string holding escapes; a number orjson may not read as the same int; a
#: string with an escape orjson writes otherwise (``\/``, ``\u00e9``…); a container with
#: whitespace between its tokens.
ESCAPED, NOT_INT, RESPELT, SPACED = 1, 2, 4, 8
#: Deeper documents are left to orjson (whose limit is 1024).
MAX_DEPTH = 500

# parse() error codes (0: none)
E_SYNTAX, E_DEPTH, E_UTF8, E_EMPTY, E_FULL = 1, 2, 3, 4, 5

_S_VALUE, _S_VALUE_OR_CLOSE, _S_KEY, _S_KEY_OR_CLOSE, _S_COLON, _S_AFTER, _S_DONE = range(7)
#: :func:`parse_part` states: before a value; between two values of the open container; done
S_VALUE, S_AFTER, S_DONE = _S_VALUE, _S_AFTER, _S_DONE


@intrinsic
def borrowed(typingctx, arrays):  # noqa: ARG001 - numba's intrinsic signature
    """The array ``arrays`` (or each array of the tuple ``arrays``) without its reference count
    (a null meminfo), for the length of the call that holds it: numba counts references on
    every array passed to a function and when the count cannot be proven balanced across
    branches, each call costs two atomic operations (about 15 ns: more than the work of most
    calls here). A kernel rebinds its array arguments to their borrowed selves on entry (the
    caller holds them until it returns); an array the kernel allocates is borrowed only while
    the original stays in use, and a borrowed array is never returned."""

    def borrow(context, builder, typ, value):
        source = context.make_array(typ)(context, builder, value=value)
        out = context.make_array(typ)(context, builder)
        for field in ("parent", "nitems", "itemsize", "data", "shape", "strides"):
            setattr(out, field, getattr(source, field))
        out.meminfo = cgutils.get_null_value(out.meminfo.type)
        return out._getvalue()

    def codegen(context, builder, signature, args):  # noqa: ARG001
        if not isinstance(arrays, nb.types.BaseTuple):
            return borrow(context, builder, arrays, args[0])
        items = [borrow(context, builder, t, builder.extract_value(args[0], k)) for k, t in enumerate(arrays)]
        return context.make_tuple(builder, arrays, items)

    return arrays(arrays), codegen


@intrinsic
def _memcpy(typingctx, dst, dst_at, src, src_at, n):  # noqa: ARG001 - numba's intrinsic signature
    def codegen(context, builder, signature, args):
        d, d_at, s, s_at, count = args
        target = context.make_array(signature.args[0])(context, builder, value=d)
        source = context.make_array(signature.args[2])(context, builder, value=s)
        to = builder.gep(target.data, [d_at])
        fro = builder.gep(source.data, [s_at])
        cgutils.raw_memcpy(builder, to, fro, count, 1)
        return context.get_dummy_value()

    return nb.types.void(dst, nb.types.intp, src, nb.types.intp, nb.types.intp), codegen


@intrinsic
def load64(typingctx, array, at):  # noqa: ARG001 - numba's intrinsic signature
    """The eight bytes ``array[at:at + 8]`` as a little-endian uint64, in one unaligned load
    (unchecked: the caller keeps ``at + 8`` within the array)."""

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, value=args[0]).data
        word = builder.bitcast(builder.gep(data, [args[1]]), ir.IntType(64).as_pointer())
        return builder.load(word, align=1)

    return nb.types.uint64(array, nb.types.intp), codegen


_ONES, _HIGH = np.uint64(0x0101010101010101), np.uint64(0x8080808080808080)
_QUOTES, _BACKSLASHES, _SPACES = (np.uint64(0x0101010101010101 * c) for c in (34, 92, 32))


@nb.njit(cache=True, nogil=True)
def _plain_run(b, j, n):
    """The first position from ``j`` (below ``n``) that is not plain string text: a quote, a
    backslash, a control character or a non-ASCII byte; reads eight bytes at a time while
    eight are left (the lowest flagged byte of each test below is exact), and stops at ``n - 8``
    or later otherwise (the caller reads the rest byte by byte)."""
    while j + 8 <= n:
        x = load64(b, j)
        q = x ^ _QUOTES
        k = x ^ _BACKSLASHES
        m = (((q - _ONES) & ~q) | ((k - _ONES) & ~k) | ((x - _SPACES) & ~x) | x) & _HIGH
        if m:
            return j + (trailing_zeros(m) >> 3)
        j += 8
    return j


@nb.njit(cache=True, nogil=True)
def copy_bytes(out, o, b, s, n):
    """``out[o:o + n] = b[s:s + n]`` as one ``memcpy`` (numba's slice assignment copies a byte
    at a time, 3–5 times slower); both ranges are checked."""
    if n < 0 or o < 0 or s < 0 or o + n > out.shape[0] or s + n > b.shape[0]:
        raise ValueError("copy_bytes: a range outside its array")
    _memcpy(out, o, b, s, n)


@nb.njit(cache=True, nogil=True)
def _utf8_len(b: np.ndarray, j: int, n: int) -> int:
    """Length of the valid UTF-8 sequence at ``b[j]`` (a byte ≥ 0x80), or 0 when invalid."""
    c = b[j]
    if 0xC2 <= c <= 0xDF:
        if j + 1 < n and 0x80 <= b[j + 1] <= 0xBF:
            return 2
        return 0
    if 0xE0 <= c <= 0xEF:
        if j + 2 >= n:
            return 0
        c1 = b[j + 1]
        lo, hi = 0x80, 0xBF
        if c == 0xE0:
            lo = 0xA0
        elif c == 0xED:
            hi = 0x9F  # no surrogates
        if not (lo <= c1 <= hi) or not (0x80 <= b[j + 2] <= 0xBF):
            return 0
        return 3
    if 0xF0 <= c <= 0xF4:
        if j + 3 >= n:
            return 0
        c1 = b[j + 1]
        lo, hi = 0x80, 0xBF
        if c == 0xF0:
            lo = 0x90
        elif c == 0xF4:
            hi = 0x8F
        if not (lo <= c1 <= hi) or not (0x80 <= b[j + 2] <= 0xBF) or not (0x80 <= b[j + 3] <= 0xBF):
            return 0
        return 4
    return 0


@nb.njit(cache=True, nogil=True)
def _hex4(b: np.ndarray, j: int, n: int) -> int:
    """The value of the four hex digits at ``b[j:j+4]``, or -1."""
    if j + 4 > n:
        return -1
    v = 0
    for k in range(j, j + 4):
        c = b[k]
        if 48 <= c <= 57:
            d = c - 48
        elif 97 <= c <= 102:
            d = c - 87
        elif 65 <= c <= 70:
            d = c - 55
        else:
            return -1
        v = v * 16 + d
    return v


@nb.njit(cache=True, nogil=True)
def parse(b, kind, start, end, after, flag):
    """Fill the tape for the document ``b`` (uint8); returns ``(entries, error, position)``.
    A document has at most ``len(b) // 2 + 2`` entries; with less room the error may be
    :data:`E_FULL`."""
    stack = np.empty(MAX_DEPTH + 1, np.int64)
    t, err, i, _, state = parse_part(
        b, b.shape[0], kind, start, end, after, flag, 0, 0, kind.shape[0], stack, 0, _S_VALUE
    )
    if err == 0 and state != _S_DONE:
        return t, (E_EMPTY if t == 0 else E_SYNTAX), i
    return t, err, i


@nb.njit(cache=True, nogil=True)
def parse_part(b, n, kind, start, end, after, flag, i, t, cap, stack, sp, state):  # noqa: C901, PLR0912, PLR0915
    """:func:`parse` of the bytes ``b[i:n]`` from the reader's state ``(stack[:sp], state)``,
    the entries numbered from ``t`` and below ``cap``; returns ``(entries end, error, position,
    sp, state)``. Error 0 with a state other than ``_S_DONE`` means ``b[i:n]`` ended inside
    the document (which is how :func:`split` reads the first half of a List)."""
    b, kind, start, end, after, flag, stack = borrowed((b, kind, start, end, after, flag, stack))
    while True:
        blank = i
        while i < n and (b[i] == 32 or b[i] == 10 or b[i] == 13 or b[i] == 9):
            i += 1
        if i > blank and sp > 0:
            flag[stack[sp - 1]] |= SPACED
        if i >= n:
            break
        if t >= cap:
            return t, E_FULL, i, sp, state
        c = b[i]
        if state == _S_VALUE or state == _S_VALUE_OR_CLOSE:
            if c == 93 and state == _S_VALUE_OR_CLOSE:  # ]
                node = stack[sp - 1]
                sp -= 1
                end[node] = i + 1
                after[node] = t
                i += 1
                state = _S_AFTER if sp > 0 else _S_DONE
                continue
            if c == 123 or c == 91:  # { [
                if sp >= MAX_DEPTH:
                    return t, E_DEPTH, i, sp, state
                kind[t] = OBJ if c == 123 else ARR
                start[t] = i
                flag[t] = 0
                stack[sp] = t
                sp += 1
                t += 1
                i += 1
                state = _S_KEY_OR_CLOSE if c == 123 else _S_VALUE_OR_CLOSE
                continue
            if c == 34:  # "
                pass  # a string value: below, shared with keys
            elif c == 45 or 48 <= c <= 57:  # a number
                s = i
                f = 0
                if c == 45:
                    i += 1
                    if i >= n:
                        return t, E_SYNTAX, i, sp, state
                if b[i] == 48:
                    i += 1
                    if c == 45:
                        f = NOT_INT  # -0 reads as the int 0
                elif 49 <= b[i] <= 57:
                    while i < n and 48 <= b[i] <= 57:
                        i += 1
                else:
                    return t, E_SYNTAX, i, sp, state
                digits = i - s - (1 if c == 45 else 0)
                if digits > 18:
                    f = NOT_INT
                if i < n and b[i] == 46:  # .
                    f = NOT_INT
                    i += 1
                    if i >= n or not (48 <= b[i] <= 57):
                        return t, E_SYNTAX, i, sp, state
                    while i < n and 48 <= b[i] <= 57:
                        i += 1
                if i < n and (b[i] == 101 or b[i] == 69):  # e E
                    f = NOT_INT
                    i += 1
                    if i < n and (b[i] == 43 or b[i] == 45):
                        i += 1
                    if i >= n or not (48 <= b[i] <= 57):
                        return t, E_SYNTAX, i, sp, state
                    while i < n and 48 <= b[i] <= 57:
                        i += 1
                kind[t] = NUM
                start[t] = s
                end[t] = i
                after[t] = t + 1
                flag[t] = f
                t += 1
                state = _S_AFTER if sp > 0 else _S_DONE
                continue
            else:  # true false null
                if c == 116 and i + 4 <= n and b[i + 1] == 114 and b[i + 2] == 117 and b[i + 3] == 101:
                    kind[t] = TRUE
                    w = 4
                elif (
                    c == 102 and i + 5 <= n and b[i + 1] == 97 and b[i + 2] == 108 and b[i + 3] == 115
                    and b[i + 4] == 101
                ):  # fmt: skip
                    kind[t] = FALSE
                    w = 5
                elif c == 110 and i + 4 <= n and b[i + 1] == 117 and b[i + 2] == 108 and b[i + 3] == 108:
                    kind[t] = NULL
                    w = 4
                else:
                    return t, E_SYNTAX, i, sp, state
                start[t] = i
                end[t] = i + w
                after[t] = t + 1
                flag[t] = 0
                t += 1
                i += w
                state = _S_AFTER if sp > 0 else _S_DONE
                continue
        elif state == _S_KEY or state == _S_KEY_OR_CLOSE:
            if c == 125 and state == _S_KEY_OR_CLOSE:  # }
                node = stack[sp - 1]
                sp -= 1
                end[node] = i + 1
                after[node] = t
                i += 1
                state = _S_AFTER if sp > 0 else _S_DONE
                continue
            if c != 34:
                return t, E_SYNTAX, i, sp, state
        elif state == _S_COLON:
            if c != 58:
                return t, E_SYNTAX, i, sp, state
            i += 1
            state = _S_VALUE
            continue
        elif state == _S_AFTER:
            top = kind[stack[sp - 1]]
            if c == 44:  # ,
                state = _S_KEY if top == OBJ else _S_VALUE
                i += 1
                continue
            if (c == 125 and top == OBJ) or (c == 93 and top == ARR):
                node = stack[sp - 1]
                sp -= 1
                end[node] = i + 1
                after[node] = t
                i += 1
                state = _S_AFTER if sp > 0 else _S_DONE
                continue
            return t, E_SYNTAX, i, sp, state
        else:  # _S_DONE: only whitespace may follow
            return t, E_SYNTAX, i, sp, state
        # a string (value or key) starting at b[i] == '"'
        j = i + 1
        f = 0
        while True:
            j = _plain_run(b, j, n)
            if j >= n:
                return t, E_SYNTAX, j, sp, state
            d = b[j]
            if d == 34:
                break
            if d == 92:
                f |= ESCAPED
                if j + 1 >= n:
                    return t, E_SYNTAX, j, sp, state
                e = b[j + 1]
                if e == 117:  # \u
                    v = _hex4(b, j + 2, n)
                    if v < 0:
                        return t, E_SYNTAX, j, sp, state
                    if 0xD800 <= v <= 0xDBFF:
                        if j + 7 < n and b[j + 6] == 92 and b[j + 7] == 117:
                            w2 = _hex4(b, j + 8, n)
                            if 0xDC00 <= w2 <= 0xDFFF:
                                f |= RESPELT
                                j += 12
                                continue
                        return t, E_UTF8, j, sp, state  # a lone high surrogate: orjson refuses it
                    if 0xDC00 <= v <= 0xDFFF:
                        return t, E_UTF8, j, sp, state
                    if v >= 32 or v == 8 or v == 9 or v == 10 or v == 12 or v == 13:
                        f |= RESPELT
                    else:
                        for k in range(j + 2, j + 6):
                            if 65 <= b[k] <= 70:
                                f |= RESPELT
                    j += 6
                elif e == 47:
                    f |= RESPELT
                    j += 2
                elif e == 34 or e == 92 or e == 98 or e == 102 or e == 110 or e == 114 or e == 116:
                    j += 2
                else:
                    return t, E_SYNTAX, j, sp, state
            elif d < 32:
                return t, E_SYNTAX, j, sp, state
            elif d >= 128:
                w = _utf8_len(b, j, n)
                if w == 0:
                    return t, E_UTF8, j, sp, state
                j += w
            else:
                j += 1
        kind[t] = STR
        start[t] = i + 1
        end[t] = j
        after[t] = t + 1
        flag[t] = f
        t += 1
        i = j + 1
        if state == _S_KEY or state == _S_KEY_OR_CLOSE:
            state = _S_COLON
        else:
            state = _S_AFTER if sp > 0 else _S_DONE
    return t, 0, i, sp, state


@nb.njit(cache=True, nogil=True)
def _blank(c) -> bool:
    return c == 32 or c == 10 or c == 13 or c == 9


@nb.njit(cache=True, nogil=True)
def first_item_key(b, limit):
    """``(start, end)`` of the first key of the first item of the first array of the top-level
    object (a List's ``items``), found within ``b[:limit]`` by a scan that only skips strings;
    ``(-1, -1)`` when there is none there."""
    b = borrowed(b)
    n = min(b.shape[0], limit)
    depth = 0
    i = 0
    while i < n:
        c = b[i]
        if c == 34:  # a string: skip it
            i += 1
            while i < n and b[i] != 34:
                i += 2 if b[i] == 92 else 1
        elif c == 123:
            depth += 1
        elif c == 125 or c == 93:
            depth -= 1
        elif c == 91:
            if depth != 1:
                return -1, -1
            i += 1
            while i < n and _blank(b[i]):
                i += 1
            if i >= n or b[i] != 123:
                return -1, -1
            i += 1
            while i < n and _blank(b[i]):
                i += 1
            if i >= n or b[i] != 34:
                return -1, -1
            s = i + 1
            i = s
            while i < n and b[i] != 34 and b[i] != 92:
                i += 1
            if i >= n or b[i] != 34:
                return -1, -1
            return s, i
        i += 1
    return -1, -1


@nb.njit(cache=True, nogil=True)
def split_point(b, lo, key_start, key_end):
    """The first position ``p >= lo`` of a comma between two objects the second of which starts
    with the key ``b[key_start:key_end]``: ``}`` ``,`` ``{`` ``"key"`` ``:`` with blanks allowed
    between them; -1 when there is none. In valid JSON no string holds this (its ``"`` would
    close the string, and a key cannot follow a string), so ``p`` is between two values of some
    array; :func:`parse_part` tells whether of the one expected."""
    b = borrowed(b)
    n = b.shape[0]
    m = key_end - key_start
    for p in range(max(lo, 1), n):
        if b[p] != 44:
            continue
        q = p - 1
        while q > 0 and _blank(b[q]):
            q -= 1
        if b[q] != 125:
            continue
        j = p + 1
        while j < n and _blank(b[j]):
            j += 1
        if j >= n or b[j] != 123:
            continue
        j += 1
        while j < n and _blank(b[j]):
            j += 1
        if j + m + 1 >= n or b[j] != 34 or b[j + m + 1] != 34:
            continue
        same_key = True
        for k in range(m):
            if b[j + 1 + k] != b[key_start + k]:
                same_key = False
                break
        if not same_key:
            continue
        j += m + 2
        while j < n and _blank(b[j]):
            j += 1
        if j < n and b[j] == 58:
            return p
    return -1


@nb.njit(cache=True, nogil=True)
def link(end, after, flag, open_entries, scratch):
    """Join the halves: the containers the first half left open (``open_entries``) get what
    the second half wrote to their stand-ins (``scratch``)."""
    for q in range(open_entries.shape[0]):
        r, s = open_entries[q], scratch[q]
        end[r] = end[s]
        after[r] = after[s]
        flag[r] |= flag[s]


@nb.njit(cache=True, nogil=True)
def same(b, start, end, k, key):
    """Whether the string entry ``k`` holds exactly the bytes ``key``."""
    m = key.shape[0]
    s = start[k]
    if end[k] - s != m:
        return False
    for q in range(m):
        if b[s + q] != key[q]:
            return False
    return True


@nb.njit(cache=True, nogil=True)
def member(b, kind, start, end, after, obj, key):
    """The entry of ``obj``'s member named ``key`` (unescaped keys only), or -1."""
    b, kind, start, end, after, key = borrowed((b, kind, start, end, after, key))
    if obj < 0 or kind[obj] != OBJ:
        return -1
    j = obj + 1
    stop = after[obj]
    while j < stop:
        if same(b, start, end, j, key):
            return j + 1
        j = after[j + 1]
    return -1


@nb.njit(cache=True, nogil=True)
def plain(b, kind, start, end, after, flag, root):
    """0 unless the value at ``root`` reads the same through orjson and through this tape (no
    escaped key, no number that may read as a float, no duplicate key in any object); then 2
    when its bytes are already what ``orjson.dumps`` writes (no whitespace, orjson's escapes),
    else 1."""
    stop = after[root]
    verbatim = True
    for k in range(root, stop):
        f = flag[k]
        if f & (RESPELT | SPACED):
            verbatim = False
        if kind[k] == NUM and f & NOT_INT:
            return 0
        if kind[k] == OBJ:
            first = k + 1
            j = first
            while j < after[k]:
                if flag[j] & ESCAPED:
                    return 0
                q = first
                while q < j:
                    if same_key(b, start, end, q, j):
                        return 0
                    q = after[q + 1]
                j = after[j + 1]
    return 2 if verbatim else 1


@nb.njit(cache=True, nogil=True)
def same_key(b, start, end, p, q):
    m = end[p] - start[p]
    if end[q] - start[q] != m:
        return False
    sp, sq = start[p], start[q]
    for r in range(m):
        if b[sp + r] != b[sq + r]:
            return False
    return True


@nb.njit(cache=True, nogil=True)
def _put_hex(out, o, v):
    for sh in (12, 8, 4, 0):
        d = (v >> sh) & 15
        out[o] = d + 48 if d < 10 else d + 87
        o += 1
    return o


@nb.njit(cache=True, nogil=True)
def emit_string(b, s, e, escaped, out, o):
    """The string body ``b[s:e]`` (without quotes) in orjson's form at ``out[o:]``; returns the
    new end."""
    if not escaped:
        copy_bytes(out, o, b, s, e - s)
        return o + e - s
    q = s
    while q < e:
        c = b[q]
        if c != 92:
            out[o] = c
            o += 1
            q += 1
            continue
        x = b[q + 1]
        if x == 117:
            v = _hex4(b, q + 2, e)
            q += 6
            if 0xD800 <= v <= 0xDBFF:
                lo = _hex4(b, q + 2, e)
                q += 6
                v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00)
        else:
            q += 2
            if x == 47:  # \/ is a plain /
                out[o] = 47
                o += 1
                continue
            # \" \\ \b \f \n \r \t are written as they were
            out[o] = 92
            out[o + 1] = x
            o += 2
            continue
        if v < 32:
            out[o] = 92
            o += 1
            if v == 8:
                out[o] = 98
            elif v == 9:
                out[o] = 116
            elif v == 10:
                out[o] = 110
            elif v == 12:
                out[o] = 102
            elif v == 13:
                out[o] = 114
            else:
                out[o] = 117
                o = _put_hex(out, o + 1, v) - 1
            o += 1
        elif v == 34 or v == 92:
            out[o] = 92
            out[o + 1] = v
            o += 2
        elif v < 0x80:
            out[o] = v
            o += 1
        elif v < 0x800:
            out[o] = 0xC0 | (v >> 6)
            out[o + 1] = 0x80 | (v & 0x3F)
            o += 2
        elif v < 0x10000:
            out[o] = 0xE0 | (v >> 12)
            out[o + 1] = 0x80 | ((v >> 6) & 0x3F)
            out[o + 2] = 0x80 | (v & 0x3F)
            o += 3
        else:
            out[o] = 0xF0 | (v >> 18)
            out[o + 1] = 0x80 | ((v >> 12) & 0x3F)
            out[o + 2] = 0x80 | ((v >> 6) & 0x3F)
            out[o + 3] = 0x80 | (v & 0x3F)
            o += 4
    return o


@nb.njit(cache=True, nogil=True)
def emit(b, kind, start, end, after, flag, root, skip, out, o):
    """The value at ``root`` as ``orjson.dumps`` writes it, at ``out[o:]``, leaving out the
    object member whose key entry is ``skip`` (-1: none); returns the new end. The value must be
    :func:`plain`."""
    k = kind[root]
    if k == STR:
        out[o] = 34
        o = emit_string(b, start[root], end[root], flag[root] & ESCAPED, out, o + 1)
        out[o] = 34
        return o + 1
    if k != OBJ and k != ARR:
        m = end[root] - start[root]
        copy_bytes(out, o, b, start[root], m)
        return o + m
    stack_end = np.empty(MAX_DEPTH + 1, np.int64)
    stack_obj = np.empty(MAX_DEPTH + 1, np.bool_)
    stack_count = np.empty(MAX_DEPTH + 1, np.int64)
    sp = 0
    i = root
    while True:
        while sp > 0 and i == stack_end[sp - 1]:
            out[o] = 125 if stack_obj[sp - 1] else 93
            o += 1
            sp -= 1
        if sp == 0 and i != root:
            return o
        if sp > 0:
            if stack_obj[sp - 1]:
                if stack_count[sp - 1] % 2 == 0:
                    if i == skip:
                        i = after[i + 1]
                        continue
                    if stack_count[sp - 1] > 0:
                        out[o] = 44
                        o += 1
                else:
                    out[o] = 58
                    o += 1
            elif stack_count[sp - 1] > 0:
                out[o] = 44
                o += 1
            stack_count[sp - 1] += 1
        k = kind[i]
        if k == OBJ or k == ARR:
            out[o] = 123 if k == OBJ else 91
            o += 1
            stack_end[sp] = after[i]
            stack_obj[sp] = k == OBJ
            stack_count[sp] = 0
            sp += 1
            i += 1
            continue
        if k == STR:
            out[o] = 34
            o = emit_string(b, start[i], end[i], flag[i] & ESCAPED, out, o + 1)
            out[o] = 34
            o += 1
        else:
            for q in range(start[i], end[i]):
                out[o] = b[q]
                o += 1
        i += 1
        if sp == 0:
            return o


@nb.njit(cache=True, nogil=True)
def sorted_map(b, kind, start, end, after, flag, obj, out, o):
    """A flat object (every value a string, number, bool or null) with its keys sorted by their
    bytes (code points), as ``orjson.dumps(..., option=OPT_SORT_KEYS)``; returns the new end, or
    -1 when a value is an object or an array (the caller then lets orjson do it)."""
    m = (after[obj] - obj - 1) // 2
    order = np.empty(m, np.int64)
    j = obj + 1
    for q in range(m):
        if kind[j + 1] == OBJ or kind[j + 1] == ARR:
            return -1
        order[q] = j
        j += 2
    for q in range(1, m):  # insertion sort: maps are small
        x = order[q]
        r = q - 1
        while r >= 0 and _less(b, start, end, x, order[r]):
            order[r + 1] = order[r]
            r -= 1
        order[r + 1] = x
    out[o] = 123
    o += 1
    for q in range(m):
        if q:
            out[o] = 44
            o += 1
        k = order[q]
        out[o] = 34
        o = emit_string(b, start[k], end[k], 0, out, o + 1)
        out[o] = 34
        out[o + 1] = 58
        o += 2
        v = k + 1
        if kind[v] == STR:
            out[o] = 34
            o = emit_string(b, start[v], end[v], flag[v] & ESCAPED, out, o + 1)
            out[o] = 34
            o += 1
        else:
            for p in range(start[v], end[v]):
                out[o] = b[p]
                o += 1
    out[o] = 125
    return o + 1


@nb.njit(cache=True, nogil=True)
def _less(b, start, end, p, q):
    """Whether key ``p`` sorts before key ``q`` (UTF-8 bytes order is code point order)."""
    sp, sq = start[p], start[q]
    lp, lq = end[p] - sp, end[q] - sq
    m = min(lp, lq)
    for r in range(m):
        if b[sp + r] != b[sq + r]:
            return b[sp + r] < b[sq + r]
    return lp < lq


def key_table(*names: str) -> tuple[np.ndarray, np.ndarray]:
    """The keys for :func:`lookup`: their bytes one after another, and an index: the ``k + 1``
    offsets of the keys in those bytes, then ``L`` (one more than the longest key's length),
    for each length below ``L`` the first key of that length (-1: none), for each key the next
    key of its length (-1: none), and last ``k`` (so a member is compared with the keys of its
    length only)."""
    data = [n.encode() for n in names]
    k = len(data)
    longest = max((len(d) for d in data), default=0) + 1
    offsets = np.concatenate([[0], np.cumsum([len(d) for d in data])]).astype(np.int64)
    heads = np.full(longest, -1, np.int64)
    nexts = np.full(k, -1, np.int64)
    for w in reversed(range(k)):  # each length's keys in their order
        nexts[w] = heads[len(data[w])]
        heads[len(data[w])] = w
    index = np.concatenate([offsets, [longest], heads, nexts, [k]]).astype(np.int64)
    return np.frombuffer(b"".join(data), np.uint8).copy(), index


@nb.njit(cache=True, nogil=True)
def lookup(b, kind, start, end, after, obj, blob, index, slots):
    """The entries of ``obj``'s members named by the key table ``(blob, index)`` into ``slots``
    (the first ``k``; -1: absent, as are the slots past them; keys unescaped), walking the
    members once; a key named twice takes its first member."""
    for w in range(slots.shape[0]):
        slots[w] = -1
    if obj < 0 or kind[obj] != OBJ:
        return
    k = index[index.shape[0] - 1]
    longest = index[k + 1]
    heads = k + 2
    nexts = heads + longest
    j = obj + 1
    stop = after[obj]
    while j < stop:
        s = start[j]
        length = end[j] - s
        if length < longest:
            w = index[heads + length]
            while w >= 0:
                if slots[w] < 0:
                    o = index[w]
                    hit = True
                    for r in range(length):
                        if b[s + r] != blob[o + r]:
                            hit = False
                            break
                    if hit:
                        slots[w] = j + 1
                        break
                w = index[nexts + w]
        j = after[j + 1]


@nb.njit(cache=True, nogil=True)
def keys_plain(b, kind, start, end, after, flag, obj):
    """Whether the object ``obj``'s own keys are unescaped and distinct (its members are then
    what orjson reads)."""
    b, kind, start, end, after, flag = borrowed((b, kind, start, end, after, flag))
    first = obj + 1
    j = first
    while j < after[obj]:
        if flag[j] & ESCAPED:
            return False
        q = first
        while q < j:
            if same_key(b, start, end, q, j):
                return False
            q = after[q + 1]
        j = after[j + 1]
    return True
