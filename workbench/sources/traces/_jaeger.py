"""Jaeger JSON: the query API's ``{"data": [trace, ...]}`` answers (also what the UI's "Download
JSON" saves) and a bare trace ``{"traceID", "spans", "processes"}`` as in the UI's test data.

Times are epoch microseconds; tags are ``{"key", "type", "value"}`` with types ``string``,
``bool``, ``int64``, ``float64``, ``binary``; a span's service and resource tags come from its
process (``processes[processID]``, or an embedded ``process``). The parent is the first
``CHILD_OF`` reference (else the first ``FOLLOWS_FROM``), or the legacy ``parentSpanID``.
"""

from __future__ import annotations

from typing import Any

from workbench.sources.traces._common import Problem, SpanColumns, norm_id

__all__ = ["looks_like_jaeger", "read_jaeger"]


def _is_trace(doc: object) -> bool:
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("spans"), list)
        and ("traceID" in doc or "processes" in doc)
    )


def looks_like_jaeger(doc: object) -> bool:
    """Whether a parsed JSON document is Jaeger JSON (API answer, bare trace or list of traces)."""
    if isinstance(doc, dict) and isinstance(doc.get("data"), list):
        return all(_is_trace(t) for t in doc["data"])
    if isinstance(doc, list):
        return bool(doc) and all(_is_trace(t) for t in doc)
    return _is_trace(doc)


def _value(tag: dict[str, Any]) -> Any:
    v, t = tag.get("value"), str(tag.get("type") or "string").lower()
    if t == "bool" and isinstance(v, str):
        return v.lower() == "true"
    if t == "int64" and isinstance(v, str):
        try:
            return int(v)
        except ValueError:
            return v
    if t == "float64" and isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return v
    return v


def _tags(tags: object) -> dict[str, Any]:
    if not isinstance(tags, list):
        return {}
    return {t["key"]: _value(t) for t in tags if isinstance(t, dict) and "key" in t}


def _parent(span: dict[str, Any]) -> str | None:
    refs = [r for r in span.get("references") or [] if isinstance(r, dict)]
    for ref_type in ("CHILD_OF", "FOLLOWS_FROM"):
        for ref in refs:
            if str(ref.get("refType", "")).upper() == ref_type:
                return norm_id(ref.get("spanID"))
    return norm_id(span.get("parentSpanID"))


def read_jaeger(doc: object, cols: SpanColumns, problems: list[Problem], *, file: str) -> None:
    """Add the spans of a Jaeger JSON document to ``cols``."""
    if isinstance(doc, dict) and "data" in doc:
        traces = doc["data"]
    elif isinstance(doc, list):
        traces = doc
    else:
        traces = [doc]
    if not isinstance(traces, list):
        problems.append(Problem(file, "line 1", "Jaeger JSON 'data' is not a list of traces; no spans read"))
        return
    for t_index, trace in enumerate(traces, start=1):
        if not isinstance(trace, dict) or not isinstance(trace.get("spans", []), list):
            problems.append(Problem(file, f"trace {t_index}", "not a Jaeger trace object; skipped"))
            continue
        processes = trace.get("processes") or {}
        if not isinstance(processes, dict):
            processes = {}
        for s_index, span in enumerate(trace.get("spans") or [], start=1):
            where = f"trace {t_index}, span {s_index}"
            try:
                _add(span, processes, trace.get("traceID"), cols)
            except (KeyError, TypeError, ValueError, AttributeError) as err:
                problems.append(Problem(file, where, f"span skipped: {err}"))


def _add(span: dict[str, Any], processes: dict[str, Any], trace_id: object, cols: SpanColumns) -> None:
    tid, sid = norm_id(span.get("traceID") or trace_id), norm_id(span.get("spanID"))
    if tid is None or sid is None:
        msg = "no traceID or spanID"
        raise ValueError(msg)
    process = span.get("process") or processes.get(span.get("processID")) or {}
    resource = _tags(process.get("tags"))
    start, duration = span.get("startTime"), span.get("duration")
    cols.add(
        trace_id=tid,
        span_id=sid,
        parent_id=_parent(span),
        service=process.get("serviceName"),
        operation=span.get("operationName"),
        start_us=None if start is None else int(start),
        duration_us=None if duration is None else int(duration),
        attributes=_tags(span.get("tags")),
        resource=resource,
    )
