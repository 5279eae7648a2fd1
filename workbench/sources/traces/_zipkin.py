"""Zipkin v2 JSON: a list of spans (``/api/v2/spans`` bodies, ``/api/v2/trace/{id}`` answers).

Times are epoch microseconds. ``kind`` is absent on local spans; ``tags`` are all strings; an
``error`` tag (any value but ``"false"``) marks a failed span and its value is the message.
A shared RPC span (client and server halves reporting the same ``id``) stays two rows, as Zipkin
stores it; the server half has ``"zipkin.shared": true`` in ``attributes``. Spans reported in
several fragments (e.g. one without ``timestamp``) are kept as they are, one row each.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from workbench.sources.traces._common import Problem, SpanColumns, line_of, norm_id

__all__ = ["iter_array", "looks_like_zipkin", "read_zipkin"]

_KINDS = {"CLIENT", "SERVER", "PRODUCER", "CONSUMER"}


def looks_like_zipkin(doc: object) -> bool:
    """Whether a parsed JSON document is a Zipkin v2 span list."""
    return isinstance(doc, list) and any(isinstance(s, dict) and "traceId" in s for s in doc[:10])


def iter_array(text: str, file: str, problems: list[Problem]) -> Iterator[object]:
    """The elements of a JSON array, one at a time, so a truncated or damaged file still
    yields every element before the damage (which is reported with its line)."""
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1
    n = len(text)
    index = 0
    while True:
        while pos < n and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= n:
            problems.append(
                Problem(
                    file,
                    f"line {line_of(text, n)}",
                    "JSON ends before the closing ']' (truncated file?); spans before it were kept",
                )
            )
            return
        if text[pos] == "]":
            return
        index += 1
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as err:
            reason = (
                f"span {index} (starting here) is not valid JSON ({err.msg} at line {err.lineno} "
                f"column {err.colno}; truncated file?); it and the rest of the file were skipped"
            )
            problems.append(Problem(file, f"line {line_of(text, pos)}", reason))
            return
        yield item


def _endpoint(span: dict[str, Any], key: str) -> dict[str, Any]:
    ep = span.get(key)
    return ep if isinstance(ep, dict) else {}


def read_zipkin(
    spans: Iterator[object] | list[object], cols: SpanColumns, problems: list[Problem], *, file: str
) -> None:
    """Add Zipkin v2 spans to ``cols``."""
    for index, span in enumerate(spans, start=1):
        try:
            if not isinstance(span, dict):
                msg = f"expected a span object, found {type(span).__name__}"
                raise TypeError(msg)
            _add(span, cols)
        except (KeyError, TypeError, ValueError) as err:
            problems.append(Problem(file, f"span {index}", f"span skipped: {err}"))


def _add(span: dict[str, Any], cols: SpanColumns) -> None:
    trace_id, span_id = norm_id(span.get("traceId")), norm_id(span.get("id"))
    if trace_id is None or span_id is None:
        msg = "no traceId or id"
        raise ValueError(msg)
    local, remote = _endpoint(span, "localEndpoint"), _endpoint(span, "remoteEndpoint")
    tags = span.get("tags") or {}
    if not isinstance(tags, dict):
        msg = f"tags is a {type(tags).__name__}, expected an object"
        raise TypeError(msg)
    attrs: dict[str, Any] = dict(tags)
    local_ip = local.get("ipv4") or local.get("ipv6")
    if local_ip:
        attrs.setdefault("net.host.ip", local_ip)
    remote_ip = remote.get("ipv4") or remote.get("ipv6")
    if remote_ip:
        attrs.setdefault("net.peer.ip", remote_ip)
    if remote.get("port"):
        attrs.setdefault("net.peer.port", remote["port"])
    if span.get("shared"):
        attrs["zipkin.shared"] = True
    kind = str(span.get("kind") or "").upper()
    ts, duration = span.get("timestamp"), span.get("duration")
    cols.add(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=norm_id(span.get("parentId")),
        service=local.get("serviceName"),
        operation=span.get("name"),
        kind=kind if kind in _KINDS else None,
        start_us=None if ts is None else int(ts),
        duration_us=None if duration is None else int(duration),
        attributes=attrs,
        peer_service=remote.get("serviceName"),
        ips=(local_ip,),
    )
