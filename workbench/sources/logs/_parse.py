"""One log line → level, message, timestamp, fields and trace context.

Recognised, in this order:

``json``      ``{"level": "warn", "msg": "…", "ts": …, "trace_id": …}`` (zap, logrus, slog, pino,
              bunyan, ECS, structlog…)
``logfmt``    ``level=info ts=… msg="…" trace_id=…`` (go-kit, logrus text, slog text)
``klog``      ``E0615 12:00:00.123456   1 file.go:42] message`` (Kubernetes components), with the
              structured ``"msg" key="value"`` form
``capnslog``  ``2021-08-03 09:27:01.949177 W | pkg/flags: …`` (etcd 3.4)
``syslog``    ``Nov 10 14:17:41.900439 host proc[pid]: …`` (journal exports; the rest is parsed too)
``text``      anything else: a leading timestamp is read, the level is the first level word
              (``ERROR``, ``[warn]``…) near the start.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from workbench.sources.logs._text import TS_PREFIX, find_trace_ids, level_of, parse_ts, ts_value
from workbench.sources.traces import norm_id

__all__ = ["LineFormat", "ParsedLine", "parse_line"]

LineFormat = Literal["json", "logfmt", "klog", "capnslog", "syslog", "text"]


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """What one log line says. ``level`` is one of the schema's ``LOG_LEVELS``; ``fields`` is the
    JSON text of the structured fields that are not level, message, time or trace context."""

    format: LineFormat
    level: str
    message: str
    ts: datetime | None = None
    fields: str | None = None
    trace_id: str | None = None
    span_id: str | None = None


_LEVEL_KEYS = (
    "level",
    "lvl",
    "severity",
    "loglevel",
    "log.level",
    "levelname",
    "level_name",
    "@l",
    "severity_text",
    "severityText",
)
_MSG_KEYS = ("msg", "message", "@m", "@mt", "body", "event", "Message")
_TS_KEYS = ("ts", "time", "timestamp", "@timestamp", "@t", "t", "datetime", "date", "Timestamp", "time_local")
_TRACE_KEYS = (
    "trace_id",
    "traceId",
    "traceID",
    "trace.id",
    "trace-id",
    "otelTraceID",
    "TraceId",
    "logging.googleapis.com/trace",
)
_SPAN_KEYS = (
    "span_id",
    "spanId",
    "spanID",
    "span.id",
    "span-id",
    "otelSpanID",
    "SpanId",
    "logging.googleapis.com/spanId",
)
_KNOWN = frozenset((*_LEVEL_KEYS, *_MSG_KEYS, *_TS_KEYS, *_TRACE_KEYS, *_SPAN_KEYS, "traceparent", "caller"))


def _dumps(d: dict[str, Any]) -> str | None:
    return json.dumps(d, sort_keys=True, default=str, ensure_ascii=False) if d else None


def _take(d: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for k in keys:
        if k in d and d[k] not in (None, ""):
            return d.pop(k)
    return None


def _take_ts(d: dict[str, Any]) -> datetime | None:
    """The first time field that parses; one that does not stays in the fields."""
    for k in _TS_KEYS:
        if k in d:
            ts = ts_value(d[k])
            if ts is not None:
                del d[k]
                return ts
    return None


def _trace_context(d: dict[str, Any]) -> tuple[str | None, str | None]:
    trace, span = _take(d, _TRACE_KEYS), _take(d, _SPAN_KEYS)
    for nested, target in (("trace", "trace"), ("span", "span")):  # ECS: {"trace": {"id": …}}
        v = d.get(nested)
        if isinstance(v, dict) and "id" in v:
            if target == "trace" and trace is None:
                trace = d.pop(nested)["id"]
            elif target == "span" and span is None:
                span = d.pop(nested)["id"]
    tp = d.pop("traceparent", None)
    if tp and (trace is None or span is None):
        t2, s2 = find_trace_ids(str(tp))
        trace, span = trace or t2, span or s2
    if isinstance(trace, str) and "/traces/" in trace:  # GCP: projects/p/traces/<id>
        trace = trace.rsplit("/", 1)[-1]
    return (norm_id(trace) if trace is not None else None), (norm_id(span) if span is not None else None)


def _structured(fmt: LineFormat, text: str, d: dict[str, Any]) -> ParsedLine:
    level = level_of(_take(d, _LEVEL_KEYS))
    msg = _take(d, _MSG_KEYS)
    ts = _take_ts(d)
    trace, span = _trace_context(d)
    if msg is None:
        message = text
    else:
        message = msg if isinstance(msg, str) else json.dumps(msg, sort_keys=True, default=str)
    return ParsedLine(fmt, level, message, ts, _dumps(d), trace, span)


# --- logfmt -------------------------------------------------------------------------------
_LOGFMT_PAIR = re.compile(r'([^\s="]+)=("(?:[^"\\]|\\.)*"|[^\s"]*)(?:\s+|$)')


def _unquote(v: str) -> str:
    if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
        try:
            return json.loads(v)
        except ValueError:
            return v[1:-1]
    return v


def logfmt(text: str) -> dict[str, str] | None:
    """The ``key=value`` pairs of a logfmt line, or ``None`` if the line is not all pairs."""
    pos, out, n = 0, {}, len(text)
    while pos < n:
        m = _LOGFMT_PAIR.match(text, pos)
        if not m:
            return None
        out[m.group(1)] = _unquote(m.group(2))
        pos = m.end()
    return out


# --- plain text -----------------------------------------------------------------------------
_KLOG = re.compile(r"([IWEF])(\d\d)(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{6})\s+(\d+)\s+([^\]\s]+)\] ?(.*)", re.S)
_CAPNS = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) ([CEWNID]) \| (.*)", re.S)
_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), start=1)}
_SYSLOG = re.compile(
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +(\d\d?) (\d\d):(\d\d):(\d\d)(?:\.(\d+))? "
    r"(\S+) ([^\s\[:]+)(?:\[(\d+)\])?: (.*)",
    re.S,
)
_GO_LOG_TS = re.compile(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?= |$)")
_LEVEL_WORD = re.compile(
    r"(?:^|[\s\[(<|])(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|CRIT|CRITICAL|FATAL|PANIC|SEVERE|EMERG)"
    r"(?=$|[\s\])>|:,;-])"
)
_LEVEL_BRACKET = re.compile(
    r"(?i)[\[<](trace|debug|info|notice|warn|warning|error|err|crit|critical|fatal|panic)[\]>]"
)
_LEVEL_KV = re.compile(r"""(?i)(?:^|[\s{,"'])(?:level|lvl|severity)["']?\s*[=:]\s*["']?([a-z]+)""")
_HEADS = (
    (re.compile(r"panic: "), "FATAL"),
    (re.compile(r"Traceback \(most recent call last\):"), "ERROR"),
    (re.compile(r"Exception in thread "), "ERROR"),
    (re.compile(r"fatal error: "), "FATAL"),
)
_KLOG_LEVELS = {"I": "INFO", "W": "WARN", "E": "ERROR", "F": "FATAL"}
_CAPNS_LEVELS = {"C": "FATAL", "E": "ERROR", "W": "WARN", "N": "INFO", "I": "INFO", "D": "DEBUG"}


def _text_level(text: str) -> str:
    head = text[:96]
    for pattern, level in _HEADS:
        if pattern.match(head):
            return level
    m = _LEVEL_WORD.search(head) or _LEVEL_BRACKET.search(head) or _LEVEL_KV.search(head)
    return level_of(m.group(1)) if m else "UNKNOWN"


def _klog(m: re.Match[str], year: int | None) -> ParsedLine:
    lvl, mo, d, h, mi, s, us, pid, caller, rest = m.groups()
    ts = datetime(year, int(mo), int(d), int(h), int(mi), int(s), int(us), tzinfo=UTC) if year else None
    fields: dict[str, Any] = {"caller": caller, "pid": int(pid)}
    message = rest
    if rest.startswith('"'):  # structured klog: "message" key="value" ...
        end = re.match(r'"(?:[^"\\]|\\.)*"', rest)
        pairs = logfmt(rest[end.end() :].strip()) if end else None
        if end and pairs is not None:
            message = _unquote(end.group(0))
            fields.update(pairs)
    trace, span = _trace_context(fields)
    if trace is None:
        trace, span = find_trace_ids(rest)
    return ParsedLine("klog", _KLOG_LEVELS[lvl], message, ts, _dumps(fields), trace, span)


def _syslog(m: re.Match[str], year: int | None) -> ParsedLine:
    mon, day, h, mi, s, frac, host, proc, pid, rest = m.groups()
    ts = None
    if year:
        us = int((frac or "0")[:6].ljust(6, "0"))
        ts = datetime(year, _MONTHS[mon], int(day), int(h), int(mi), int(s), us, tzinfo=UTC)
    inner = parse_line(rest, year=year)
    fields: dict[str, Any] = json.loads(inner.fields) if inner.fields else {}
    fields.update({"host": host, "process": proc, **({"pid": int(pid)} if pid else {})})
    return ParsedLine(
        "syslog", inner.level, inner.message, ts or inner.ts, _dumps(fields), inner.trace_id, inner.span_id
    )


def _plain(text: str, year: int | None) -> ParsedLine:
    m = _KLOG.match(text)
    if m:
        return _klog(m, year)
    m = _CAPNS.match(text)
    if m:
        trace, span = find_trace_ids(m.group(3))
        return ParsedLine(
            "capnslog", _CAPNS_LEVELS[m.group(2)], m.group(3), parse_ts(m.group(1)), None, trace, span
        )
    m = _SYSLOG.match(text)
    if m:
        return _syslog(m, year)
    ts, message = None, text
    m = TS_PREFIX.match(text) or _GO_LOG_TS.match(text)
    if m:
        ts = parse_ts(m.group(0))
        if ts is not None:
            message = text[m.end() :].lstrip(" \t")
            if message.startswith(("{", "level=", "time=", "ts=", "msg=")):  # timestamp + structured
                inner = parse_line(message, year=year)
                return (
                    inner
                    if inner.ts is not None
                    else ParsedLine(
                        inner.format,
                        inner.level,
                        inner.message,
                        ts,
                        inner.fields,
                        inner.trace_id,
                        inner.span_id,
                    )
                )
    trace, span = find_trace_ids(message)
    return ParsedLine("text", _text_level(message), message, ts, None, trace, span)


def parse_line(text: str, *, year: int | None = None) -> ParsedLine:
    """Parse one log line (without its newline).

    ``year`` completes timestamps written without one (klog ``I0524 13:15:17.126969``, syslog
    ``Nov 10 14:17:41``); without it they give ``ts=None``.

    >>> p = parse_line('{"level":"warn","ts":"2021-08-03T09:27:02.179Z","msg":"slow","took":"2s"}')
    >>> p.format, p.level, p.message, p.fields
    ('json', 'WARN', 'slow', '{"took": "2s"}')
    >>> parse_line('E0615 12:00:00.123456       1 main.go:42] boom').level
    'ERROR'
    """
    text = text.rstrip("\r\n")
    stripped = text.strip()
    if stripped.startswith("{") and stripped.endswith("}"):
        try:
            doc = json.loads(stripped)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            if _KNOWN.intersection(doc):
                return _structured("json", text, doc)
            return ParsedLine("json", "UNKNOWN", text)
    if "=" in stripped and not stripped.startswith(("{", "[")):
        pairs = logfmt(stripped)
        if pairs is not None and len(pairs) >= 2 and _KNOWN.intersection(pairs):
            return _structured("logfmt", text, dict(pairs))
    return _plain(text, year)
