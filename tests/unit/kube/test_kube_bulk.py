"""The bulk JSON ingest path gives exactly what parsing and then normalising give.

``normalize_json(raw)`` and ``Normalizer.add_json(raw)`` read Kubernetes JSON straight from the
bytes; for any bytes they must leave the tables (columns, dtypes, values, row order) and the
warnings that ``normalize([parse_json(raw)])`` and ``Normalizer.add(parse_json(raw))`` leave, or
raise what ``parse_json`` raises (same type, same message), because users read the same tables
whichever path a file took. The inputs are the real samples serialised in several ways, the B3
benchmark lists, broken variants of real pods and events, and JSON-level edge cases (numbers,
duplicate keys, escapes, whitespace, encodings, truncation, nesting) inside normal Lists.
"""

from __future__ import annotations

import copy
import json
import random
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from workbench.errors import ParameterError
from workbench.kube import NORMALIZED_TABLES, Normalizer, _bulk, normalize, normalize_json, parse_json
from workbench.kube import _bulk_kernel as K
from workbench.kube import _json_kernel as J
from workbench.sources.files import read_manifest_tree


def _add_json(normalizer: Normalizer, raw: bytes, **kwargs: Any) -> None:
    normalizer.add_json(raw, **kwargs)


T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
#: Stands for "now" in both results: rows whose time fell back to the clock during a comparison.
_NOW = datetime(1970, 1, 1, tzinfo=UTC)


# --- the comparison ------------------------------------------------------------------------------
def _outcome(run: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", run()
    except Exception as err:  # noqa: BLE001 - the point is to compare what each side raises
        return "raised", (type(err), str(err))


def _settled(frame: pl.DataFrame, clock: tuple[datetime, datetime]) -> pl.DataFrame:
    """``frame`` with every time read off the clock during the comparison (between the two times
    of ``clock``) set to one value: an object without timestamps added without ``observed_at``
    is observed "now", a little later on the second side."""
    start, end, now = (pl.lit(t, dtype=pl.Datetime("us", "UTC")) for t in (*clock, _NOW))
    times = [c for c, t in frame.schema.items() if isinstance(t, pl.Datetime)]
    return frame.with_columns(
        pl.when(pl.col(c).is_between(start, end)).then(now).otherwise(pl.col(c)).alias(c) for c in times
    )


def _assert_same_tables(
    got: dict[str, pl.DataFrame],
    want: dict[str, pl.DataFrame],
    label: str,
    *,
    clock: tuple[datetime, datetime] | None = None,
) -> None:
    assert list(got) == list(want) == list(NORMALIZED_TABLES), label
    for name in NORMALIZED_TABLES:
        ours, theirs = got[name], want[name]
        if ours.schema == theirs.schema and ours.equals(theirs):
            continue  # the quick check; assert_frame_equal says what differs
        if clock is not None:
            ours, theirs = _settled(ours, clock), _settled(theirs, clock)
        try:
            assert_frame_equal(ours, theirs)
        except AssertionError as err:
            raise AssertionError(f"{label}: table {name!r} differs: {err}") from None


def _assert_same_outcome(got: tuple[str, Any], want: tuple[str, Any], label: str) -> None:
    """Both gave a result, or both raised the same type of error with the same message."""
    if got[0] == want[0] == "ok":
        return
    assert got == want, f"{label}: {got} != {want}"


def _assert_same_results(
    got: tuple[str, Any], want: tuple[str, Any], label: str, clock: tuple[datetime, datetime]
) -> None:
    _assert_same_outcome(got, want, label)
    if got[0] == "ok":
        _assert_same_tables(got[1], want[1], label, clock=clock)


def _normalizer_tables(raw: bytes, *, cluster: str, observed_at: datetime | None) -> dict[str, pl.DataFrame]:
    normalizer = Normalizer(cluster=cluster)
    normalizer.add(parse_json(raw), observed_at=observed_at)
    return normalizer.tables()


def _same(
    raw: bytes,
    *,
    observed_at: datetime | None = T0,
    deleted: bool = False,
    origin: str | None = None,
    cluster: str = "c",
) -> None:
    """``normalize_json`` gives what ``normalize([parse_json(raw)])`` gives, and ``add_json`` leaves
    the tables and warnings ``add(parse_json(raw))`` leaves; or both raise the same error."""
    start = datetime.now(UTC) - timedelta(seconds=1)
    doc = _outcome(lambda: parse_json(raw))
    if doc[0] == "ok" and isinstance(doc[1], dict):
        want = _outcome(lambda: normalize([doc[1]], cluster=cluster, observed_at=observed_at))
    else:  # normalize() would take a non-mapping for a read_manifests item: the Normalizer's answer
        want = _outcome(lambda: _normalizer_tables(raw, cluster=cluster, observed_at=observed_at))
    got = _outcome(lambda: normalize_json(raw, cluster=cluster, observed_at=observed_at))

    kwargs = {"observed_at": observed_at, "deleted": deleted, "origin": origin}
    reference, candidate = Normalizer(cluster=cluster), Normalizer(cluster=cluster)
    want_add = _outcome(lambda: reference.add(parse_json(raw), **kwargs))
    got_add = _outcome(lambda: _add_json(candidate, raw, **kwargs))
    want_n, got_n = _outcome(reference.tables), _outcome(candidate.tables)
    clock = (start, datetime.now(UTC) + timedelta(seconds=1))

    _assert_same_results(got, want, "normalize_json", clock)
    _assert_same_outcome(got_add, want_add, "add_json")
    _assert_same_results(got_n, want_n, "add_json then tables()", clock)
    assert candidate.warnings == reference.warnings


def _same_steps(steps: list[tuple[bytes, bool, dict[str, Any]]]) -> None:
    """One Normalizer fed each ``(raw, as_json, kwargs)`` step with ``add_json`` where ``as_json``
    (else ``add(parse_json(raw))``) ends as one fed every step with ``add(parse_json(raw))``: the
    same error at each step, the same tables and warnings at the end."""
    start = datetime.now(UTC) - timedelta(seconds=1)
    reference, candidate = Normalizer(cluster="c"), Normalizer(cluster="c")
    for index, (raw, as_json, kwargs) in enumerate(steps):
        want = _outcome(lambda raw=raw, kwargs=kwargs: reference.add(parse_json(raw), **kwargs))
        if as_json:
            got = _outcome(lambda raw=raw, kwargs=kwargs: _add_json(candidate, raw, **kwargs))
        else:
            got = _outcome(lambda raw=raw, kwargs=kwargs: candidate.add(parse_json(raw), **kwargs))
        _assert_same_outcome(got, want, f"step {index}")
    want_t, got_t = _outcome(reference.tables), _outcome(candidate.tables)
    _assert_same_results(
        got_t, want_t, "tables() after the steps", (start, datetime.now(UTC) + timedelta(seconds=1))
    )
    assert candidate.warnings == reference.warnings


# --- inputs --------------------------------------------------------------------------------------
def _rfc3339(value: object) -> str:
    """JSON text for the datetimes and dates a YAML loader produces."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    msg = f"{type(value).__name__} is not JSON serialisable"
    raise TypeError(msg)


#: The ways a document is written: as the API server, kubectl -o json, Python and orjson write it.
STYLES: dict[str, Callable[[Any], bytes]] = {
    "compact-ascii": lambda d: json.dumps(d, separators=(",", ":"), default=_rfc3339).encode(),
    "compact-utf8": lambda d: json.dumps(
        d, separators=(",", ":"), ensure_ascii=False, default=_rfc3339
    ).encode(),
    "pretty": lambda d: json.dumps(d, indent=2, default=_rfc3339).encode(),
    "orjson": lambda d: orjson.dumps(d, default=_rfc3339),
    "odd-whitespace": lambda d: (
        b" \t\r\n"
        + json.dumps(d, indent="\t \r", separators=(" ,\r\n", " \t:\n "), default=_rfc3339).encode()
        + b"\r\n\t "
    ),
}


def _list(kind: str, items: list[Any], api_version: str = "v1") -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"resourceVersion": "7"}, "items": items}


@dataclass(frozen=True)
class Real:
    """The real objects the inputs are made of (YAML datetimes already turned into text)."""

    objects: list[dict[str, Any]]
    pods: list[dict[str, Any]]
    events: list[dict[str, Any]]
    pod: dict[str, Any]  # a kubelet copy: labels, annotations, a ReplicaSet owner, managedFields
    event: dict[str, Any]

    def kind(self, kind: str) -> dict[str, Any]:
        """The first real object of a built-in ``kind`` (not a look-alike such as a Knative Service)."""
        core = ("v1", "apps/v1", "batch/v1", "batch/v1beta1")
        return copy.deepcopy(
            next(o for o in self.objects if o.get("kind") == kind and o.get("apiVersion") in core)
        )


@pytest.fixture(scope="module")
def real(realdata: Path) -> Real:
    objects = [json.loads(json.dumps(m.obj, default=_rfc3339)) for m in read_manifest_tree(realdata / "k8s")]
    pods = [o for o in objects if o.get("kind") == "Pod"]
    events = [o for o in objects if o.get("kind") == "Event"]
    pod = next(
        p
        for p in pods
        if p["metadata"]["name"] == "coredns-7d764666f9-qdcxt" and "managedFields" in p["metadata"]
    )
    return Real(objects, pods, events, pod, events[0])


def _splice(doc: dict[str, Any], path: tuple[Any, ...], fragment: bytes | str) -> bytes:
    """``doc`` as compact JSON with ``fragment`` (raw JSON text, e.g. ``"a":1e3``) written as the
    last member of the object at ``path`` (a duplicate key there overrides the earlier one)."""
    doc = copy.deepcopy(doc)
    target: Any = doc
    for part in path:
        target = target[part]
    target["__X__"] = 0
    raw = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
    fragment = fragment.encode() if isinstance(fragment, str) else fragment
    assert raw.count(b'"__X__":0') == 1
    return raw.replace(b'"__X__":0', fragment)


def _pods(r: Real) -> dict[str, Any]:
    """A PodList of the kubelet pod and one more real pod."""
    return _list("PodList", [copy.deepcopy(r.pod), copy.deepcopy(r.pods[0])])


def _events(r: Real) -> dict[str, Any]:
    return _list("EventList", [copy.deepcopy(r.event), copy.deepcopy(r.events[-1])])


def _compact(doc: object) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


#: Where a spliced value goes: (name, List maker, path to the object, key).
_POD = ("items", 0)
_PLACES = {
    "spec.priority": (_pods, (*_POD, "spec"), "priority"),
    "an annotation value": (_pods, (*_POD, "metadata", "annotations"), "x"),
    "restartCount": (_pods, (*_POD, "status", "containerStatuses", 0), "restartCount"),
    "event count": (_events, (0,), "count"),
}
_NUMBERS = ["1.0", "1e3", "1E+2", "-0", "-0.0", "1.5e-7", "0.1", "18446744073709551615", "9223372036854775808",
            "123456789012345678901234567890", "-99999999999999999999", "NaN", "Infinity", "-Infinity"]  # fmt: skip
_TEXTS = [r"\/", r"\u003c\u003e", r"\u0026", r"\ud83d\ude00", r"\ud800", r"\udc00x", r"\u0000", r"\t\b\f\n\r",
          r"\"\\", r"\u00e9", "é漢字😀", "\x7f", r"\u2028", ""]  # fmt: skip
_TEXT_PLACES = {
    "label value": (_pods, (*_POD, "metadata", "labels"), '"k":"a{}b"'),
    "label key": (_pods, (*_POD, "metadata", "labels"), '"k{}":"v"'),
    "annotation": (_pods, (*_POD, "metadata", "annotations"), '"a":"{}"'),
    "pod name": (_pods, (*_POD, "metadata"), '"name":"web{}"'),
    "namespace": (_pods, (*_POD, "metadata"), '"namespace":"{}ns"'),
    "container name": (_pods, (*_POD, "spec", "containers", 0), '"name":"c{}"'),
    "event message": (_events, (0,), '"message":"{}"'),
}
_TIMES = ['"2024-05-01T12:00:00.123456789Z"', '"2024-05-01T14:00:00+02:00"', '"2024-05-01T12:00:00.5-07:30"',
          '""', '"not a time"', "1714564800", "null", '"2024-05-01"', '"2024-13-45T99:00:00Z"']  # fmt: skip
_TIME_PLACES = {
    "creationTimestamp": (_pods, (*_POD, "metadata"), "creationTimestamp"),
    "container startedAt": (
        _pods,
        (*_POD, "status", "containerStatuses", 0, "state", "running"),
        "startedAt",
    ),
    "event lastTimestamp": (_events, (0,), "lastTimestamp"),
}


def _at(
    maker: Callable[[Real], dict[str, Any]], path: tuple[Any, ...], fragment: str | bytes
) -> Callable[[Real], bytes]:
    def build(r: Real) -> bytes:
        doc = maker(r)
        return _splice(doc, ("items", *path) if maker is _events else path, fragment)

    return build


def _without_kinds(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in i.items() if k not in ("kind", "apiVersion")} for i in items]


def _deep(depth: int) -> Callable[[Real], bytes]:
    return _at(_pods, (*_POD, "spec"), b'"x":' + b"[" * depth + b"]" * depth)


def _cut(at: Callable[[bytes], int]) -> Callable[[Real], bytes]:
    def build(r: Real) -> bytes:
        raw = _splice(_pods(r), (*_POD, "metadata", "labels"), '"k":"a\\u00e9b漢字"')
        return raw[: at(raw)]

    return build


def _const(raw: bytes) -> Callable[[Real], bytes]:
    return lambda _: raw


def _then(tail: bytes) -> Callable[[Real], bytes]:
    return lambda r: _compact(_pods(r)) + tail


_SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "token", "namespace": "shop"},
    "data": {"token": "c2VjcmV0"},
}
_V1_EVENT = {
    "apiVersion": "events.k8s.io/v1",
    "kind": "Event",
    "metadata": {
        "name": "web.17c",
        "namespace": "shop",
        "uid": "e1",
        "creationTimestamp": "2024-05-01T11:00:00Z",
    },
    "eventTime": "2024-05-01T11:00:00.000001Z",
    "reason": "BackOff",
    "note": "Back-off restarting",
    "type": "Warning",
    "action": "Restart",
    "reportingController": "kubelet",
    "reportingInstance": "kubelet-n1",
    "regarding": {"kind": "Pod", "namespace": "shop", "name": "web"},
    "series": {"count": 4, "lastObservedTime": "2024-05-01T11:30:00.000000Z"},
    "deprecatedFirstTimestamp": "2024-05-01T10:00:00Z",
    "deprecatedCount": 3,
}

#: name → the bytes of one edge case (each inside an otherwise normal List unless it says so).
CASES: dict[str, Callable[[Real], bytes]] = {
    **{
        f"number {v} in {place}": _at(m, p, f'"{k}":{v}')
        for place, (m, p, k) in _PLACES.items()
        for v in _NUMBERS
    },
    **{
        f"text {t!r} in {place}": _at(m, p, f.replace("{}", t))
        for place, (m, p, f) in _TEXT_PLACES.items()
        for t in _TEXTS
    },
    **{
        f"time {v} in {place}": _at(m, p, f'"{k}":{v}')
        for place, (m, p, k) in _TIME_PLACES.items()
        for v in _TIMES
    },
    **{
        f"invalid utf-8 {b!r} in a label": _at(_pods, (*_POD, "metadata", "labels"), b'"k":"a' + b + b'"')
        for b in (b"\xff", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80")
    },
    "duplicate name in metadata": _at(_pods, (*_POD, "metadata"), '"name":"other"'),
    "duplicate uid in metadata": _at(_pods, (*_POD, "metadata"), '"uid":"u-dup"'),
    "duplicate label": _at(_pods, (*_POD, "metadata", "labels"), '"k8s-app":"dup"'),
    "duplicate kind in an item": _at(_pods, _POD, '"kind":"Node"'),
    "duplicate metadata in an item": _at(_pods, _POD, '"metadata":{"name":"m2","namespace":"x"}'),
    "duplicate status in an item": _at(_pods, _POD, '"status":{}'),
    "duplicate items in the List": _at(_pods, (), '"items":[]'),
    "duplicate kind of the List": _at(_pods, (), '"kind":"EventList"'),
    "duplicate managedFields": _at(_pods, (*_POD, "metadata"), '"managedFields":[{"manager":"again"}]'),
    "escaped key kind": _at(_pods, _POD, '"ki\\u006ed":"Node"'),
    "escaped key items": _at(_pods, (), '"\\u0069tems":[]'),
    "escaped key metadata": _at(_pods, _POD, '"m\\u0065tadata":{"name":"esc","namespace":"e"}'),
    "escaped key managedFields": _at(_pods, (*_POD, "metadata"), '"managed\\u0046ields":[{"manager":"m"}]'),
    "escaped key name": _at(_pods, (*_POD, "metadata"), '"n\\u0061me":"esc"'),
    "managedFields absent": lambda r: _compact(
        _list(
            "PodList",
            [{**r.pod, "metadata": {k: v for k, v in r.pod["metadata"].items() if k != "managedFields"}}],
        )
    ),
    **{
        f"managedFields {v}": _at(_pods, (*_POD, "metadata"), f'"managedFields":{v}')
        for v in ("null", '"x"', "{}", '{"a":1}', "[]", "1", "[1,null]")
    },
    "managedFields in spec": _at(_pods, (*_POD, "spec"), '"managedFields":[{"manager":"kept"}]'),
    "managedFields in an item": _at(_pods, _POD, '"managedFields":[{"manager":"kept"}]'),
    "managedFields in an annotation": _at(
        _pods, (*_POD, "metadata", "annotations"), '"managedFields":"kept"'
    ),
    "managedFields in an event": _at(_events, (0, "metadata"), '"managedFields":[{"manager":"m"}]'),
    **{
        f"metadata {v} in a pod": _at(_pods, _POD, f'"metadata":{v}')
        for v in ('"x"', "[]", "null", "1", "{}")
    },
    **{
        f"metadata {v} in an event": _at(_events, (0,), f'"metadata":{v}')
        for v in ('"x"', "[]", "null", "{}")
    },
    "items that are not objects": lambda r: _compact(
        _list("PodList", [1, "x", None, [], {}, True, 2.5, r.pod])
    ),
    "items without kind in a PodList": lambda r: _compact(_list("PodList", _without_kinds(r.pods[:6]))),
    "items without kind in a List": lambda r: _compact(
        _list("List", _without_kinds([r.pod, r.event, {"a": 1}]))
    ),
    "items without kind in an EventList": lambda r: _compact(
        _list("EventList", _without_kinds(r.events[:5]))
    ),
    "items without kind in a SecretList": lambda r: _compact(_list("SecretList", _without_kinds([_SECRET]))),
    "a List inside a List": lambda r: _compact(_list("List", [_list("PodList", [r.pod]), r.event])),
    "a List without kind": lambda r: _compact({"items": [r.pod, r.event]}),
    "a Secret in a List": lambda r: _compact(_list("List", [r.pod, _SECRET, r.event])),
    "events.k8s.io/v1 events": lambda r: _compact(
        _list("EventList", [_V1_EVENT, _without_kinds([_V1_EVENT])[0] | {"metadata": {}}], "events.k8s.io/v1")
    ),
    "a List of mixed kinds": lambda r: _compact(
        _list(
            "List",
            [
                r.kind(k)
                for k in (
                    "Pod",
                    "Event",
                    "Node",
                    "Service",
                    "ReplicaSet",
                    "ConfigMap",
                    "Job",
                    "CronJob",
                    "Deployment",
                )
            ],
        )
    ),
    "empty items": lambda r: _compact(_list("PodList", [])),
    "items missing": lambda r: _compact({"apiVersion": "v1", "kind": "PodList", "metadata": {}}),
    **{f"items {v!r}": _const(_compact(_list("PodList", v))) for v in (None, {}, "x", 1)},
    "a single Pod": lambda r: _compact(r.pod),
    "a single Event": lambda r: _compact(r.event),
    "a single Secret": lambda r: _compact(_SECRET),
    "a single Pod without kind": lambda r: _compact(_without_kinds([r.pod])[0]),
    "whitespace everywhere": lambda r: STYLES["odd-whitespace"](_list("List", [r.pod, r.event])),
    "a UTF-8 BOM": lambda r: b"\xef\xbb\xbf" + _compact(_pods(r)),
    "a UTF-8 BOM then whitespace": lambda r: b"\xef\xbb\xbf \n" + _compact(_pods(r)),
    "UTF-16": lambda r: _compact(_pods(r)).decode().encode("utf-16"),
    **{
        f"truncated {name}": _cut(at)
        for name, at in {
            "after 1 byte": lambda b: 1,
            "mid-document": lambda b: len(b) // 2,
            "before the last byte": lambda b: len(b) - 1,
            "after a backslash": lambda b: b.index(b"\\u00e9") + 1,
            "mid escape": lambda b: b.index(b"\\u00e9") + 4,
            "mid UTF-8 character": lambda b: b.index("漢".encode()) + 1,
            "mid number": lambda b: b.index(b'"restartCount":') + len(b'"restartCount":'),
            "mid key": lambda b: b.index(b'"metadata"') + 4,
            "mid literal": lambda b: b.index(b"true") + 2 if b"true" in b else 3,
        }.items()
    },
    **{f"trailing {t!r}": _then(t) for t in (b" x", b"{}", b"\n", b"\x00", b",", b" \r\n\t", b"]", b"\xff")},
    "NaN in spec": _at(_pods, (*_POD, "spec"), '"x":NaN'),
    "600 nested arrays in spec": _deep(600),
    "5000 nested arrays in spec": _deep(5000),
    "1 MB event message": _at(_events, (0,), '"message":"' + "m" * 1_000_000 + '"'),
    "1 MB escaped annotation": _at(
        _pods, (*_POD, "metadata", "annotations"), '"a":"' + "\\u00e9" * 200_000 + '"'
    ),
    "1 MB raw UTF-8 annotation": _at(
        _pods, (*_POD, "metadata", "annotations"), '"a":"' + "漢" * 350_000 + '"'
    ),
    **{
        f"empty {k}": _at(_pods, (*_POD, *p), f'"{k}":""')
        for k, p in (
            ("name", ("metadata",)),
            ("namespace", ("metadata",)),
            ("uid", ("metadata",)),
            ("kind", ()),
            ("apiVersion", ()),
            ("nodeName", ("spec",)),
        )
    },
    "empty label key and value": _at(_pods, (*_POD, "metadata", "labels"), '"":""'),
    "an empty event": lambda r: _compact(_list("EventList", [{}])),
    **{
        f"document {v!r}": _const(v)
        for v in (b"", b" ", b"null", b"1", b'"x"', b"[]", b"[{}]", b"true", b"{}", b'{"kind":"Pod"}')
    },
    "a JSON array of Lists": lambda r: b"[" + _compact(_pods(r)) + b"]",
}


# --- real objects --------------------------------------------------------------------------------
def test_every_real_object_in_lists_written_every_way(real: Real) -> None:
    others = [o for o in real.objects if o.get("kind") not in ("Pod", "Event")]
    docs = [_list("PodList", real.pods), _list("EventList", real.events), _list("List", others)]
    for doc in docs:
        for style, dumps in STYLES.items():
            raw = dumps(doc)
            _same(raw, observed_at=T0)
            _same(raw, observed_at=None, origin=f"{doc['kind']} {style}")


def test_every_real_object_alone(real: Real) -> None:
    styles = list(STYLES.values())
    for index, obj in enumerate(real.objects):
        _same(styles[index % len(styles)](obj), observed_at=None if index % 2 else T0)


def test_every_real_json_file_as_recorded(realdata: Path) -> None:
    files = sorted((realdata / "k8s").rglob("*.json"))
    assert len(files) > 50
    for path in files:
        _same(path.read_bytes(), observed_at=T0, origin=path.name)


def test_the_b3_benchmark_lists(tmp_path_factory: pytest.TempPathFactory) -> None:
    from benchmarks import data_real

    workdir = tmp_path_factory.mktemp("b3")
    for path in (data_real.pod_list(workdir, n=200), data_real.event_list(workdir, n=500)):
        raw = path.read_bytes()
        _same(raw, observed_at=datetime(2026, 11, 2, tzinfo=UTC))
        _same(raw, observed_at=None)


# --- broken variants of real pods and events ----------------------------------------------------
#: Odd values for JSON itself, beside the ones a broken manifest may hold.
_JSON_ODD: list[Any] = [2**64, 2**70, -(2**63) - 1, 1e300, -0.0, 0.1, 1e-7, float("nan"), "é漢😀", "\x00\x7f",
                        "\ud800", "a\\/b\"c", "\u2028", " " * 3, {"managedFields": [1]}, [[[[]]]]]  # fmt: skip


def _paths(obj: object, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            yield (*prefix, index)
            yield from _paths(value, (*prefix, index))


def _mutants(objects: list[dict[str, Any]], count: int, seed: int) -> Iterator[dict[str, Any]]:
    """Copies of ``objects`` with one to three fields, anywhere, dropped or replaced by an odd value."""
    from tests.unit.kube.test_kube_fast_path import ODD_VALUES

    odd = ODD_VALUES + _JSON_ODD
    rng = random.Random(seed)
    for _ in range(count):
        obj = copy.deepcopy(rng.choice(objects))
        for _ in range(rng.choice((1, 1, 2, 3))):
            paths = list(_paths(obj))
            if not paths:
                break
            path = rng.choice(paths)
            parent: Any = obj
            for part in path[:-1]:
                parent = parent[part]
            if isinstance(parent, dict) and rng.random() < 0.3:
                del parent[path[-1]]
            else:
                parent[path[-1]] = copy.deepcopy(rng.choice(odd))
        yield obj


def _written(doc: object, rng: random.Random) -> bytes:
    """``doc`` as JSON in a random style (text with lone surrogates becomes invalid UTF-8)."""
    style = rng.choice(("ascii", "utf8", "pretty", "spaced"))
    if style == "ascii":
        return json.dumps(doc).encode()
    if style == "pretty":
        return json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8", "surrogatepass")
    separators = (",", ":") if style == "utf8" else (" , ", " : ")
    return json.dumps(doc, separators=separators, ensure_ascii=False).encode("utf-8", "surrogatepass")


@pytest.mark.parametrize(
    ("kind", "seed", "threaded"),
    [("Pod", 1, False), ("Pod", 2, False), ("Event", 3, False), ("Pod", 4, True), ("Event", 5, True)],
)
def test_broken_real_objects_in_lists(
    real: Real, kind: str, seed: int, *, threaded: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``threaded``: read by two threads as large Lists are (each kernel on halves of the items,
    the manifest texts written while the rows are read), where broken items drop out of the
    bulk rows after their texts were written."""
    monkeypatch.setattr(_bulk, "THREADED_BYTES", 0 if threaded else 2**62)
    monkeypatch.setattr(_bulk, "SPLIT_ITEMS", 2)
    objects = real.pods if kind == "Pod" else real.events
    mutants = list(_mutants(objects, 240, seed))
    rng = random.Random(seed)
    for start in range(0, len(mutants), 8):
        raw = _written(_list(f"{kind}List", mutants[start : start + 8]), rng)
        _same(raw, observed_at=T0 if start % 16 else None)
    for mutant in mutants[:40]:  # alone, the object is the document
        _same(_written(mutant, rng), observed_at=T0)


# --- JSON-level edge cases ----------------------------------------------------------------------
@pytest.mark.parametrize("case", list(CASES))
def test_edge_case(real: Real, case: str) -> None:
    raw = CASES[case](real)
    _same(raw, observed_at=T0)
    _same(raw, observed_at=None, deleted=True, origin="dump.json")


def test_edge_cases_cover_what_they_say(real: Real) -> None:
    """A few cases checked by hand, so that a wrong splice cannot make the cases trivial."""
    assert parse_json(CASES["duplicate kind in an item"](real))["items"][0]["kind"] == "Node"
    assert parse_json(CASES["escaped key items"](real))["items"] == []
    assert (
        parse_json(CASES["text '\\\\ud83d\\\\ude00' in label value"](real))["items"][0]["metadata"]["labels"][
            "k"
        ]
        == "a😀b"
    )
    assert parse_json(CASES["number 123456789012345678901234567890 in spec.priority"](real))["items"][0][
        "spec"
    ]["priority"] == pytest.approx(1.2345678901234568e29)
    with pytest.raises(json.JSONDecodeError):
        parse_json(CASES["truncated mid escape"](real))
    with pytest.raises(UnicodeDecodeError):
        parse_json(CASES["invalid utf-8 b'\\xff' in a label"](real))
    with pytest.raises(RecursionError):
        parse_json(CASES["5000 nested arrays in spec"](real))
    tables = normalize([parse_json(CASES["a List of mixed kinds"](real))], cluster="c", observed_at=T0)
    assert all(tables[t].height > 0 for t in ("pods", "events", "nodes", "services", "workloads"))
    warnings = Normalizer(cluster="c")
    warnings.add(parse_json(CASES["a Secret in a List"](real)))
    assert any("skipped Secret shop/token" in w for w in warnings.warnings)


# --- add_json and add mixed in one Normalizer ---------------------------------------------------
def _owned(kind: str, name: str, namespace: str, owner: tuple[str, str], api_version: str) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind,
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}",
                         "creationTimestamp": "2024-04-01T00:00:00Z",
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1],
                                              "controller": True}]},
            "spec": {"replicas": 1}, "status": {"replicas": 1}}  # fmt: skip


def _same_steps_both_ways(steps: list[tuple[bytes, dict[str, Any]]]) -> dict[str, pl.DataFrame]:
    """``_same_steps`` with add_json on odd steps, on even steps and on all; returns the reference
    tables (to check the scenario is what it says)."""
    for choose in (lambda i: i % 2 == 1, lambda i: i % 2 == 0, lambda i: True):
        _same_steps([(raw, choose(i), kwargs) for i, (raw, kwargs) in enumerate(steps)])
    reference = Normalizer(cluster="c")
    for raw, kwargs in steps:
        try:
            reference.add(parse_json(raw), **kwargs)
        except ValueError:
            pass
    return reference.tables()


def test_workloads_resolve_across_add_and_add_json(real: Real) -> None:
    rs_name = real.pod["metadata"]["ownerReferences"][0]["name"]
    job_pod = next(p for p in real.pods if p["metadata"]["name"].startswith("e2e-cronjob-"))
    job_name = job_pod["metadata"]["ownerReferences"][0]["name"]
    owners = _list("List", [
        _owned("ReplicaSet", rs_name, "kube-system", ("Deployment", "dns-renamed"), "apps/v1"),
        _owned("Job", job_name, job_pod["metadata"]["namespace"], ("CronJob", "cron-renamed"), "batch/v1"),
    ])  # fmt: skip
    pods = _compact(_list("PodList", [real.pod, job_pod, *real.pods[:10]]))
    for steps in ([(_compact(owners), {}), (pods, {})], [(pods, {}), (_compact(owners), {})]):
        tables = _same_steps_both_ways([(raw, {"observed_at": T0, **kw}) for raw, kw in steps])
        workloads = dict(zip(tables["pods"]["name"], tables["pods"]["workload_name"], strict=True))
        assert workloads[real.pod["metadata"]["name"]] == "dns-renamed"
        assert workloads[job_pod["metadata"]["name"]] == "cron-renamed"


def test_the_latest_revision_wins_across_add_and_add_json(real: Real) -> None:
    failed = copy.deepcopy(real.pod)
    failed["status"]["phase"] = "Failed"
    running, failed = _compact(real.pod), _compact(failed)
    hour = timedelta(hours=1)
    tables = _same_steps_both_ways([(running, {"observed_at": T0 + hour}), (failed, {"observed_at": T0})])
    assert tables["pods"]["phase"].to_list() == ["Running"] and tables["objects"].height == 2
    tables = _same_steps_both_ways([(running, {"observed_at": T0}), (failed, {"observed_at": T0})])
    assert tables["pods"]["phase"].to_list() == ["Failed"]  # a tie: the later add wins
    tables = _same_steps_both_ways(
        [(failed, {}), (running, {}), (running, {"deleted": True, "origin": "watch"})]
    )
    assert tables["pods"]["deleted"].is_not_null().to_list() == [True]
    tables = _same_steps_both_ways([(failed, {"observed_at": T0 + hour}), (_compact(_pods(real)), {})])
    assert tables["pods"].height == 2 and tables["objects"].height == 3


def _renamed(obj: dict[str, Any], i: int) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    obj["metadata"].update(name=f"{obj['metadata']['name']}-{i}", uid=f"uid-{i}")
    return obj


def test_an_object_twice_in_one_list_and_the_tables_asked_for_twice(real: Real) -> None:
    """A List naming a pod or an event twice keeps its first place and its last copy, read alone
    or with other adds; asking for the tables again gives the same tables."""
    pods = list({p["metadata"]["uid"]: p for p in reversed(real.pods)}.values())[:6]  # distinct uids
    moved = copy.deepcopy(pods[1])
    moved["status"]["podIP"] = "10.9.9.9"
    pod_list = _compact(_list("PodList", [*pods, moved, pods[0]]))
    events = [_renamed(real.event, i) for i in range(8)]
    changed = copy.deepcopy(events[0])
    changed["message"] = "the last copy"
    event_list = _compact(_list("EventList", [*events, changed]))
    tables = whole = _same_steps_both_ways(
        [(pod_list, {"observed_at": T0}), (event_list, {"observed_at": T0})]
    )
    assert tables["pods"]["uid"].to_list() == [p["metadata"]["uid"] for p in pods]
    assert tables["pods"]["pod_ip"].to_list()[1] == "10.9.9.9" != tables["pods"]["pod_ip"].to_list()[0]
    assert tables["events"]["message"].to_list()[0] == "the last copy" and tables["events"].height == 8
    # then one object at a time: a tie goes to the later add, an older revision loses
    later = copy.deepcopy(pods[2])
    later["status"]["podIP"] = "10.8.8.8"
    older = copy.deepcopy(events[1])
    older["message"] = "an older copy"
    tables = _same_steps_both_ways([
        (pod_list, {"observed_at": T0}), (event_list, {"observed_at": T0}),
        (_compact(later), {"observed_at": T0}), (_compact(older), {"observed_at": T0 - timedelta(hours=1)}),
    ])  # fmt: skip
    assert tables["pods"]["pod_ip"].to_list()[2] == "10.8.8.8" and tables["pods"].height == 6
    assert "an older copy" not in tables["events"]["message"].to_list()
    normalizer = Normalizer(cluster="c")
    normalizer.add_json(pod_list, observed_at=T0)
    normalizer.add_json(event_list, observed_at=T0)
    assert [block.table for block in normalizer._bulk.pending] == ["pods", "events"]  # both Lists read whole
    first = normalizer.tables()
    _assert_same_tables(normalizer.tables(), first, "the tables asked for again")
    _assert_same_tables(first, whole, "the bulk path")


def test_an_event_twice_in_one_list_under_two_spellings_of_its_name(real: Real) -> None:
    """An event whose name is written once plainly and once with an escape is one event (the
    names' hashes, which see bytes, do not decide that two names differ)."""
    events = [_renamed(real.event, i) for i in range(8)]
    name = events[2]["metadata"]["name"]
    assert "-" in name
    again = copy.deepcopy(events[2]) | {"message": "the last copy"}
    raw = _compact(_list("EventList", [*events, again]))
    spelled = json.dumps(name).replace("-", "\\u002d", 1).encode()  # "…\u002d…"
    at = raw.rindex(json.dumps(name).encode())  # the last copy's name
    raw = raw[:at] + spelled + raw[at + len(json.dumps(name).encode()) :]
    assert parse_json(raw)["items"][-1]["metadata"]["name"] == name
    _same(raw)
    normalizer = Normalizer(cluster="c")
    normalizer.add_json(raw, observed_at=T0)
    assert [block.table for block in normalizer._bulk.pending] == ["events"]  # the List was read whole
    got = normalizer.tables()["events"]
    assert got.height == 8 and got["message"].to_list()[2] == "the last copy"


def test_add_json_says_whether_the_bulk_path_took_the_document(real: Real) -> None:
    """``add_json`` returns True when the bulk path read the List; with ``fallback=False`` a
    document it does not take is left for the caller (the file importer reads those itself);
    ``revisions`` counts the objects rows either way."""
    events = [_renamed(real.event, i) for i in range(40)]
    raw = _compact(_list("EventList", events))
    normalizer = Normalizer(cluster="c")
    assert normalizer.add_json(raw, observed_at=T0, fallback=False) is True
    assert normalizer.revisions == 40
    declined = [
        (raw[:-1], {"observed_at": T0}),  # truncated
        (_compact(real.event), {"observed_at": T0}),  # one object, not a List
        (_compact(_list("EventList", events[:1])), {"observed_at": T0}),  # too small to be worth it
    ]
    for doc, kwargs in declined:
        assert normalizer.add_json(doc, fallback=False, **kwargs) is False
        assert normalizer.revisions == 40 and normalizer.warnings == []
    assert normalizer.tables()["events"].height == 40
    # with the fallback (the default) the same documents are read object by object
    assert (
        normalizer.add_json(_compact(_list("EventList", [_renamed(real.event, 99)])), observed_at=T0) is False
    )
    assert normalizer.revisions == 41 and normalizer.tables()["events"].height == 41


# --- without observed_at: each object's own newest time ------------------------------------------
#: Every place ``newest_timestamp`` reads a time: (kind, path to the object, key).
_NEWEST = [
    ("Pod", ("metadata",), "creationTimestamp"),
    *(("Pod", ("status",), k) for k in ("startTime", "completionTime", "lastScheduleTime", "lastSuccessfulTime")),
    *(("Pod", ("status", "conditions", 0), k)
      for k in ("lastTransitionTime", "lastProbeTime", "lastHeartbeatTime", "lastUpdateTime")),
    ("Pod", ("status", "containerStatuses", 0, "state", "running"), "startedAt"),
    ("Pod", ("status", "containerStatuses", 0, "lastState", "terminated"), "finishedAt"),
    ("Pod", ("status", "containerStatuses", 0, "lastState", "terminated"), "startedAt"),
    ("Pod", ("status", "initContainerStatuses", 0, "state", "terminated"), "finishedAt"),
    *(("Pod", (), k) for k in ("eventTime", "lastTimestamp")),  # read on any kind
    ("Pod", ("series",), "lastObservedTime"),
    ("Event", ("metadata",), "creationTimestamp"),
    *(("Event", (), k) for k in ("firstTimestamp", "lastTimestamp", "eventTime", "deprecatedFirstTimestamp",
                                 "deprecatedLastTimestamp")),
    ("Event", ("series",), "lastObservedTime"),
]  # fmt: skip
#: The newest time, written three ways (the API's form; an offset and an escape, read by Python).
_LATER = {
    "2031-02-03T04:05:06.789Z": datetime(2031, 2, 3, 4, 5, 6, 789000, tzinfo=UTC),
    "2031-02-03T06:05:06+02:00": datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC),
    "2031-02-03T04:05:0\\u0037Z": datetime(2031, 2, 3, 4, 5, 7, tzinfo=UTC),
}


def _plain_pod(real: Real) -> dict[str, Any]:
    """The first real pod with init containers that the bulk path takes whole (many real pods
    hold a number it leaves to the per-object path)."""
    for pod in real.pods:
        if not (pod.get("status") or {}).get("initContainerStatuses"):
            continue
        normalizer = Normalizer(cluster="c")
        normalizer.add_json(_compact(_list("PodList", [_renamed(pod, i) for i in range(12)])), observed_at=T0)
        if normalizer._bulk.pending:
            return pod
    raise AssertionError("no real pod with init containers takes the bulk path")


def _with_time_at(obj: dict[str, Any], path: tuple[Any, ...], key: str) -> dict[str, Any]:
    """A copy of ``obj`` whose ``path`` (made where missing) holds ``key``: a marker for the time."""
    obj = copy.deepcopy(obj)
    target: Any = obj
    for part, following in zip(path, (*path[1:], key), strict=False):
        if isinstance(part, int):
            while len(target) <= part:
                target.append({})
        elif not isinstance(target.get(part), dict | list):
            target[part] = [] if isinstance(following, int) else {}
        target = target[part]
    target[key] = "@TIME@"
    return obj


@pytest.mark.parametrize(
    ("kind", "path", "key"), _NEWEST, ids=[".".join(map(str, (*p, k))) for _, p, k in _NEWEST]
)
def test_without_observed_at_each_object_is_observed_at_its_newest_time(
    real: Real, kind: str, path: tuple[Any, ...], key: str
) -> None:
    """The bulk path finds the newest time wherever the per-object path reads one, in each of
    the forms a time is written, and takes the List whole (no item left to the Python path)."""
    base = [_renamed(_plain_pod(real) if kind == "Pod" else real.event, i) for i in range(12)]
    for text, when in _LATER.items():
        items = [*base[:5], _with_time_at(base[5], path, key), *base[6:]]
        raw = _compact(_list(f"{kind}List", items)).replace(b'"@TIME@"', f'"{text}"'.encode())
        _same(raw, observed_at=None)
        normalizer = Normalizer(cluster="c")
        assert normalizer.add_json(raw, fallback=False)
        assert [block.table for block in normalizer._bulk.pending] == [f"{kind.lower()}s"], text
        observed = normalizer.tables()[f"{kind.lower()}s"]["observed_at"].to_list()
        assert observed[5] == when and max(observed[:5] + observed[6:]) < when, text


_ODD_LOOPS = ["true", "false", "0", "1", "-0", '"x"', '""', "{}", '{"a":{"startedAt":"2031-01-01T00:00:00Z"}}',
              '[1,"x",null,[]]', "null", "[]"]  # fmt: skip


@pytest.mark.parametrize("value", _ODD_LOOPS)
def test_without_observed_at_odd_values_where_times_are_looked_for(real: Real, value: str) -> None:
    """Lists, states and the status holding values of other types read as object by object
    (where that fails, the item goes there and fails the same way)."""
    places = [
        (("status",), "conditions"),
        (("status",), "containerStatuses"),
        (("status",), "initContainerStatuses"),
        (("status", "containerStatuses", 0), "state"),
        (("status", "containerStatuses", 0), "lastState"),
        (("status", "containerStatuses", 0, "state"), "running"),
        ((), "status"),
        ((), "series"),
    ]
    for path, key in places:
        pods = [_renamed(_plain_pod(real), i) for i in range(6)]
        pods[2] = _with_time_at(pods[2], path, key)
        _same(_compact(_list("PodList", pods)).replace(b'"@TIME@"', value.encode()), observed_at=None)
    for path, key in ((("status",), "conditions"), (("status",), "containerStatuses"), ((), "series")):
        events = [_renamed(real.event, i) for i in range(6)]
        events[1] = _with_time_at(events[1], path, key)  # an Event's status is read for times too
        _same(_compact(_list("EventList", events)).replace(b'"@TIME@"', value.encode()), observed_at=None)


def test_without_observed_at_the_latest_copy_wins_and_timeless_objects_are_observed_now(real: Real) -> None:
    """An object named twice keeps its first place and its copy observed latest (the last of
    those on a tie), within one List and across Lists; an object without any time is observed
    at the time of the call."""
    pods = [_renamed(_plain_pod(real), i) for i in range(8)]
    newer = _with_time_at(pods[3], ("status",), "startTime")
    newer["status"]["podIP"] = "10.7.7.7"
    older = copy.deepcopy(pods[3])
    older["status"]["podIP"] = "10.6.6.6"
    tied = copy.deepcopy(pods[1])  # the same times: the later copy wins
    tied["status"]["podIP"] = "10.5.5.5"
    timeless = copy.deepcopy(pods[6])
    del timeless["metadata"]["creationTimestamp"]
    timeless["status"] = {"phase": "Pending"}
    first = _compact(_list("PodList", [*pods[:3], newer, *pods[4:6], timeless, pods[7], older, tied]))
    first = first.replace(b'"@TIME@"', b'"2031-01-01T00:00:00Z"')
    again = _compact(_list("PodList", [older, pods[0], _renamed(_plain_pod(real), 99)]))
    _same(first, observed_at=None)
    tables = _same_steps_both_ways([(first, {}), (again, {})])
    by_name = {r["name"]: r for r in tables["pods"].iter_rows(named=True)}
    assert tables["pods"]["name"].to_list()[3] == pods[3]["metadata"]["name"]
    assert by_name[pods[3]["metadata"]["name"]]["pod_ip"] == "10.7.7.7"  # newer, though listed first
    assert by_name[pods[1]["metadata"]["name"]]["pod_ip"] == "10.5.5.5"
    normalizer = Normalizer(cluster="c")
    before = datetime.now(UTC)
    assert normalizer.add_json(first, fallback=False)
    got = normalizer.tables()["pods"]
    stamp = got.filter(pl.col("name") == timeless["metadata"]["name"])["observed_at"].item()
    assert before <= stamp <= datetime.now(UTC)


def test_event_counts_and_sources_as_the_per_object_path_reads_them(real: Real) -> None:
    """count is the first of series.count, count and deprecatedCount that is not 0 (else 1);
    source joins component and host with "/" when both are there, else takes the one that is
    (an empty component counts as none)."""
    variants = [
        {"count": 3, "deprecatedCount": 5}, {"count": 0, "deprecatedCount": 4}, {"count": 0, "series": {"count": 6}},
        {"count": 0}, {"count": 2, "series": {"count": 7}}, {"source": {"component": "kubelet"}}, {"source": {"host": "node-1"}},
        {"source": {"component": "sched\\uler", "host": "n\u00e9"}}, {"source": {}},
        {"source": {"component": "", "host": "h"}},
    ]  # fmt: skip
    events = []
    for i, change in enumerate(variants):
        event = _renamed(real.event, i)
        event.pop("count", None)
        event.update(change)
        events.append(event)
    raw = _compact(_list("EventList", events))
    _same(raw)
    normalizer = Normalizer(cluster="c")
    normalizer.add_json(raw, observed_at=T0)
    assert [block.table for block in normalizer._bulk.pending] == ["events"]  # the List was read whole
    tables = normalizer.tables()["events"]
    assert tables["count"].to_list()[:5] == [3, 4, 6, 1, 7]
    assert tables["source"].to_list()[5:] == ["kubelet", "node-1", "sched\\uler/n\u00e9", None, "h"]


#: every character ``str.isspace`` takes, and characters that look like space but are not
_SPACES = [chr(c) for c in range(0x110000) if chr(c).isspace()]
_NOT_SPACES = ["\u200b", "\u180e", "\ufeff", "\u2060", "\u00ad", "\u202e", "\u0000", "\u3001", "\u2010"]


@pytest.mark.parametrize("ensure_ascii", [False, True], ids=["utf8", "escaped"])
def test_event_messages_types_and_sources_as_the_per_object_path_reads_them(
    real: Real, *, ensure_ascii: bool
) -> None:
    """The bulk path strips a message as ``str.strip`` does (every Unicode space, written or
    escaped; nothing that only looks like one), keeps a type only when it is Normal or Warning,
    and joins component and host, whatever escapes they are written with."""
    assert len(_SPACES) == 29  # the table _space_at_start/_space_at_end spell out
    messages = [f"{c}m{c}" for c in _SPACES] + [f"{c}m{c}" for c in _NOT_SPACES]
    messages += [
        "".join(_SPACES) + "in between: " + "".join(_SPACES) + "." + "".join(_SPACES),
        "".join(_SPACES),
        "é",
    ]
    types = ["Normal", "Warning", "normal", "Warning ", "", "Normal\u0000", "Info", "Warnin", "Warningg"]
    sources = [{"component": "k\u00e9", "host": "n\"1\""}, {"component": "\u2028", "host": ""},
               {"host": "\\"}, {"component": "c" * 40, "host": "h" * 40}]  # fmt: skip
    events = []
    for i, message in enumerate(messages):
        event = _renamed(real.event, i)
        event.update(message=message, type=types[i % len(types)], source=sources[i % len(sources)])
        events.append(event)
    raw = json.dumps(_list("EventList", events), ensure_ascii=ensure_ascii).encode()
    _same(raw)
    normalizer = Normalizer(cluster="c")
    normalizer.add_json(raw, observed_at=T0)
    assert [block.table for block in normalizer._bulk.pending] == ["events"]  # the List was read whole
    got = normalizer.tables()["events"]
    assert got["message"].to_list() == [m.strip() for m in messages]
    assert got["message"].to_list()[: len(_SPACES)] == ["m"] * len(_SPACES)
    assert got["type"].to_list()[:3] == ["Normal", "Warning", None]
    assert got["source"].to_list()[:4] == ['k\u00e9/n"1"', "\u2028", "\\", "c" * 40 + "/" + "h" * 40]


def test_text_columns_in_chunks_when_their_copies_pass_the_limit(
    real: Real, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Text columns whose copied bytes would pass what a view's int32 offset reaches are read in
    chunks of rows; the tables are the same."""
    events = [_renamed(real.event, i) | {"message": f"\u00e9v\u00e9nement {i}\n"} for i in range(30)]
    pods = [_renamed(p, i) for i, p in enumerate(real.pods[:6])]
    for i, pod in enumerate(pods):
        pod["metadata"]["name"] = "\u00e9" * 6 + f"-{i}"  # 38 bytes as json.dumps writes them
    kernel, chunks = K.text_views, []

    def counted(*args: Any) -> Any:
        out = kernel(*args)
        chunks.append(out[3])
        return out

    for raw, table, n in ((_compact(_list("EventList", events)), "events", 30),
                          (json.dumps(_list("PodList", pods)).encode(), "pods", 6)):  # fmt: skip
        want = normalize_json(raw, cluster="c", observed_at=T0)
        chunks.clear()
        with monkeypatch.context() as patch:
            patch.setattr(_bulk, "_VIEW_LIMIT", 64)
            patch.setattr(_bulk.K, "text_views", counted)
            got = normalize_json(raw, cluster="c", observed_at=T0)
        assert sum(chunks) == n and len(chunks) > 1, chunks
        assert got[table].height == n
        for name, frame_ in want.items():
            assert_frame_equal(got[name], frame_)


def test_event_times_as_the_per_object_path_reads_them(real: Real) -> None:
    """first_time: firstTimestamp, else eventTime, else creationTimestamp; last_time:
    lastTimestamp, else series.lastObservedTime, else eventTime, else the first time; a time in
    a form the compiled reader leaves (an offset) is read by parse_time."""
    times = ("firstTimestamp", "lastTimestamp", "eventTime", "series")
    variants = [
        {"eventTime": "2024-05-01T12:00:00.123456Z", "series": {"lastObservedTime": "2024-05-01T12:05:00.000001Z"}},
        {"eventTime": "2024-05-01T12:00:00.5Z"},
        {"firstTimestamp": "2024-05-01T14:00:00+02:00", "lastTimestamp": "2024-05-01T12:30:00-00:30"},
        {},
    ]  # fmt: skip
    events = []
    for i, change in enumerate(variants):
        event = _renamed(real.event, i)
        for key in times:
            event.pop(key, None)
        event["metadata"]["creationTimestamp"] = "2024-05-01T11:00:00Z"
        event.update(change)
        events.append(event)
    events += [_renamed(real.event, 10 + i) for i in range(4)]  # a List large enough for the bulk path
    raw = _compact(_list("EventList", events))
    _same(raw)
    normalizer = Normalizer(cluster="c")
    normalizer.add_json(raw, observed_at=T0)
    assert [block.table for block in normalizer._bulk.pending] == ["events"]  # the List was read whole
    rows = normalizer.tables()["events"].head(4)
    at = lambda text: datetime.fromisoformat(text)  # noqa: E731
    assert rows["first_time"].to_list() == [at("2024-05-01T12:00:00.123456+00:00"),
        at("2024-05-01T12:00:00.5+00:00"), at("2024-05-01T12:00:00+00:00"), at("2024-05-01T11:00:00+00:00")]  # fmt: skip
    assert rows["last_time"].to_list() == [at("2024-05-01T12:05:00.000001+00:00"),
        at("2024-05-01T12:00:00.5+00:00"), at("2024-05-01T13:00:00+00:00"), at("2024-05-01T11:00:00+00:00")]  # fmt: skip


def test_services_select_pods_added_as_json(real: Real) -> None:
    labels = real.pod["metadata"]["labels"]
    service = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "dns", "namespace": "kube-system", "uid": "svc1"},
               "spec": {"selector": dict(labels), "ports": [{"port": 53}]}}  # fmt: skip
    other = copy.deepcopy(real.pod)
    other["metadata"].update(name="coredns-other", uid="uid-other")
    gone = copy.deepcopy(real.pod)
    gone["metadata"].update(name="coredns-gone", uid="uid-gone")
    tables = _same_steps_both_ways([
        (_compact(service), {"observed_at": T0}),
        (_compact(_list("PodList", [real.pod, other, gone])), {"observed_at": T0}),
        (_compact(gone), {"observed_at": T0 + timedelta(minutes=1), "deleted": True}),
    ])  # fmt: skip
    assert tables["services"]["pods"].to_list() == [sorted([real.pod["metadata"]["name"], "coredns-other"])]


def test_a_failed_add_json_adds_nothing(real: Real) -> None:
    good = _compact(_pods(real))
    steps = [(good, {"observed_at": T0}), (good[:-1], {"observed_at": T0}), (good + b"x", {}),
             (b"\xef\xbb\xbf" + _compact(_events(real)), {}), (b'{"a":"\xff"}', {}), (_compact(r"x"), {})]  # fmt: skip
    tables = _same_steps_both_ways(steps)
    assert tables["objects"].height == 2 + 2


def test_observed_at_must_be_timezone_aware_on_both_paths(real: Real) -> None:
    naive = datetime(2024, 5, 1, 12, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ParameterError):
        Normalizer(cluster="c").add(real.pod, observed_at=naive)
    _same(_compact(_pods(real)), observed_at=naive)
    _same_steps([(_compact(real.pod), True, {"observed_at": naive}), (_compact(real.pod), True, {})])


# --- random pods on a real pod's skeleton -------------------------------------------------------
#: Characters a JSON writer must escape or keep whole: quotes, backslash, controls, DEL, non-BMP.
_ALPHABET = 'ab:/-_. "\\\x00\x1f\x7f\té漢😀\u2028\ud800'


def _leaf_paths(pod: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [p for p in _paths(pod) if p[-1] != "managedFields"]


def _swapped(pod: dict[str, Any], values: dict[int, Any]) -> dict[str, Any]:
    """A copy of ``pod`` whose ``i``-th path (of :func:`_leaf_paths`) holds ``values[i]``."""
    pod = copy.deepcopy(pod)
    paths = _leaf_paths(pod)
    for index, value in sorted(values.items()):
        path = paths[index % len(paths)]
        parent: Any = pod
        try:
            for part in path[:-1]:
                parent = parent[part]
            parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier swap replaced a parent of this path
    return pod


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.randrange(9 if depth < 2 else 6)
    if pick == 0:
        return "".join(rng.choice(_ALPHABET) for _ in range(rng.randrange(6)))
    if pick == 1:
        return rng.choice((0, -1, 3, 2**31, 2**63 - 1, 2**63, -(2**63), 2**64 + 1))
    if pick == 2:
        return rng.choice((True, False))
    if pick == 3:
        return None
    if pick == 4:
        return rng.choice((0.0, -0.0, 1.5, 1e-7, 1e21, 3.0))
    if pick == 5:
        return rng.choice(("Running", "Pending", "100m", "1Gi", "2024-05-01T12:00:00Z", ""))
    if pick == 6:
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(3))]
    return {rng.choice(("a", "name", "kind", "ready", "", "é")): _random_value(rng, depth + 1)
            for _ in range(rng.randrange(3))}  # fmt: skip


def _as_pod_list(pod: dict[str, Any], *, separators: tuple[str, str], ensure_ascii: bool) -> bytes:
    text = json.dumps(_list("PodList", [pod]), separators=separators, ensure_ascii=ensure_ascii)
    return text.encode("utf-8", "surrogatepass")


_SEPARATORS = [(",", ":"), (", ", ": "), (" ,\n", "\t:\r\n")]


def test_random_pods_on_a_real_skeleton(real: Real) -> None:
    rng = random.Random(7)
    for example in range(200):
        values = {rng.randrange(10_000): _random_value(rng) for _ in range(rng.randrange(1, 6))}
        raw = _as_pod_list(_swapped(real.pod, values), separators=rng.choice(_SEPARATORS),
                           ensure_ascii=rng.random() < 0.5)  # fmt: skip
        _same(raw, observed_at=T0 if example % 3 else None)


_scalars = (st.text(alphabet=st.sampled_from(list(_ALPHABET)) | st.characters(), max_size=8)
            | st.integers() | st.booleans() | st.none() | st.floats(allow_nan=False, allow_infinity=False))  # fmt: skip
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(values=st.dictionaries(st.integers(0, 10_000), _values, min_size=1, max_size=5),
       separators=st.sampled_from(_SEPARATORS), ensure_ascii=st.booleans(), with_time=st.booleans())  # fmt: skip
def test_hypothesis_pods_on_a_real_skeleton(
    real: Real,
    values: dict[int, Any],
    separators: tuple[str, str],
    ensure_ascii: bool,  # noqa: FBT001 - drawn by hypothesis
    with_time: bool,  # noqa: FBT001 - drawn by hypothesis
) -> None:
    raw = _as_pod_list(_swapped(real.pod, values), separators=separators, ensure_ascii=ensure_ascii)
    _same(raw, observed_at=T0 if with_time else None)


# --- a List's tape read in two halves ---------------------------------------------------------
_TAPE = ("kind", "start", "end", "after", "flag")


def _compacted(tape: _bulk._Tape, entries: int) -> dict[str, np.ndarray]:
    """The tape's first ``entries`` entries without its hole (renumbered as if it had none)."""
    t1, base = tape.hole
    gap = base - t1
    out = {
        f: np.concatenate([getattr(tape, f)[:t1], getattr(tape, f)[base : base + entries - t1]])
        for f in _TAPE
    }
    after = out["after"].astype(np.int64)
    out["after"] = np.where(after >= base, after - gap, after)
    return out


def _halves_agree(raw: bytes, starts: range, pool: ThreadPoolExecutor) -> int:
    """For each split search start in ``starts``: the tape read in two halves
    (``_Tape.split``) is the tape ``parse`` writes in one pass (but for the hole between the
    halves, which no entry's ``after`` leads into), or the split is declined. Returns how many
    were taken; a document ``parse`` refuses is never taken."""
    cap = len(raw) // 2 + 2
    whole = _bulk._Tape(raw)
    whole._room(cap)
    entries, error, _ = J.parse(whole.b, whole.kind, whole.start, whole.end, whole.after, whole.flag)
    taken, seen = 0, set()
    for lo in starts:
        halves = _bulk._Tape(raw)
        halves._room(cap)
        if not halves.split(pool, lo):
            continue
        taken += 1
        assert error == 0, f"split at {lo} accepted a document parse refuses ({error})"
        t1, base = halves.hole
        assert 0 < t1 <= base, halves.hole
        if halves.hole in seen:
            continue
        seen.add(halves.hole)
        reached = halves.after[np.r_[0:t1, base : base + entries - t1]]
        assert not ((reached > t1) & (reached < base)).any(), "an entry leads into the hole"
        got = _compacted(halves, entries)
        for field in _TAPE:
            want = getattr(whole, field)[:entries]
            assert np.array_equal(got[field], want), (
                f"split from {lo}: {field} differs at {np.flatnonzero(got[field] != want)[:5]}"
            )
        # the List's items as the bulk path lists them, the hole stepped over
        items = K.children(whole.kind, whole.after, whole.member(0, "items"), 0, 0)
        split_items = K.children(halves.kind, halves.after, halves.member(0, "items"), *halves.hole)
        assert np.array_equal(np.where(split_items >= base, split_items - (base - t1), split_items), items)
    return taken


def test_kernels_borrow_their_arrays_without_keeping_or_freeing_them(real: Real) -> None:
    """The kernels read their arguments through borrowed views (no reference counts): each
    argument keeps its count, and what a kernel returns owns its memory."""
    import numba as nb

    @nb.njit
    def doubled(a: np.ndarray) -> np.ndarray:
        view = J.borrowed(a)
        view[0] = 7
        return view * 2

    a = np.arange(4)
    assert doubled(a).tolist() == [14, 2, 4, 6] and a[0] == 7
    tape = _bulk._Tape(_compact(_events(real)))
    assert tape.parse()
    items = K.children(tape.kind, tape.after, tape.member(0, "items"), 0, 0)
    arrays = (tape.b, tape.kind, tape.start, tape.end, tape.after, tape.flag, items)
    n = len(items)
    out = (np.empty(n, np.bool_), np.empty((n, len(K.EVENT_FIELDS)), np.int32), np.empty(n, np.int64),
           np.empty(n, np.int64))  # fmt: skip
    before = [sys.getrefcount(x) for x in (*arrays, *out)]
    for _ in range(3):
        K.events(*arrays, *out)
    assert [sys.getrefcount(x) for x in (*arrays, *out)] == before
    assert out[0].all() and (out[1][:, 1] >= 0).all() and (out[3] >= 0).all()


def test_the_tape_reads_strings_as_orjson_does_whatever_their_eight_byte_steps() -> None:
    """String bodies are scanned eight bytes at a time: a quote, a backslash, a control, DEL or
    non-ASCII byte at any offset of a step, near the document's end or not, is read (or the
    document refused) as orjson reads it."""
    stops = [b'\\"', b"\\\\", b"\\u00e9", b"\\/", b"\xc3\xa9", b"\xe2\x80\xa8", b"\xf0\x9f\x98\x80", b"\x01",
             b"\x1f", b"\x7f", b"\xff", b"\xc3", b"\\x", b"\t", b" "]  # fmt: skip
    for run in range(19):
        for stop in stops:
            for after in (b"", b"abcdefghijklmnopq", stop):
                body = b"a" * run + stop + after
                for doc, entry in (
                    (b'["' + body + b'"]', 1),
                    (b'{"' + body + b'":"' + body + b'","z":1}', 2),
                ):
                    tape = _bulk._Tape(doc)
                    try:
                        want = orjson.loads(doc)
                    except orjson.JSONDecodeError:
                        assert not tape.parse(), doc
                        continue
                    assert tape.parse(), doc
                    text = want[0] if entry == 1 else next(iter(want.values()))
                    got = _bulk._strings(tape, np.array([entry], np.int64), "s").to_list()[0]
                    assert got == text, doc
                    assert tape.end[entry] - tape.start[entry] == len(body), doc


def test_all_distinct_finds_a_value_twice_wherever_it_is() -> None:
    """The set behind the names check: a repeat anywhere (first and last, neighbours, values
    that share their low or high bits) is found; distinct values, however alike, are not."""
    rng = np.random.default_rng(3)
    for values in (
        rng.integers(0, 2**62, 5000),
        np.arange(5000) << 40,
        np.arange(5000),
        np.arange(1, 5001) * 2**18,
    ):
        values = values.astype(np.int64)
        assert K.all_distinct(values)
        for i, j in ((0, len(values) - 1), (10, 11), (4999, 0), (123, 4567)):
            twice = values.copy()
            twice[j] = twice[i]
            assert not K.all_distinct(twice), (i, j)
    assert K.all_distinct(np.zeros(0, np.int64)) and K.all_distinct(np.array([0], np.int64))
    names = [f"hello-node-47289321-91tfd.{i:016d}".encode() for i in range(20_000)] + [b"a", b"ab" * 9]
    raw = json.dumps([n.decode() for n in names]).encode()
    tape = _bulk._Tape(raw)
    assert tape.parse()
    entries = K.children(tape.kind, tape.after, 0, 0, 0)
    hashes = np.array([K.name_hash(tape.b, tape.kind, tape.start, tape.end, tape.flag, e) for e in entries])
    assert (hashes >= 0).all() and K.all_distinct(hashes)
    again = _bulk._Tape(json.dumps([names[5].decode(), names[5].decode().replace("-", "\\u002d")]).encode())
    assert again.parse()
    both = K.children(again.kind, again.after, 0, 0, 0)
    assert [K.name_hash(again.b, again.kind, again.start, again.end, again.flag, e) >= 0 for e in both] == [
        True,
        False,
    ]


def test_copy_bytes_copies_a_range_and_refuses_one_outside_its_arrays() -> None:
    source, out = np.frombuffer(b"abcdefgh", np.uint8), np.zeros(6, np.uint8)
    J.copy_bytes(out, 1, source, 2, 4)
    assert out.tobytes() == b"\x00cdef\x00"
    for o, s, n in ((3, 0, 4), (0, 6, 3), (-1, 0, 1), (0, 0, -1)):
        with pytest.raises(ValueError, match="outside"):
            J.copy_bytes(out, o, source, s, n)


def test_a_list_read_in_two_halves_gives_the_tape_read_in_one(real: Real) -> None:
    """Large Lists are read by two threads, each from one side of a comma between two items
    found by a byte pattern; the tape must be the one-pass tape wherever the search starts
    (including commas between objects of nested arrays that begin with the same key, and that
    text inside strings), or the split declined. Both List spellings (the API's, items without
    kind; kubectl's, indented) of real pods and events."""
    nested = [{"name": f"p{i}", "spec": {"containers": [{"name": "a", "x": [{"name": 1}, {"name": [2, {}]}]},
              {"name": 'b"},{"name":'}]}} for i in range(12)]  # fmt: skip
    # label → (document, the least share of starts the split must be taken from): real Lists
    # split from most starts, the others only where the first match is between two items
    docs = {
        "pods, as the API lists them": (_compact(_list("PodList", _without_kinds(real.pods[:10]))), 0.5),
        "events, indented": (json.dumps(_list("EventList", real.events[:10]), indent=3).encode(), 0.5),
        "items whose inner arrays start with the same key": (json.dumps(_list("List", nested)).encode(), 0.01),
        "a nested array first": (json.dumps({"a": [{"name": 1}, {"name": 2}], **_list("List", nested)}).encode(), 0.01),
    }  # fmt: skip
    with ThreadPoolExecutor(2) as pool:
        for label, (raw, share) in docs.items():
            starts = range(0, len(raw), 3)
            taken = _halves_agree(raw, starts, pool)
            assert taken >= share * len(starts), f"{label}: split from only {taken} of {len(starts)} starts"
        for broken in (
            docs["events, indented"][0][:-2],
            docs["a nested array first"][0].replace(b'{"name":', b'{"name"', 7),
        ):
            assert _halves_agree(broken, range(0, len(broken), 5), pool) == 0


@settings(max_examples=100, deadline=None, database=None)
@given(items=st.lists(st.dictionaries(st.sampled_from(["name", "metadata", "x"]), _values, min_size=1, max_size=4),
                      min_size=2, max_size=8),
       indent=st.sampled_from([None, 1]), lo=st.integers(0, 400))  # fmt: skip
def test_hypothesis_lists_read_in_two_halves(
    items: list[dict[str, Any]], indent: int | None, lo: int
) -> None:
    raw = json.dumps({"kind": "List", "items": items}, indent=indent, ensure_ascii=False).encode(
        "utf-8", "surrogatepass"
    )
    with ThreadPoolExecutor(2) as pool:
        _halves_agree(raw, range(lo % len(raw), len(raw), 97), pool)


# --- the harness itself -------------------------------------------------------------------------
def test_the_comparison_sees_reordered_rows_and_changed_text(real: Real) -> None:
    tables = normalize([_pods(real)], cluster="c", observed_at=T0)
    reordered = {**tables, "pods": tables["pods"].reverse()}
    with pytest.raises(AssertionError, match="table 'pods' differs"):
        _assert_same_tables(reordered, tables, "check")
    manifests = tables["objects"]["manifest"].str.replace("coredns", "c0redns")
    with pytest.raises(AssertionError, match="table 'objects' differs"):
        _assert_same_tables(
            {**tables, "objects": tables["objects"].with_columns(manifest=manifests)}, tables, "x"
        )
    with pytest.raises(AssertionError, match="normalize_json"):
        _assert_same_outcome(("raised", (ValueError, "a")), ("raised", (ValueError, "b")), "normalize_json")


def _one_change_variants(pod: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Copies of ``pod`` each with one field changed to a value of the same type (another text,
    number or truth) or dropped: replicas that differ in exactly one place."""
    for path in _paths(pod):
        for how in ("change", "drop"):
            variant = copy.deepcopy(pod)
            parent: Any = variant
            for part in path[:-1]:
                parent = parent[part]
            value = parent[path[-1]]
            if how == "drop":
                if not isinstance(parent, dict):
                    continue
                del parent[path[-1]]
            elif isinstance(value, bool):
                parent[path[-1]] = not value
            elif isinstance(value, int):
                parent[path[-1]] = value + 1
            elif isinstance(value, str):
                parent[path[-1]] = value + "x" if value else "x"
            else:
                continue
            yield variant


@pytest.mark.parametrize("threaded", [False, True], ids=["one thread", "two threads"])
def test_a_pod_and_its_one_change_replicas_in_one_list(
    real: Real, *, threaded: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bulk path computes the pod rules once per signature (what the rules read of a pod):
    a pod listed with copies of itself that each differ in one field must still get every
    copy's own status, reason, QoS, requests, owner and container rows. Run over real pods of
    every phase and shape (init containers, sidecars, failed and pending pods); ``threaded``:
    each half of the List's pods read by its own thread, as large Lists are."""
    monkeypatch.setattr(_bulk, "THREADED_BYTES", 0 if threaded else 2**62)
    monkeypatch.setattr(_bulk, "SPLIT_ITEMS", 2)
    seen: set[tuple[Any, ...]] = set()
    chosen = []
    for pod in real.pods:  # one pod per distinct shape of phase, containers and conditions
        status = pod.get("status") or {}
        spec = pod.get("spec") or {}
        shape = (status.get("phase"), len(spec.get("initContainers") or []), len(spec.get("containers") or []),
                 len(status.get("conditions") or []), bool(status.get("reason")))  # fmt: skip
        if shape not in seen:
            seen.add(shape)
            chosen.append(pod)
    assert len(chosen) >= 8
    for pod in chosen:
        items = [pod]
        for i, variant in enumerate(_one_change_variants(pod)):
            metadata = variant.get("metadata")
            if isinstance(metadata, dict):  # a replica of its own (else only the last would stay)
                metadata["uid"] = f"replica-{i}"
                metadata["name"] = f"{metadata.get('name')}-{i}"
            items.append(variant)
        tables = normalize_json(json.dumps(_list("PodList", items)).encode(), cluster="c", observed_at=T0)
        assert tables["pods"].height > len(items) // 2  # the replicas are rows of their own
        _same(json.dumps(_list("PodList", items), separators=(",", ":")).encode())
