"""What the three trace readers share: problems, ids, the attribute mapping and the column builder.

Every reader turns its spans into one call of :meth:`SpanColumns.add` with the span's own
fields (ids, name, times, kind and status when the format has them) plus two attribute maps: the
span's tags and its resource (OTLP resource attributes, Jaeger process tags). ``add`` maps the
well-known OpenTelemetry keys (old and new semantic conventions) to columns and keeps the rest as
JSON in ``attributes``. Columns are plain Python lists until :meth:`SpanColumns.frame` builds one
typed DataFrame, so a file of a million spans makes no per-span frames.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import polars as pl

from workbench.schema import conform
from workbench.sources.base import Problem

__all__ = ["PodIps", "Problem", "SpanColumns", "line_of", "norm_id", "otlp_id"]

#: ip → (namespace, pod, node): how spans without Kubernetes resource attributes find their pod.
PodIps = Mapping[str, tuple[str, str, str | None]]


_HEX = frozenset("0123456789abcdef")
_KINDS = {
    "server": "SERVER",
    "client": "CLIENT",
    "producer": "PRODUCER",
    "consumer": "CONSUMER",
    "internal": "INTERNAL",
}
_STATUSES = {"ERROR": "ERROR", "OK": "OK", "UNSET": "UNSET"}

# Attribute keys that become columns, in order of preference (new semantic conventions first).
_METHOD_KEYS = ("http.request.method", "http.method")
_STATUS_CODE_KEYS = ("http.response.status_code", "http.status_code")
_ROUTE_KEYS = ("http.route", "url.path", "http.target", "http.path", "url.full", "http.url")
_PEER_KEYS = ("peer.service",)
_ADDRESS_KEYS = ("server.address", "net.peer.name")
_DB_KEYS = ("db.system", "db.system.name", "db.type")
_IP_KEYS = ("k8s.pod.ip", "net.host.ip", "host.ip", "ip")


def line_of(text: str, pos: int) -> int:
    """1-based line number of character offset ``pos`` in ``text``."""
    return text.count("\n", 0, pos) + 1


def norm_id(value: object) -> str | None:
    """A trace or span id as lowercase hex, left-padded to 16 or 32 digits; ``None`` for none.

    Jaeger drops leading zeros (``"a68c6983a6d81a2"``); padding gives the W3C form, so ids match
    the ``traceparent`` ids found in logs. Ids that are not hex (``"span-1"``) are kept as they are.
    An all-zero id means "no id" (OTLP roots carry ``parentSpanId: ""`` or zeros).
    """
    if value is None:
        return None
    s = str(value).strip().lower()
    if not s:
        return None
    if set(s) <= _HEX:
        if s.strip("0") == "":
            return None
        if len(s) < 16:
            s = s.zfill(16)
        elif 16 < len(s) < 32:
            s = s.zfill(32)
    return s


def otlp_id(value: object) -> str | None:
    """An OTLP id: hex per the OTLP/JSON spec, or base64 (protobuf's own JSON mapping)."""
    if value is None or value == "":
        return None
    s = str(value)
    if len(s) in (16, 32) and set(s.lower()) <= _HEX:
        return norm_id(s)
    try:
        raw = base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        return norm_id(s)
    return norm_id(raw.hex()) if raw else None


def _first(d: dict[str, Any], keys: Sequence[str]) -> tuple[str | None, Any]:
    for k in keys:
        v = d.get(k)
        if v is not None and v != "":
            return k, v
    return None, None


def _as_int(v: object) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    try:
        return int(str(v).strip())
    except ValueError:
        return None


def _route(key: str, value: object) -> str:
    text = str(value)
    if key in ("url.full", "http.url"):
        try:
            return urlsplit(text).path or "/"
        except ValueError:  # e.g. a malformed IPv6 host
            return text
    return text.split("?", 1)[0] if key in ("http.target", "url.path", "http.path") else text


class SpanColumns:
    """Accumulates spans as columns and builds the conformed ``spans`` frame."""

    _NAMES = (
        "trace_id",
        "span_id",
        "parent_id",
        "service",
        "operation",
        "kind",
        "start_us",
        "duration_us",
        "status",
        "error",
        "status_message",
        "http_method",
        "http_route",
        "http_status_code",
        "peer_service",
        "db_system",
        "namespace",
        "pod",
        "node",
        "attributes",
    )

    def __init__(self, *, cluster: str, pod_ips: PodIps | None = None) -> None:
        self.cluster = cluster
        self.pod_ips = pod_ips or {}
        self.cols: dict[str, list[Any]] = {n: [] for n in self._NAMES}
        self._res_obj: Mapping[str, Any] | None = None
        self._res = self._resource(None)

    def _resource(
        self, resource: Mapping[str, Any] | None
    ) -> tuple[Any, list[Any], dict[str, Any], list[Any]]:
        res = dict(resource or {})
        service = res.pop("service.name", None)
        place = [res.pop(k, None) for k in ("k8s.namespace.name", "k8s.pod.name", "k8s.node.name")]
        return service, place, res, [res.get(k) for k in _IP_KEYS]

    def __len__(self) -> int:
        return len(self.cols["span_id"])

    def add(
        self,
        *,
        trace_id: str | None,
        span_id: str | None,
        parent_id: str | None,
        service: str | None,
        operation: str | None,
        start_us: int | None,
        duration_us: int | None,
        attributes: Mapping[str, Any],
        resource: Mapping[str, Any] | None = None,
        kind: str | None = None,
        status: str | None = None,
        status_message: str | None = None,
        peer_service: str | None = None,
        ips: Sequence[str | None] = (),
    ) -> None:
        """Add one span. ``kind``/``status`` given by the format win over ``span.kind`` and
        ``otel.status_code`` tags; the other columns come from the attributes, whose used keys
        are removed from what is stored in ``attributes``. Spans that share one resource
        should pass the same ``resource`` object: it is then mapped once, not once per span."""
        attrs = dict(attributes)

        tag_kind = attrs.pop("span.kind", None)
        if kind is None:
            kind = _KINDS.get(str(tag_kind).lower(), "UNSPECIFIED") if tag_kind else "UNSPECIFIED"
        tag_status = attrs.pop("otel.status_code", None)
        tag_message = attrs.pop("otel.status_description", None)
        if status is None:
            status = _STATUSES.get(str(tag_status).upper(), "UNSET") if tag_status else "UNSET"
            status_message = status_message or tag_message
        error = status == "ERROR"
        err_tag = attrs.get("error")
        if err_tag is not None and str(err_tag).lower() != "false":
            error = True
            if status == "UNSET":
                status = "ERROR"
            attrs.pop("error")
            if str(err_tag).lower() not in ("true", ""):
                status_message = status_message or str(err_tag)

        _, method = _first(attrs, _METHOD_KEYS)
        code_key, code_raw = _first(attrs, _STATUS_CODE_KEYS)
        code = _as_int(code_raw)
        if code is not None and not -(2**31) <= code < 2**31:
            code = None
        if code is not None and code_key is not None:
            attrs.pop(code_key)
            error = error or code >= 500
        for k in _METHOD_KEYS:
            if method is not None and attrs.get(k) == method:
                attrs.pop(k)
        route_key, route_raw = _first(attrs, _ROUTE_KEYS)
        route = _route(route_key, route_raw) if route_key else None
        if route_key and route == route_raw:
            attrs.pop(route_key)

        peer_key, peer = _first(attrs, _PEER_KEYS)
        if peer is None:
            peer = peer_service
        if peer is None:
            peer_key, peer = _first(attrs, _ADDRESS_KEYS)
            peer_key = None  # keep the address itself in the attributes
        if peer_key:
            attrs.pop(peer_key)
        db_key, db = _first(attrs, _DB_KEYS)
        if db_key:
            attrs.pop(db_key)

        if resource is not self._res_obj:
            self._res_obj = resource
            self._res = self._resource(resource)
        res_service, res_place, res_rest, res_ips = self._res
        if service is None:
            service = res_service or attrs.pop("service.name", None)
        place = list(res_place)
        for i, key in enumerate(("k8s.namespace.name", "k8s.pod.name", "k8s.node.name")):
            if key in attrs:
                v = attrs.pop(key)
                place[i] = v if place[i] is None else place[i]
        if self.pod_ips and (place[0] is None or place[1] is None or place[2] is None):
            for ip in (*ips, *res_ips, *(attrs.get(k) for k in _IP_KEYS)):
                hit = self.pod_ips.get(str(ip)) if ip else None
                if hit is not None:
                    place = [p if p is not None else h for p, h in zip(place, hit, strict=False)]
                    break

        rest = {**res_rest, **attrs} if res_rest else attrs
        c = self.cols
        c["trace_id"].append(trace_id)
        c["span_id"].append(span_id)
        c["parent_id"].append(parent_id)
        c["service"].append(None if service is None else str(service))
        c["operation"].append(None if operation is None else str(operation))
        c["kind"].append(kind)
        c["start_us"].append(start_us)
        c["duration_us"].append(duration_us)
        c["status"].append(status)
        c["error"].append(error)
        c["status_message"].append(None if status_message in (None, "") else str(status_message))
        c["http_method"].append(None if method is None else str(method).upper())
        c["http_route"].append(route)
        c["http_status_code"].append(code)
        c["peer_service"].append(None if peer is None else str(peer))
        c["db_system"].append(None if db is None else str(db))
        c["namespace"].append(place[0])
        c["pod"].append(place[1])
        c["node"].append(place[2])
        c["attributes"].append(json.dumps(rest, sort_keys=True, default=str) if rest else None)

    def frame(self) -> pl.DataFrame:
        """The spans as a conformed ``spans`` table (``end`` = ``start`` + duration)."""
        c = self.cols
        n = len(self)
        text = {
            k: pl.Series(k, c[k], dtype=pl.String)
            for k in (
                "trace_id",
                "span_id",
                "parent_id",
                "service",
                "operation",
                "kind",
                "status",
                "status_message",
                "http_method",
                "http_route",
                "peer_service",
                "db_system",
                "namespace",
                "pod",
                "node",
                "attributes",
            )
        }
        frame = pl.DataFrame(
            {
                "cluster": pl.Series("cluster", [self.cluster] * n, dtype=pl.String),
                **text,
                "start": pl.Series("start", c["start_us"], dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
                "duration_us": pl.Series("duration_us", c["duration_us"], dtype=pl.Int64),
                "error": pl.Series("error", c["error"], dtype=pl.Boolean),
                "http_status_code": pl.Series("http_status_code", c["http_status_code"], dtype=pl.Int32),
            }
        ).with_columns(end=pl.col("start") + pl.duration(microseconds=pl.col("duration_us")))
        return conform("spans", frame)
