"""OTLP JSON: the collector's file exporter (one ``ExportTraceServiceRequest`` per line) or a
single request document (pretty-printed, or Tempo's ``{"batches": [...]}``).

Field names follow the OTLP/JSON encoding (lowerCamelCase; ids hex, or base64 from generic
protobuf JSON; 64-bit times as strings or numbers; enums as integers or their names). The older
``instrumentationLibrarySpans`` and the proto field names (``resource_spans``…) are accepted too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from workbench.sources.traces._common import Problem, SpanColumns, otlp_id

__all__ = ["looks_like_otlp", "read_otlp"]

_KINDS = ["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"]
_STATUSES = ["UNSET", "OK", "ERROR"]


def _get(d: dict[str, Any], *keys: str) -> Any:
    for k in keys:
        v = d.get(k)
        if v is not None:
            return v
    return None


def looks_like_otlp(doc: object) -> bool:
    """Whether a parsed JSON document is an OTLP trace request."""
    return isinstance(doc, dict) and any(k in doc for k in ("resourceSpans", "resource_spans", "batches"))


def any_value(v: object) -> Any:
    """The Python value of an OTLP ``AnyValue`` (``{"stringValue": "x"}`` → ``"x"``)."""
    if not isinstance(v, dict):
        return v
    for key, conv in (
        ("stringValue", str),
        ("string_value", str),
        ("boolValue", bool),
        ("bool_value", bool),
        ("intValue", int),
        ("int_value", int),
        ("doubleValue", float),
        ("double_value", float),
        ("bytesValue", str),
        ("bytes_value", str),
    ):
        if key in v:
            return conv(v[key])
    arr = _get(v, "arrayValue", "array_value")
    if arr is not None:
        return [any_value(x) for x in arr.get("values") or []]
    kvl = _get(v, "kvlistValue", "kvlist_value")
    if kvl is not None:
        return attributes(kvl.get("values"))
    return None


def attributes(kvs: object) -> dict[str, Any]:
    """A list of OTLP ``KeyValue`` as a dict."""
    if not isinstance(kvs, list):
        return {}
    return {kv["key"]: any_value(kv.get("value")) for kv in kvs if isinstance(kv, dict) and "key" in kv}


def _enum(value: object, names: list[str], prefix: str) -> str:
    if value is None:
        return names[0]
    if isinstance(value, int) and 0 <= value < len(names):
        return names[value]
    text = str(value).upper().removeprefix(prefix)
    if text.isdigit() and int(text) < len(names):
        return names[int(text)]
    if text in names:
        return text
    msg = f"unknown value {value!r} (expected one of {', '.join(prefix + n for n in names)})"
    raise ValueError(msg)


def _nanos(value: object) -> int | None:
    if value is None or value == "":
        return None
    n = int(value)  # str or int; a float string fails loudly
    return n if n > 0 else None


def _add_request(
    doc: dict[str, Any], cols: SpanColumns, problems: list[Problem], file: str, where: str
) -> None:
    resource_spans = _get(doc, "resourceSpans", "resource_spans", "batches") or []
    index = 0
    for rs in resource_spans:
        resource = attributes((rs.get("resource") or {}).get("attributes"))
        for ss in (
            _get(
                rs,
                "scopeSpans",
                "scope_spans",
                "instrumentationLibrarySpans",
                "instrumentation_library_spans",
            )
            or []
        ):
            scope = _get(ss, "scope", "instrumentationLibrary", "instrumentation_library") or {}
            scope_attrs = {}
            if scope.get("name"):
                scope_attrs["otel.scope.name"] = scope["name"]
            if scope.get("version"):
                scope_attrs["otel.scope.version"] = scope["version"]
            for span in ss.get("spans") or []:
                index += 1
                try:
                    _add_span(span, resource, scope_attrs, cols)
                except (KeyError, TypeError, ValueError, AttributeError) as err:
                    problems.append(Problem(file, f"{where}, span {index}", f"span skipped: {err}"))


def _add_span(
    span: dict[str, Any], resource: dict[str, Any], scope: dict[str, Any], cols: SpanColumns
) -> None:
    trace_id = otlp_id(_get(span, "traceId", "trace_id"))
    span_id = otlp_id(_get(span, "spanId", "span_id"))
    if trace_id is None or span_id is None:
        msg = "no traceId or spanId"
        raise ValueError(msg)
    start = _nanos(_get(span, "startTimeUnixNano", "start_time_unix_nano"))
    end = _nanos(_get(span, "endTimeUnixNano", "end_time_unix_nano"))
    status = span.get("status") or {}
    attrs = {**scope, **attributes(span.get("attributes"))}
    cols.add(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=otlp_id(_get(span, "parentSpanId", "parent_span_id")),
        service=None,
        operation=span.get("name"),
        kind=_enum(span.get("kind"), _KINDS, "SPAN_KIND_"),
        start_us=None if start is None else start // 1000,
        duration_us=None if start is None or end is None else (end - start) // 1000,
        status=_enum(status.get("code"), _STATUSES, "STATUS_CODE_"),
        status_message=status.get("message"),
        attributes=attrs,
        resource=resource,
    )


def _documents(text: str, file: str, problems: list[Problem]) -> Iterator[tuple[str, object]]:
    try:
        yield "line 1", json.loads(text)
        return
    except json.JSONDecodeError:
        pass
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield f"line {n}", json.loads(line)
        except json.JSONDecodeError as err:
            reason = f"not valid JSON ({err.msg} at column {err.colno}); line skipped"
            problems.append(Problem(file, f"line {n}", reason))


def read_otlp(text: str, cols: SpanColumns, problems: list[Problem], *, file: str) -> None:
    """Add the spans of an OTLP JSON file (JSON lines or one document) to ``cols``."""
    for where, doc in _documents(text, file, problems):
        if not looks_like_otlp(doc):
            what = type(doc).__name__ if not isinstance(doc, dict) else f"keys {sorted(doc)[:5]}"
            problems.append(
                Problem(file, where, f"not an OTLP trace request (no resourceSpans; found {what})")
            )
            continue
        _add_request(doc, cols, problems, file, where)  # type: ignore[arg-type]
