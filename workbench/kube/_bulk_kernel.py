"""The compiled walks of :mod:`workbench.kube._bulk` over a List's tape (:mod:`._json_kernel`):
which items take the bulk path, the tape entries of the fields the tables read, the manifest
texts, the pods' rule signatures, and string, time and integer columns built from entries.

Entries are tape indices (-1: absent). Every function mirrors, field by field, what
:meth:`workbench.kube.normalize.Normalizer.add` and the row builders read; an item with a value
of a type they would treat specially is marked for the Python path instead.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from workbench.kube._json_kernel import (
    ARR,
    ESCAPED,
    FALSE,
    NULL,
    NUM,
    OBJ,
    STR,
    TRUE,
    borrowed,
    copy_bytes,
    emit,
    emit_string,
    key_table,
    load64,
    lookup,
    member,
    plain,
    same,
    sorted_map,
)

__all__ = ["EVENT_FIELDS", "POD_FIELDS"]


def _k(text: str) -> np.ndarray:
    return np.frombuffer(text.encode(), np.uint8).copy()


K_KIND, K_API, K_META, K_SPEC, K_STATUS, K_ITEMS = map(
    _k, ("kind", "apiVersion", "metadata", "spec", "status", "items")
)
K_NAME, K_NS, K_UID, K_RV, K_MF = map(_k, ("name", "namespace", "uid", "resourceVersion", "managedFields"))
V_POD, V_EVENT, V_V1 = _k("Pod"), _k("Event"), _k("v1")
K_CREATED, K_DELETION, K_OWNERS = _k("creationTimestamp"), _k("deletionTimestamp"), _k("ownerReferences")
K_LABELS, K_ANNOTATIONS = _k("labels"), _k("annotations")
K_HASH, K_MIRROR, K_CREATED_BY = (
    _k("pod-template-hash"),
    _k("kubernetes.io/config.mirror"),
    _k("kubernetes.io/created-by"),
)
K_NODE, K_POD_IP, K_HOST_IP, K_PRIORITY = _k("nodeName"), _k("podIP"), _k("hostIP"), _k("priorityClassName")
K_PHASE, K_REASON, K_MESSAGE, K_QOS = _k("phase"), _k("reason"), _k("message"), _k("qosClass")
K_CONDITIONS, K_TYPE, K_STATUS_F, K_LTT = _k("conditions"), _k("type"), _k("status"), _k("lastTransitionTime")
V_TRUE, V_SCHEDULED, V_INITIALIZED, V_READY = _k("True"), _k("PodScheduled"), _k("Initialized"), _k("Ready")
K_INIT_SPECS, K_SPECS = _k("initContainers"), _k("containers")
K_INIT_ST, K_ST = _k("initContainerStatuses"), _k("containerStatuses")
K_RESOURCES, K_OVERHEAD, K_IMAGE, K_RESTART_POLICY = (
    _k("resources"),
    _k("overhead"),
    _k("image"),
    _k("restartPolicy"),
)
K_READY_F, K_STARTED, K_RESTARTS, K_STATE, K_LAST = (
    _k("ready"),
    _k("started"),
    _k("restartCount"),
    _k("state"),
    _k("lastState"),
)
K_RUNNING, K_TERMINATED, K_WAITING = _k("running"), _k("terminated"), _k("waiting")
K_STARTED_AT, K_FINISHED_AT, K_CONTAINER_ID = _k("startedAt"), _k("finishedAt"), _k("containerID")
K_INVOLVED, K_REGARDING, K_SERIES, K_SOURCE, K_DEP_SOURCE = map(
    _k, ("involvedObject", "regarding", "series", "source", "deprecatedSource")
)
K_EVENT_TIME, K_FIRST, K_DEP_FIRST, K_LAST_TS, K_DEP_LAST = map(
    _k,
    ("eventTime", "firstTimestamp", "deprecatedFirstTimestamp", "lastTimestamp", "deprecatedLastTimestamp"),
)
K_LAST_OBSERVED, K_COUNT, K_DEP_COUNT = _k("lastObservedTime"), _k("count"), _k("deprecatedCount")
K_COMPONENT, K_HOST, K_REP_CONTROLLER, K_REP_COMPONENT, K_REP_INSTANCE = map(
    _k, ("component", "host", "reportingController", "reportingComponent", "reportingInstance")
)
K_NOTE = _k("note")

#: Columns of the ``fields`` array of :func:`pods`: entries per pod.
POD_FIELDS = ("obj_namespace", "obj_name", "obj_uid", "obj_version", "namespace", "name", "uid", "node", "created",
              "scheduled", "initialized", "ready_time", "pod_ip", "host_ip", "labels", "annotations",
              "template_hash", "mirror")  # fmt: skip
#: Columns of the ``fields`` array of :func:`events`.
EVENT_FIELDS = ("obj_namespace", "obj_name", "obj_uid", "obj_version", "namespace", "uid", "involved_kind",
                "involved_namespace", "involved_name", "involved_uid", "type", "reason", "message", "first_a",
                "event_time", "created", "last_a", "series_last", "component", "host")  # fmt: skip


@nb.njit(cache=True, nogil=True)
def children(kind, after, arr, hole_start, hole_end):
    """The entries of the array ``arr``'s elements, stepping over the unused entries
    ``[hole_start, hole_end)`` of a tape read in two halves (none when they are equal)."""
    kind, after = borrowed((kind, after))
    n = 0
    j = arr + 1
    while j < after[arr]:
        n += 1
        j = after[j]
        if j == hole_start:
            j = hole_end
    out = np.empty(n, np.int64)
    j = arr + 1
    for q in range(n):
        out[q] = j
        j = after[j]
        if j == hole_start:
            j = hole_end
    return out


@nb.njit(cache=True, nogil=True)
def _text_or_none(kind, e):
    """Whether entry ``e`` is absent, null or a string (what the rows take as they are)."""
    return e < 0 or kind[e] == STR or kind[e] == NULL


@nb.njit(cache=True, nogil=True)
def _nonempty_str(kind, start, end, e):
    return e >= 0 and kind[e] == STR and end[e] > start[e]


@nb.njit(cache=True, nogil=True)
def _truthy(kind, start, end, after, b, e):
    """Python truthiness of the value at ``e`` (absent: false)."""
    if e < 0:
        return False
    k = kind[e]
    if k == STR:
        return end[e] > start[e]
    if k == NUM:
        return not (end[e] - start[e] == 1 and b[start[e]] == 48)
    if k == TRUE:
        return True
    if k == OBJ or k == ARR:
        return after[e] > e + 1
    return False


# key tables for lookup(): the members each walk reads, by slot
MD = key_table("namespace", "name", "uid", "resourceVersion", "managedFields", "creationTimestamp",
               "deletionTimestamp", "ownerReferences", "labels", "annotations")  # fmt: skip
MD_NS, MD_NAME, MD_UID, MD_RV, MD_MF, MD_CREATED, MD_DELETION, MD_OWNERS, MD_LABELS, MD_ANNOTATIONS = range(
    10
)
POD = key_table("metadata", "spec", "status")
SPEC = key_table("nodeName", "initContainers", "containers", "resources", "overhead", "priorityClassName")
SP_NODE, SP_INIT, SP_CONTAINERS, SP_RESOURCES, SP_OVERHEAD, SP_PRIORITY = range(6)
STATUS = key_table("phase", "reason", "message", "qosClass", "conditions", "initContainerStatuses",
                   "containerStatuses", "podIP", "hostIP")  # fmt: skip
ST_PHASE, ST_REASON, ST_MESSAGE, ST_QOS, ST_CONDITIONS, ST_INIT, ST_CONTAINERS, ST_POD_IP, ST_HOST_IP = range(
    9
)
COND = key_table("type", "status", "reason", "message", "lastTransitionTime")
CSPEC = key_table("name", "image", "restartPolicy", "resources")
CST = key_table("name", "image", "ready", "started", "restartCount", "state", "lastState")
CST_STATE, CST_LAST = 5, 6
STATE = key_table("running", "terminated", "waiting")
EV = key_table("metadata", "namespace", "involvedObject", "regarding", "source", "deprecatedSource", "series",
               "type", "reason", "message", "note", "firstTimestamp", "deprecatedFirstTimestamp", "eventTime",
               "lastTimestamp", "deprecatedLastTimestamp", "count", "deprecatedCount", "reportingController",
               "reportingComponent", "reportingInstance")  # fmt: skip
(EV_META, EV_NS, EV_INVOLVED, EV_REGARDING, EV_SOURCE, EV_DEP_SOURCE, EV_SERIES, EV_TYPE, EV_REASON, EV_MESSAGE,
 EV_NOTE, EV_FIRST, EV_DEP_FIRST, EV_EVENT_TIME, EV_LAST, EV_DEP_LAST, EV_COUNT, EV_DEP_COUNT, EV_REP_CONTROLLER,
 EV_REP_COMPONENT, EV_REP_INSTANCE) = range(21)  # fmt: skip
INV = key_table("kind", "namespace", "name", "uid")
SRC = key_table("component", "host")
SER = key_table("lastObservedTime", "count")


@nb.njit(cache=True, nogil=True)
def _object_row(b, kind, start, end, after, top_ns, md, fields, q, is_event):
    """The ``objects`` row's namespace/name/uid/version entries into ``fields[q, 0:4]``, from
    the metadata's slots ``md``; False when a value is not text."""
    ns, name, uid, rv = md[MD_NS], md[MD_NAME], md[MD_UID], md[MD_RV]
    if not _nonempty_str(kind, start, end, name):
        return False
    if not (_text_or_none(kind, ns) and _text_or_none(kind, uid) and _text_or_none(kind, rv)):
        return False
    if not _nonempty_str(kind, start, end, ns):
        ns = -1
        if is_event:
            if not _text_or_none(kind, top_ns):
                return False
            if _nonempty_str(kind, start, end, top_ns):
                ns = top_ns
    fields[q, 0] = ns
    fields[q, 1] = name
    fields[q, 2] = uid if _nonempty_str(kind, start, end, uid) else -1
    fields[q, 3] = rv if _nonempty_str(kind, start, end, rv) else -1
    return True


@nb.njit(cache=True, nogil=True)
def _kind_is(b, kind, start, end, after, flag, item, want, api):
    k = member(b, kind, start, end, after, item, K_KIND)
    v = member(b, kind, start, end, after, item, K_API)
    return (
        k >= 0 and kind[k] == STR and not flag[k] & ESCAPED and same(b, start, end, k, want)
        and v >= 0 and kind[v] == STR and not flag[v] & ESCAPED and same(b, start, end, v, api)
    )  # fmt: skip


@nb.njit(cache=True, nogil=True)
def classify(b, kind, start, end, after, flag, items, typed):
    """Per item: 1 a core Pod, 2 a core Event that may take the bulk path, 0 the Python path
    (not an object, another kind, a kind to infer otherwise than from the typed List, a nested
    List, or JSON orjson would read differently from the tape); and whether the item lacks kind
    and apiVersion, which the typed List (``typed``: 1 a v1 PodList, 2 a v1 EventList, else 0)
    gives it."""
    b, kind, start, end, after, flag, items = borrowed((b, kind, start, end, after, flag, items))
    n = items.shape[0]
    out = np.zeros(n, np.int8)
    inferred = np.zeros(n, np.bool_)
    verbatim = np.zeros(n, np.bool_)
    for q in range(n):
        it = items[q]
        if kind[it] != OBJ:
            continue
        nested = member(b, kind, start, end, after, it, K_ITEMS)
        if nested >= 0 and kind[nested] == ARR:
            continue
        if _kind_is(b, kind, start, end, after, flag, it, V_POD, V_V1):
            code = 1
        elif _kind_is(b, kind, start, end, after, flag, it, V_EVENT, V_V1):
            code = 2
        elif (
            typed
            and member(b, kind, start, end, after, it, K_KIND) < 0
            and member(b, kind, start, end, after, it, K_API) < 0
        ):
            code = typed
            inferred[q] = True
        else:
            continue
        how = plain(b, kind, start, end, after, flag, it)
        if how:
            out[q] = code
            verbatim[q] = how == 2
    return out, inferred, verbatim


@nb.njit(cache=True, nogil=True)
def skips(b, kind, start, end, after, items):
    """Per item: the key entry of its ``metadata.managedFields`` member, or -1 (what
    :func:`pods` and :func:`events` put in their last column, found without them so that the
    manifest texts can be written while they run)."""
    b, kind, start, end, after, items = borrowed((b, kind, start, end, after, items))
    out = np.full(items.shape[0], -1, np.int64)
    for q in range(items.shape[0]):
        md = member(b, kind, start, end, after, items[q], K_META)
        mf = member(b, kind, start, end, after, md, K_MF)
        if mf >= 0:
            out[q] = mf - 1
    return out


@nb.njit(cache=True, nogil=True)
def manifests(b, kind, start, end, after, flag, items, skips, inferred, verbatim, prefix, out, views):
    """Each item's manifest text (without its metadata.managedFields member, whose key entry is
    ``skips[q]``) as an Arrow string view (``views[q]``, 16 bytes): an item whose bytes are
    already its text (``verbatim``, nothing to cut) is a view into ``b`` (buffer 0); any other
    is written into ``out`` (buffer 1, room for the copied items' bytes and their prefixes) and
    viewed there. An ``inferred`` item starts with ``prefix``
    (``{"apiVersion":"v1","kind":"Pod"``), as ``kinds._with_kind`` puts them."""
    b, kind, start, end, after, flag, items, skips, inferred, verbatim, prefix, out, views = borrowed(
        (b, kind, start, end, after, flag, items, skips, inferred, verbatim, prefix, out, views)
    )
    o = 0
    for q in range(items.shape[0]):
        it = items[q]
        if verbatim[q] and not inferred[q] and skips[q] < 0:
            _view(views, q, b, start[it], end[it] - start[it], 0)
            continue
        at = o
        if inferred[q]:
            for c in prefix:
                out[o] = c
                o += 1
            p = o  # the item's own "{" comes here
            o = _emit_item(b, kind, start, end, after, flag, it, skips[q], verbatim[q], out, o)
            if out[p + 1] == 125:  # {} → the prefix closed
                out[p] = 125
                o = p + 1
            else:
                out[p] = 44
        else:
            o = _emit_item(b, kind, start, end, after, flag, it, skips[q], verbatim[q], out, o)
        _view(views, q, out, at, o - at, 1)


@nb.njit(cache=True, nogil=True)
def _view(views, q, data, at, n, buffer):
    """The Arrow string view of ``data[at:at + n]`` in buffer ``buffer`` into ``views[q]``:
    length, then the text itself when it fits in 12 bytes, else its first 4 bytes, the buffer
    and the offset (little-endian int32s)."""
    v = views[q]
    v[:] = 0
    _put32(v, 0, n)
    if n <= 12:
        v[4 : 4 + n] = data[at : at + n]
        return
    v[4:8] = data[at : at + 4]
    _put32(v, 8, buffer)
    _put32(v, 12, at)


@nb.njit(cache=True, nogil=True)
def _put32(v, p, x):
    for k in range(4):
        v[p + k] = (x >> (8 * k)) & 255


@nb.njit(cache=True, nogil=True)
def _emit_item(b, kind, start, end, after, flag, item, skip, verbatim, out, o):
    """:func:`emit` of an item; one whose bytes are already orjson's (``verbatim``) is copied,
    less its ``skip`` member (``,"managedFields":[…]`` or ``"managedFields":[…],``)."""
    if not verbatim:
        return emit(b, kind, start, end, after, flag, item, skip, out, o)
    s, e = start[item], end[item]
    if skip < 0:
        copy_bytes(out, o, b, s, e - s)
        return o + e - s
    cut_from = start[skip] - 1  # the key's opening quote
    cut_to = end[skip + 1]
    if b[cut_from - 1] == 44:  # a comma before: take it out
        cut_from -= 1
    elif b[cut_to] == 44:  # the first member: take out the comma after it
        cut_to += 1
    m = cut_from - s
    copy_bytes(out, o, b, s, m)
    o += m
    m = e - cut_to
    copy_bytes(out, o, b, cut_to, m)
    return o + m


@nb.njit(cache=True, nogil=True)
def _first_conditions(b, kind, start, end, after, conds, slots, out):
    """lastTransitionTime's entry of the first condition of each type PodScheduled, Initialized,
    Ready (``out[0:3]``) when its status is "True" (what ``_condition_time`` reads), else -1."""
    out[0] = out[1] = out[2] = -1
    seen = 0
    if conds < 0 or kind[conds] != ARR:
        return
    j = conds + 1
    while j < after[conds]:
        if kind[j] == OBJ:
            lookup(b, kind, start, end, after, j, COND[0], COND[1], slots)
            t = slots[0]
            if t >= 0 and kind[t] == STR:
                for w, want in enumerate((V_SCHEDULED, V_INITIALIZED, V_READY)):
                    if not seen & (1 << w) and same(b, start, end, t, want):
                        seen |= 1 << w
                        st = slots[1]
                        if st >= 0 and kind[st] == STR and same(b, start, end, st, V_TRUE):
                            out[w] = slots[4]
        j = after[j]


@nb.njit(cache=True, nogil=True)
def _map_ok(kind, after, e):
    """labels/annotations the bulk path writes itself: absent, null or a flat object."""
    if e < 0 or kind[e] == NULL:
        return True
    if kind[e] != OBJ:
        return False
    j = e + 1
    while j < after[e]:
        if kind[j + 1] == OBJ or kind[j + 1] == ARR:
            return False
        j += 2
    return True


@nb.njit(cache=True, nogil=True)
def _put(out, o, c):
    out[o] = c
    return o + 1


@nb.njit(cache=True, nogil=True)
def _emit_or_dash(b, kind, start, end, after, flag, e, out, o):
    if e < 0:
        return _put(out, o, 45)
    return emit(b, kind, start, end, after, flag, e, -1, out, o)


@nb.njit(cache=True, nogil=True)
def _emit_slots(b, kind, start, end, after, flag, slots, upto, out, o):
    """The values of ``slots[0:upto]`` (absent ones as ``-``), separated by 0x02."""
    for w in range(upto):
        o = _emit_or_dash(b, kind, start, end, after, flag, slots[w], out, o)
        o = _put(out, o, 2)
    return o


@nb.njit(cache=True, nogil=True)
def _emit_state(b, kind, start, end, after, flag, state, out, o):
    """A container state with its times and container id left out."""
    if state < 0 or kind[state] != OBJ:
        return _emit_or_dash(b, kind, start, end, after, flag, state, out, o)
    o = _put(out, o, 123)
    j = state + 1
    while j < after[state]:
        o = emit(b, kind, start, end, after, flag, j, -1, out, o)
        o = _put(out, o, 58)
        v = j + 1
        if kind[v] == OBJ:
            o = _put(out, o, 123)
            m = v + 1
            while m < after[v]:
                if not (
                    same(b, start, end, m, K_STARTED_AT) or same(b, start, end, m, K_FINISHED_AT)
                    or same(b, start, end, m, K_CONTAINER_ID)
                ):  # fmt: skip
                    o = emit(b, kind, start, end, after, flag, m, -1, out, o)
                    o = _put(out, o, 58)
                    o = emit(b, kind, start, end, after, flag, m + 1, -1, out, o)
                    o = _put(out, o, 44)
                m = after[m + 1]
            o = _put(out, o, 125)
        else:
            o = emit(b, kind, start, end, after, flag, v, -1, out, o)
        o = _put(out, o, 44)
        j = after[v]
    return _put(out, o, 125)


@nb.njit(cache=True, nogil=True)
def _emit_list(b, kind, start, end, after, flag, arr, what, slots, out, o):
    """A list of conditions (``what`` 0), container specs (1) or container statuses (2), each
    object with only the members the pod rules read."""
    if arr < 0 or kind[arr] != ARR:
        return _emit_or_dash(b, kind, start, end, after, flag, arr, out, o)
    o = _put(out, o, 91)
    j = arr + 1
    while j < after[arr]:
        if kind[j] != OBJ:
            o = emit(b, kind, start, end, after, flag, j, -1, out, o)
        elif what == 0:
            lookup(b, kind, start, end, after, j, COND[0], COND[1], slots)
            o = _emit_slots(b, kind, start, end, after, flag, slots, 4, out, o)
        elif what == 1:
            lookup(b, kind, start, end, after, j, CSPEC[0], CSPEC[1], slots)
            o = _emit_slots(b, kind, start, end, after, flag, slots, 4, out, o)
        else:
            lookup(b, kind, start, end, after, j, CST[0], CST[1], slots)
            o = _emit_slots(b, kind, start, end, after, flag, slots, 5, out, o)
            o = _emit_state(b, kind, start, end, after, flag, slots[CST_STATE], out, o)
            o = _put(out, o, 2)
            o = _emit_state(b, kind, start, end, after, flag, slots[CST_LAST], out, o)
        o = _put(out, o, 3)
        j = after[j]
    return _put(out, o, 93)


@nb.njit(cache=True, nogil=True)
def _signature(b, kind, start, end, after, flag, md, sp, st, slots, out, o):
    """What the pod rules (kubectl status, reason, QoS, requests and limits, owner, the container
    rows' rule columns) read of a pod, and nothing that differs between replicas (names, uids,
    IPs, times, labels): pods with the same signature have the same rule results."""
    for w in (ST_PHASE, ST_REASON, ST_MESSAGE, ST_QOS):
        o = _emit_or_dash(b, kind, start, end, after, flag, st[w], out, o)
        o = _put(out, o, 1)
    o = _emit_list(b, kind, start, end, after, flag, st[ST_CONDITIONS], 0, slots, out, o)
    o = _put(out, o, 1)
    for w in (ST_INIT, ST_CONTAINERS):
        o = _emit_list(b, kind, start, end, after, flag, st[w], 2, slots, out, o)
        o = _put(out, o, 1)
    for w in (SP_INIT, SP_CONTAINERS):
        o = _emit_list(b, kind, start, end, after, flag, sp[w], 1, slots, out, o)
        o = _put(out, o, 1)
    for w in (SP_RESOURCES, SP_OVERHEAD, SP_PRIORITY):
        o = _emit_or_dash(b, kind, start, end, after, flag, sp[w], out, o)
        o = _put(out, o, 1)
    o = _put(out, o, 84 if _truthy(kind, start, end, after, b, md[MD_DELETION]) else 70)
    o = _put(out, o, 1)
    o = _emit_or_dash(b, kind, start, end, after, flag, md[MD_OWNERS], out, o)
    o = _put(out, o, 1)
    created_by = member(b, kind, start, end, after, md[MD_ANNOTATIONS], K_CREATED_BY)
    o = _emit_or_dash(b, kind, start, end, after, flag, created_by, out, o)
    return _put(out, o, 1)


@nb.njit(cache=True, nogil=True)
def _container_times(b, kind, start, end, after, statuses, p, is_init, slots, state_slots, rows, r):
    """One row per container status: (pod, is_init, index, state's startedAt, lastState's
    terminated finishedAt entries)."""
    if statuses < 0 or kind[statuses] != ARR:
        return r
    j = statuses + 1
    index = 0
    while j < after[statuses]:
        started = -1
        finished = -1
        if kind[j] == OBJ:
            lookup(b, kind, start, end, after, j, CST[0], CST[1], slots)
            state = slots[CST_STATE]
            if state >= 0 and kind[state] == OBJ:
                lookup(b, kind, start, end, after, state, STATE[0], STATE[1], state_slots)
                for w in range(3):
                    d = state_slots[w]
                    if d >= 0 and kind[d] == OBJ:
                        started = member(b, kind, start, end, after, d, K_STARTED_AT)
                        break
            last = slots[CST_LAST]
            if last >= 0 and kind[last] == OBJ:
                term = member(b, kind, start, end, after, last, K_TERMINATED)
                if term >= 0 and kind[term] == OBJ:
                    finished = member(b, kind, start, end, after, term, K_FINISHED_AT)
        rows[r, 0] = p
        rows[r, 1] = is_init
        rows[r, 2] = index
        rows[r, 3] = started
        rows[r, 4] = finished
        r += 1
        index += 1
        j = after[j]
    return r


@nb.njit(cache=True, nogil=True)
def hash_signatures(sig, offsets):
    """The 64-bit FNV-1a hash of each signature ``sig[offsets[r]:offsets[r + 1]]``."""
    sig, offsets = borrowed((sig, offsets))
    n = offsets.shape[0] - 1
    hashes = np.empty(n, np.uint64)
    for r in range(n):
        h = np.uint64(14695981039346656037)
        for k in range(offsets[r], offsets[r + 1]):
            h = (h ^ np.uint64(sig[k])) * np.uint64(1099511628211)
        hashes[r] = h
    return hashes


@nb.njit(cache=True, nogil=True)
def group_signatures(sig, starts, ends, hashes, ok):
    """Number the distinct signatures ``sig[starts[r]:ends[r]]`` of the rows ``ok`` in the order
    they first appear (a hash table keyed by their :func:`hash_signatures`, each match checked
    byte for byte): ``(group per row, -1 where not ok; number of groups)``."""
    sig, starts, ends, hashes, ok = borrowed((sig, starts, ends, hashes, ok))
    n = starts.shape[0]
    size = 16
    while size < 2 * n:
        size *= 2
    mask = np.uint64(size - 1)
    table = np.full(size, -1, np.int64)
    first = np.empty(n, np.int64)
    group = np.full(n, -1, np.int64)
    groups = 0
    for r in range(n):
        if not ok[r]:
            continue
        slot = hashes[r] & mask
        while True:
            g = table[slot]
            if g < 0:
                table[slot] = groups
                first[groups] = r
                group[r] = groups
                groups += 1
                break
            q = first[g]
            if hashes[q] == hashes[r] and ends[q] - starts[q] == ends[r] - starts[r]:
                same = True
                d = starts[q] - starts[r]
                for k in range(starts[r], ends[r]):
                    if sig[k] != sig[k + d]:
                        same = False
                        break
                if same:
                    group[r] = g
                    break
            slot = (slot + np.uint64(1)) & mask
    return group, groups


@nb.njit(cache=True, nogil=True)
def pods(b, kind, start, end, after, flag, items, sig_out):
    """For the pods ``items``: ``(ok, fields, sig_offsets, status_rows)``: whether each takes the
    bulk path, its entries (:data:`POD_FIELDS`), its signature (in ``sig_out``, which needs
    room for the items' bytes), and a row per container status (:func:`_container_times`)."""
    b, kind, start, end, after, flag, items, sig_out = borrowed(
        (b, kind, start, end, after, flag, items, sig_out)
    )
    n = items.shape[0]
    ok = np.zeros(n, np.bool_)
    fields = np.full((n, len(POD_FIELDS)), -1, np.int64)
    offsets = np.zeros(n + 1, np.int64)
    # scratch slots, borrowed (the owner is used again after the loop, so it outlives them)
    scratch = np.empty(41, np.int64)
    w = borrowed(scratch)
    top, md, sp, st = w[0:3], w[3:13], w[13:19], w[19:28]
    slots, state_slots, conds = w[28:35], w[35:38], w[38:41]
    fields_w = borrowed(fields)
    count = 0
    for q in range(n):
        status = member(b, kind, start, end, after, items[q], K_STATUS)
        for key in (K_INIT_ST, K_ST):
            arr = member(b, kind, start, end, after, status, key)
            if arr >= 0 and kind[arr] == ARR:
                j = arr + 1
                while j < after[arr]:
                    count += 1
                    j = after[j]
    rows = np.empty((count, 5), np.int64)
    rows_w = borrowed(rows)
    r = 0
    o = 0
    for q in range(n):
        it = items[q]
        offsets[q + 1] = o
        lookup(b, kind, start, end, after, it, POD[0], POD[1], top)
        meta, spec, status = top[0], top[1], top[2]
        if meta < 0 or kind[meta] != OBJ:
            continue
        if not (spec < 0 or kind[spec] == OBJ or kind[spec] == NULL):
            continue
        if not (status < 0 or kind[status] == OBJ or kind[status] == NULL):
            continue
        lookup(b, kind, start, end, after, meta, MD[0], MD[1], md)
        lookup(b, kind, start, end, after, spec, SPEC[0], SPEC[1], sp)
        lookup(b, kind, start, end, after, status, STATUS[0], STATUS[1], st)
        if not _object_row(b, kind, start, end, after, -1, md, fields_w, q, 0):
            continue
        node, pod_ip, host_ip = sp[SP_NODE], st[ST_POD_IP], st[ST_HOST_IP]
        labels, annotations = md[MD_LABELS], md[MD_ANNOTATIONS]
        if not (_text_or_none(kind, node) and _text_or_none(kind, pod_ip) and _text_or_none(kind, host_ip)):
            continue
        if not (_map_ok(kind, after, labels) and _map_ok(kind, after, annotations)):
            continue
        fields[q, 16] = member(b, kind, start, end, after, labels, K_HASH)
        fields[q, 17] = member(b, kind, start, end, after, annotations, K_MIRROR)
        if not _text_or_none(kind, fields[q, 16]) or not _text_or_none(kind, fields[q, 17]):
            continue
        fields[q, 4] = md[MD_NS]
        fields[q, 5] = md[MD_NAME]
        fields[q, 6] = md[MD_UID]
        fields[q, 7] = node
        fields[q, 8] = md[MD_CREATED]
        _first_conditions(b, kind, start, end, after, st[ST_CONDITIONS], slots, conds)
        fields[q, 9] = conds[0]
        fields[q, 10] = conds[1]
        fields[q, 11] = conds[2]
        fields[q, 12] = pod_ip if _nonempty_str(kind, start, end, pod_ip) else -1
        fields[q, 13] = host_ip if _nonempty_str(kind, start, end, host_ip) else -1
        fields[q, 14] = labels if labels >= 0 and kind[labels] == OBJ and after[labels] > labels + 1 else -1
        fields[q, 15] = (
            annotations
            if annotations >= 0 and kind[annotations] == OBJ and after[annotations] > annotations + 1
            else -1
        )
        o = _signature(b, kind, start, end, after, flag, md, sp, st, slots, sig_out, o)
        offsets[q + 1] = o
        r = _container_times(b, kind, start, end, after, st[ST_INIT], q, 1, slots, state_slots, rows_w, r)
        containers = st[ST_CONTAINERS]
        r = _container_times(b, kind, start, end, after, containers, q, 0, slots, state_slots, rows_w, r)
        ok[q] = True
    scratch[0] = 0
    return ok, fields, offsets, rows[:r]


@nb.njit(cache=True, nogil=True)
def _chain(b, kind, start, end, after, e1, e2):
    """``a or b`` on raw values: the first truthy one's entry (-1: neither)."""
    if _truthy(kind, start, end, after, b, e1):
        return e1
    if _truthy(kind, start, end, after, b, e2):
        return e2
    return -1


@nb.njit(cache=True, nogil=True)
def _first_count(b, kind, start, end, e1, e2, e3):
    """The first of the integer entries that is not 0 (``a or b or c or 1``; an entry that is
    absent or not an integer counts as 0), else 1: an event's series.count, count,
    deprecatedCount, as :func:`workbench.kube.resources.event_row` reads them."""
    for e in (e1, e2, e3):
        if e < 0 or kind[e] != NUM:
            continue
        s = start[e]
        neg = b[s] == 45
        v = 0
        for k in range(s + (1 if neg else 0), end[e]):
            v = v * 10 + (b[k] - 48)
        if v != 0:
            return -v if neg else v
    return 1


@nb.njit(cache=True, nogil=True)
def events(b, kind, start, end, after, flag, items, ok, fields, counts, hashes):
    """For the core/v1 Event ``items``, into their rows of ``ok`` (whether each takes the bulk
    path), ``fields`` (the entries of :data:`EVENT_FIELDS`, what
    :func:`workbench.kube.resources.event_row` reads; -1: none), ``counts`` (the events'
    counts, :func:`_first_count`) and ``hashes`` (of the names, :func:`name_hash`): the
    caller's arrays, whose rows the kernel fills (two threads fill two halves of one set of
    arrays)."""
    b, kind, start, end, after, flag, items, ok, fields, counts, hashes = borrowed(
        (b, kind, start, end, after, flag, items, ok, fields, counts, hashes)
    )
    n = items.shape[0]
    ok[:] = False
    fields[:, :] = -1
    counts[:] = 1
    hashes[:] = -1
    # scratch slots, borrowed (the owner is used again after the loop, so it outlives them)
    scratch = np.empty(52, np.int64)
    w = borrowed(scratch)
    ev, md, inv, src, ser, texts = w[0:21], w[21:31], w[31:35], w[35:37], w[37:39], w[39:52]
    for q in range(n):
        it = items[q]
        lookup(b, kind, start, end, after, it, EV[0], EV[1], ev)
        meta = ev[EV_META]
        if meta < 0 or kind[meta] != OBJ:
            continue  # no metadata (or null): the name comes from event_name(), the Python path
        lookup(b, kind, start, end, after, meta, MD[0], MD[1], md)
        if not _object_row(b, kind, start, end, after, ev[EV_NS], md, fields, q, 1):
            continue
        involved = _chain(b, kind, start, end, after, ev[EV_INVOLVED], ev[EV_REGARDING])
        source = _chain(b, kind, start, end, after, ev[EV_SOURCE], ev[EV_DEP_SOURCE])
        if (involved >= 0 and kind[involved] != OBJ) or (source >= 0 and kind[source] != OBJ):
            continue
        series = ev[EV_SERIES]
        if series >= 0 and kind[series] != OBJ:
            series = -1
        lookup(b, kind, start, end, after, involved, INV[0], INV[1], inv)
        lookup(b, kind, start, end, after, source, SRC[0], SRC[1], src)
        lookup(b, kind, start, end, after, series, SER[0], SER[1], ser)
        texts[0] = md[MD_NS]
        texts[1] = ev[EV_NS]
        texts[2] = inv[1]
        texts[3] = md[MD_UID]
        texts[4] = inv[0]
        texts[5] = inv[2]
        texts[6] = inv[3]
        texts[7] = ev[EV_TYPE]
        texts[8] = ev[EV_REASON]
        texts[9] = _chain(b, kind, start, end, after, src[0],
                          _chain(b, kind, start, end, after, ev[EV_REP_CONTROLLER], ev[EV_REP_COMPONENT]))  # fmt: skip
        texts[10] = _chain(b, kind, start, end, after, src[1], ev[EV_REP_INSTANCE])
        texts[11] = src[0]
        texts[12] = src[1]
        good = True
        for e in texts:
            if not _text_or_none(kind, e):
                good = False
        for w in (EV_REP_CONTROLLER, EV_REP_COMPONENT, EV_REP_INSTANCE):
            if not _text_or_none(kind, ev[w]):
                good = False
        if not good:
            continue
        ns = -1
        for e in (texts[0], texts[1], texts[2]):
            if _nonempty_str(kind, start, end, e):
                ns = e
                break
        fields[q, 4] = ns
        fields[q, 5] = texts[3]
        fields[q, 6] = texts[4]
        fields[q, 7] = texts[2]
        fields[q, 8] = texts[5]
        fields[q, 9] = texts[6]
        fields[q, 10] = texts[7]
        fields[q, 11] = texts[8]
        message = ev[EV_MESSAGE]
        if message < 0 or kind[message] == NULL:
            message = ev[EV_NOTE]
        fields[q, 12] = message if message >= 0 and kind[message] == STR else -1
        fields[q, 13] = _chain(b, kind, start, end, after, ev[EV_FIRST], ev[EV_DEP_FIRST])
        fields[q, 14] = ev[EV_EVENT_TIME]
        fields[q, 15] = md[MD_CREATED]
        fields[q, 16] = _chain(b, kind, start, end, after, ev[EV_LAST], ev[EV_DEP_LAST])
        fields[q, 17] = ser[0]
        counts[q] = _first_count(b, kind, start, end, ser[1], ev[EV_COUNT], ev[EV_DEP_COUNT])
        fields[q, 18] = texts[9]
        fields[q, 19] = texts[10]
        hashes[q] = name_hash(b, kind, start, end, flag, md[MD_NAME])
        ok[q] = True
    scratch[0] = 0


# what newest_timestamp() reads: an item's members, its status's, a condition's, a container
# status's and a container state's
NT_TOP = key_table("metadata", "status", "firstTimestamp", "lastTimestamp", "eventTime", "deprecatedFirstTimestamp",
                   "deprecatedLastTimestamp", "series")  # fmt: skip
NT_STATUS = key_table("startTime", "completionTime", "lastScheduleTime", "lastSuccessfulTime", "conditions",
                      "initContainerStatuses", "containerStatuses")  # fmt: skip
NT_COND = key_table("lastTransitionTime", "lastProbeTime", "lastHeartbeatTime", "lastUpdateTime")
NT_CS = key_table("state", "lastState")
NT_DETAIL = key_table("startedAt", "finishedAt")


@nb.njit(cache=True, nogil=True)
def _time_text(b, kind, start, end, e, q, newest, entries, owners, r):
    """Item ``q``'s newest time so far with the entry ``e``'s (as :func:`times_all` reads it);
    a time in another form is noted in ``entries``/``owners`` for Python to read."""
    v = _entry_time(b, kind, start, end, e)
    if v == -2:
        entries[r] = e
        owners[r] = q
        return r + 1
    if v != -1 and v > newest[q]:
        newest[q] = v
    return r


@nb.njit(cache=True, nogil=True)
def _loops(kind, e):
    """Whether ``for x in value or []`` reads the value at ``e`` without an error: absent, null,
    an array, an object or a string (the last two give no mapping); numbers and booleans are
    left to Python (``false`` and ``0`` would give nothing, the others fail)."""
    return e < 0 or kind[e] == NULL or kind[e] == ARR or kind[e] == OBJ or kind[e] == STR


@nb.njit(cache=True, nogil=True)
def newest_times(b, kind, start, end, after, items):
    """The newest time (µs) of each of the ``items`` among the texts
    :func:`workbench.kube._common.newest_timestamp` reads: ``(newest, entries, owners, ok)``,
    ``newest`` the minimum int64 where none is a time in the API's form, then the texts in
    another form for Python to read and the position of their item among ``items``; ``ok``
    False where the item is left to the Python path (metadata that is not an object, or a
    number or boolean where newest_timestamp loops over a list)."""
    b, kind, start, end, after, items = borrowed((b, kind, start, end, after, items))
    n = items.shape[0]
    cap = 0
    for q in range(n):
        cap += after[items[q]] - items[q]  # at most one time per entry (pages past r stay untouched)
    entries = np.empty(cap, np.int64)
    owners = np.empty(cap, np.int64)
    ok = np.ones(n, np.bool_)
    newest = np.full(n, np.iinfo(np.int64).min, np.int64)
    scratch = np.empty(23, np.int64)
    w = borrowed(scratch)
    top, st, cond, cs, det = w[0:8], w[8:15], w[15:19], w[19:21], w[21:23]
    r = 0
    for q in range(n):
        it = items[q]
        lookup(b, kind, start, end, after, it, NT_TOP[0], NT_TOP[1], top)
        meta = top[0]
        if meta < 0 or kind[meta] != OBJ:
            ok[q] = False
            continue
        begin = r
        created = member(b, kind, start, end, after, meta, K_CREATED)
        r = _time_text(b, kind, start, end, created, q, newest, entries, owners, r)
        status = top[1]
        if status >= 0 and kind[status] == OBJ:
            lookup(b, kind, start, end, after, status, NT_STATUS[0], NT_STATUS[1], st)
            if not (_loops(kind, st[4]) and _loops(kind, st[5]) and _loops(kind, st[6])):
                ok[q] = False
                r = begin  # (its newest time is not used)
                continue
            for k in range(4):
                r = _time_text(b, kind, start, end, st[k], q, newest, entries, owners, r)
            conditions = st[4]
            if conditions >= 0 and kind[conditions] == ARR:
                j = conditions + 1
                while j < after[conditions]:
                    if kind[j] == OBJ:
                        lookup(b, kind, start, end, after, j, NT_COND[0], NT_COND[1], cond)
                        for k in range(4):
                            r = _time_text(b, kind, start, end, cond[k], q, newest, entries, owners, r)
                    j = after[j]
            for statuses in (st[5], st[6]):
                if statuses < 0 or kind[statuses] != ARR:
                    continue
                j = statuses + 1
                while j < after[statuses]:
                    if kind[j] == OBJ:
                        lookup(b, kind, start, end, after, j, NT_CS[0], NT_CS[1], cs)
                        for state in (cs[0], cs[1]):
                            if state < 0 or kind[state] != OBJ:
                                continue
                            m = state + 1  # every member's value: state.values()
                            while m < after[state]:
                                detail = m + 1
                                if kind[detail] == OBJ:
                                    lookup(
                                        b, kind, start, end, after, detail, NT_DETAIL[0], NT_DETAIL[1], det
                                    )
                                    r = _time_text(b, kind, start, end, det[0], q, newest, entries, owners, r)
                                    r = _time_text(b, kind, start, end, det[1], q, newest, entries, owners, r)
                                m = after[detail]
                    j = after[j]
        for k in range(2, 7):
            r = _time_text(b, kind, start, end, top[k], q, newest, entries, owners, r)
        series = top[7]
        if series >= 0 and kind[series] == OBJ:
            last = member(b, kind, start, end, after, series, K_LAST_OBSERVED)
            r = _time_text(b, kind, start, end, last, q, newest, entries, owners, r)
    scratch[0] = 0
    return newest, entries[:r], owners[:r], ok


@nb.njit(cache=True, nogil=True)
def name_hash(b, kind, start, end, flag, e):
    """A non-negative 63-bit hash (FNV-1a on eight bytes a step) of the string entry ``e``'s
    bytes; -1 when it is not a string or has escapes (two spellings of one text would hash
    apart)."""
    if e < 0 or kind[e] != STR or flag[e] & ESCAPED:
        return -1
    h = np.uint64(0xCBF29CE484222325) ^ np.uint64(end[e] - start[e])
    k = start[e]
    while k + 8 <= end[e]:  # eight bytes a step
        h = (h ^ load64(b, k)) * np.uint64(0x100000001B3)
        h ^= h >> np.uint64(29)
        k += 8
    for j in range(k, end[e]):
        h = (h ^ np.uint64(b[j])) * np.uint64(0x100000001B3)
    return np.int64(h >> np.uint64(1))


@nb.njit(cache=True, nogil=True)
def all_distinct(values):
    """Whether the non-negative ``values`` are all different (an open-addressing set, indexed
    by the high bits of the value times 2**64 / golden ratio)."""
    n = values.shape[0]
    bits = 4
    while (1 << bits) < 2 * n:
        bits += 1
    table = np.full(1 << bits, -1, np.int64)
    mask = (1 << bits) - 1
    for v in values:
        i = np.int64((np.uint64(v) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - bits))  # the high bits
        while table[i] >= 0:
            if table[i] == v:
                return False
            i = (i + 1) & mask
        table[i] = v
    return True


# --- columns from entries --------------------------------------------------------------------
@nb.njit(cache=True, nogil=True)
def strings(b, kind, start, end, flag, entries):
    """The string entries' decoded text (JSON escapes resolved) as Arrow buffers ``(data,
    offsets, valid)``; entries that are absent or not strings are null."""
    b, kind, start, end, flag, entries = borrowed((b, kind, start, end, flag, entries))
    n = entries.shape[0]
    size = 0
    for q in range(n):
        e = entries[q]
        if e >= 0 and kind[e] == STR:
            size += end[e] - start[e]
    data = np.empty(size, np.uint8)
    data_w = borrowed(data)  # returned: outlives the loop
    offsets = np.empty(n + 1, np.int64)
    valid = np.zeros(n, np.bool_)
    offsets[0] = 0
    o = 0
    for q in range(n):
        e = entries[q]
        if e >= 0 and kind[e] == STR:
            valid[q] = True
            o = _decode(b, start[e], end[e], flag[e] & ESCAPED, data_w, o)
        offsets[q + 1] = o
    return data, offsets, valid


@nb.njit(cache=True, nogil=True)
def _decode(b, s, e, escaped, out, o):
    """The string body ``b[s:e]`` with its escapes resolved (the text Python reads)."""
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
        if x != 117:
            q += 2
            if x == 98:
                c = 8
            elif x == 102:
                c = 12
            elif x == 110:
                c = 10
            elif x == 114:
                c = 13
            elif x == 116:
                c = 9
            else:
                c = x  # \" \\ \/
            out[o] = c
            o += 1
            continue
        v = 0
        for k in range(q + 2, q + 6):
            d = b[k]
            v = v * 16 + (d - 48 if d <= 57 else (d - 87 if d >= 97 else d - 55))
        q += 6
        if 0xD800 <= v <= 0xDBFF:
            lo = 0
            for k in range(q + 2, q + 6):
                d = b[k]
                lo = lo * 16 + (d - 48 if d <= 57 else (d - 87 if d >= 97 else d - 55))
            q += 6
            v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00)
        if v < 0x80:
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
def maps(b, kind, start, end, after, flag, entries):
    """``json_text`` of flat objects (keys sorted) as Arrow buffers; absent entries are null."""
    b, kind, start, end, after, flag, entries = borrowed((b, kind, start, end, after, flag, entries))
    n = entries.shape[0]
    size = 0
    for q in range(n):
        e = entries[q]
        if e >= 0:
            size += end[e] - start[e]
    data = np.empty(size, np.uint8)
    data_w = borrowed(data)  # returned: outlives the loop
    offsets = np.empty(n + 1, np.int64)
    valid = np.zeros(n, np.bool_)
    offsets[0] = 0
    o = 0
    for q in range(n):
        e = entries[q]
        if e >= 0:
            valid[q] = True
            o = sorted_map(b, kind, start, end, after, flag, e, data_w, o)
        offsets[q + 1] = o
    return data, offsets, valid


_DAYS_BEFORE = np.array([0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334], np.int64)
_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int64)


@nb.njit(cache=True, nogil=True)
def _digits(b, s, m):
    v = 0
    for k in range(s, s + m):
        d = b[k] - 48
        if d < 0 or d > 9:
            return -1
        v = v * 10 + d
    return v


@nb.njit(cache=True, nogil=True)
def _time(b, s, e):
    """µs since the epoch of ``YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`` (what the API writes); -1: not a
    valid time; -2: another form, for Python to read."""
    m = e - s
    if m < 20 or b[e - 1] != 90:  # Z
        return -2
    if b[s + 4] != 45 or b[s + 7] != 45 or b[s + 10] != 84 or b[s + 13] != 58 or b[s + 16] != 58:
        return -2
    frac = 0
    if m > 20:
        if b[s + 19] != 46 or m > 30:
            return -2
        digits = m - 21
        if digits < 1:
            return -2
        scale = 100000
        for k in range(s + 20, e - 1):
            d = b[k] - 48
            if d < 0 or d > 9:
                return -2
            if scale >= 1:
                frac += d * scale
            scale //= 10
    year, month, day = _digits(b, s, 4), _digits(b, s + 5, 2), _digits(b, s + 8, 2)
    hour, minute, second = _digits(b, s + 11, 2), _digits(b, s + 14, 2), _digits(b, s + 17, 2)
    if year < 1 or month < 1 or month > 12 or day < 1 or hour < 0 or minute < 0 or second < 0:
        return -2
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if day > _MONTH_DAYS[month - 1] + (1 if leap and month == 2 else 0):
        return -1
    if hour > 23 or minute > 59 or second > 59:
        return -2
    y = year - 1
    days = y * 365 + y // 4 - y // 100 + y // 400 + _DAYS_BEFORE[month - 1] + day - 1
    if leap and month > 2:
        days += 1
    days -= 719162  # 0001-01-01 → 1970-01-01
    return ((days * 24 + hour) * 60 + minute) * 60_000_000 + second * 1_000_000 + frac


@nb.njit(cache=True, nogil=True)
def times_all(b, kind, start, end, fields, cols):
    """``parse_time`` of the entries in the columns ``cols`` of ``fields`` as µs, in one pass,
    row by row (a row's entries are near each other): ``(values, state)``, one column per
    column of ``cols``, state 0 null (absent, not text, empty or not a time), 1 a value, 2 text
    another form for Python to read."""
    b, kind, start, end, fields, cols = borrowed((b, kind, start, end, fields, cols))
    n, m = fields.shape[0], cols.shape[0]
    values = np.zeros((n, m), np.int64)
    state = np.zeros((n, m), np.int8)
    for q in range(n):
        for c in range(m):
            v = _entry_time(b, kind, start, end, fields[q, cols[c]])
            if v == -2:
                state[q, c] = 2
            elif v != -1:
                values[q, c] = v
                state[q, c] = 1
    return values, state


@nb.njit(cache=True, nogil=True)
def _entry_time(b, kind, start, end, e):
    """:func:`_time` of the entry ``e``: -1 (none) where it is absent, not text or empty."""
    if e < 0 or kind[e] != STR or end[e] == start[e]:
        return -1
    return _time(b, start[e], end[e])


@nb.njit(cache=True, nogil=True)
def item_bytes(start, end, items):
    """``(start, end)`` byte offsets of each item."""
    start, end, items = borrowed((start, end, items))
    out = np.empty((items.shape[0], 2), np.int64)
    for q in range(items.shape[0]):
        out[q, 0] = start[items[q]]
        out[q, 1] = end[items[q]]
    return out


_ = (FALSE, emit_string)  # re-exported names the tests use


#: what :func:`text_views` makes of a column: the string as it is; the string less the
#: whitespace at its ends (``str.strip``); the string when it is an event type (Normal or
#: Warning), else null; two strings joined by "/" when both are non-empty, else the non-empty one
TEXT, STRIPPED, EVENT_TYPE, JOINED = 0, 1, 2, 3
V_NORMAL, V_WARNING = _k("Normal"), _k("Warning")


@nb.njit(cache=True, nogil=True)
def text_views(b, kind, start, end, flag, fields, cols, ops, limit):
    """Text columns of ``fields`` as Arrow string views, in one pass item by item (an item's
    entries and bytes are near each other): column ``c`` is ``ops[c]`` (:data:`TEXT` …) of the
    entries in ``fields[:, cols[c, 0]]`` (and, :data:`JOINED`, ``fields[:, cols[c, 1]]``).
    Returns ``(out, views, valid, rows)``: ``views[c * rows + q]`` is row ``q`` of column ``c``
    (16 bytes, :func:`_view64`), into ``b`` (buffer 0) where the text is the string's own bytes,
    else into ``out`` (buffer 1: strings with escapes, decoded; joined strings); ``rows``: the
    rows read, all of them unless ``out`` would pass ``limit`` bytes (the views' offsets are
    int32s): the caller reads the rest again."""
    b, kind, start, end, flag, fields, cols, ops = borrowed((b, kind, start, end, flag, fields, cols, ops))
    n = fields.shape[0]
    m = cols.shape[0]
    size = 0
    rows = n
    for q in range(n):
        need = 0
        for c in range(m):
            e = fields[q, cols[c, 0]]
            if ops[c] == JOINED:
                e2 = fields[q, cols[c, 1]]
                if _nonempty_str(kind, start, end, e) and _nonempty_str(kind, start, end, e2):
                    need += end[e] - start[e] + 1 + end[e2] - start[e2]
                    continue
                if not _nonempty_str(kind, start, end, e):
                    e = e2
            if e >= 0 and kind[e] == STR and flag[e] & ESCAPED:
                need += end[e] - start[e]
        if size + need > limit:
            rows = q
            break
        size += need
    out = np.empty(size, np.uint8)
    views = np.empty((m * rows, 2), np.uint64)  # 16 bytes a view
    valid = np.zeros((m, rows), np.bool_)
    out_w, views_w = borrowed((out, views))  # returned: they outlive the loop
    o = 0
    for q in range(rows):
        for c in range(m):
            op = ops[c]
            e = fields[q, cols[c, 0]]
            if op == JOINED:
                e2 = fields[q, cols[c, 1]]
                if _nonempty_str(kind, start, end, e) and _nonempty_str(kind, start, end, e2):
                    at = o
                    o = _decode(b, start[e], end[e], flag[e] & ESCAPED, out_w, o)
                    out_w[o] = 47  # /
                    o = _decode(b, start[e2], end[e2], flag[e2] & ESCAPED, out_w, o + 1)
                    _view64(views_w, c * rows + q, out_w, at, o - at, 1)
                    valid[c, q] = True
                    continue
                if not _nonempty_str(kind, start, end, e):
                    e = e2 if _nonempty_str(kind, start, end, e2) else -1
            if e < 0 or kind[e] != STR:
                views_w[c * rows + q, 0] = 0  # null: no text
                views_w[c * rows + q, 1] = 0
                continue
            if flag[e] & ESCAPED:
                at = o
                o = _decode(b, start[e], end[e], 1, out_w, o)
                valid[c, q] = _put_text(views_w, c * rows + q, out_w, at, o, 1, op)
            else:
                valid[c, q] = _put_text(views_w, c * rows + q, b, start[e], end[e], 0, op)
    return out, views, valid, rows


@nb.njit(cache=True, nogil=True)
def _put_text(views, r, d, s, e, buffer, op):
    """The view of ``d[s:e]`` (in buffer ``buffer``) as ``op`` makes it into ``views[r]``;
    False (null) for an :data:`EVENT_TYPE` that is not one."""
    if op == STRIPPED:
        while s < e:
            w = _space_at_start(d, s, e)
            if w == 0:
                break
            s += w
        while s < e:
            w = _space_at_end(d, s, e)
            if w == 0:
                break
            e -= w
    elif op == EVENT_TYPE and not (_bytes_are(d, s, e, V_NORMAL) or _bytes_are(d, s, e, V_WARNING)):
        views[r, 0] = 0
        views[r, 1] = 0
        return False
    _view64(views, r, d, s, e - s, buffer)
    return True


@nb.njit(cache=True, nogil=True)
def _view64(views, r, data, at, n, buffer):
    """:func:`_view` into ``views[r]`` as two uint64s (written whole: no zeroing first)."""
    if n > 12:
        views[r, 0] = np.uint64(n) | (_low_bytes(data, at, 4) << np.uint64(32))
        views[r, 1] = np.uint64(buffer) | (np.uint64(at) << np.uint64(32))
        return
    views[r, 0] = np.uint64(n) | (_low_bytes(data, at, min(n, 4)) << np.uint64(32))
    views[r, 1] = _low_bytes(data, at + 4, n - 4) if n > 4 else np.uint64(0)


@nb.njit(cache=True, nogil=True)
def _low_bytes(data, at, k):
    """``data[at:at + k]`` (``k`` ≤ 8) as a little-endian uint64, zero above."""
    if at + 8 <= data.shape[0]:
        word = load64(data, at)
        return word if k == 8 else word & ((np.uint64(1) << np.uint64(8 * k)) - np.uint64(1))
    word = np.uint64(0)
    for j in range(k):
        word |= np.uint64(data[at + j]) << np.uint64(8 * j)
    return word


@nb.njit(cache=True, nogil=True)
def _bytes_are(d, s, e, text):
    if e - s != text.shape[0]:
        return False
    for k in range(text.shape[0]):
        if d[s + k] != text[k]:
            return False
    return True


@nb.njit(cache=True, nogil=True)
def _is_space(c):
    """An ASCII character ``str.isspace`` takes: \\t \\n \\v \\f \\r, U+001C–U+001F, space."""
    return c == 32 or 9 <= c <= 13 or 28 <= c <= 31


@nb.njit(cache=True, nogil=True)
def _space_at_start(d, s, e):
    """The length in bytes of the whitespace character (``str.isspace``) that UTF-8 text
    ``d[s:e]`` starts with; 0: none. Beyond ASCII: U+0085, U+00A0, U+1680, U+2000–U+200A,
    U+2028, U+2029, U+202F, U+205F, U+3000."""
    c = d[s]
    if c < 0x80:
        return 1 if _is_space(c) else 0
    if e - s < 2:
        return 0
    c1 = d[s + 1]
    if c == 0xC2:
        return 2 if c1 == 0x85 or c1 == 0xA0 else 0
    if e - s < 3:
        return 0
    return 3 if _space3(c, c1, d[s + 2]) else 0


@nb.njit(cache=True, nogil=True)
def _space_at_end(d, s, e):
    """The length in bytes of the whitespace character that ``d[s:e]`` ends with; 0: none."""
    c = d[e - 1]
    if c < 0x80:
        return 1 if _is_space(c) else 0
    if e - s >= 2 and d[e - 2] == 0xC2 and (c == 0x85 or c == 0xA0):
        return 2
    if e - s >= 3 and _space3(d[e - 3], d[e - 2], c):
        return 3
    return 0


@nb.njit(cache=True, nogil=True)
def _space3(c0, c1, c2):
    """Whether the three bytes are a whitespace character's UTF-8."""
    if c0 == 0xE2:
        if c1 == 0x80:
            return c2 <= 0x8A or c2 == 0xA8 or c2 == 0xA9 or c2 == 0xAF
        return c1 == 0x81 and c2 == 0x9F
    return (c0 == 0xE1 and c1 == 0x9A and c2 == 0x80) or (c0 == 0xE3 and c1 == 0x80 and c2 == 0x80)
