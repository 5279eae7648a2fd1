"""Small text helpers for log parsing: timestamps, level names, trace ids, byte-safe truncation."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from workbench.sources.traces import norm_id

__all__ = ["TS_PREFIX", "clip", "epoch", "find_trace_ids", "level_of", "parse_ts", "ts_value"]

#: An RFC 3339 / ISO 8601 timestamp at the start of a line (``T`` or space, ``.`` or ``,``
#: before the fraction, optional zone; no zone means UTC).
TS_PREFIX = re.compile(r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|z|[+-]\d\d:?\d\d)?)(?= |\t|$)")
_GO_TS = re.compile(r"(\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?= |$)")

_LEVELS: dict[str, str] = {}
for _name, _words in {
    "TRACE": "trace trc finest finer verbose",
    "DEBUG": "debug dbg d fine config",
    "INFO": "info inf i information informational notice n",
    "WARN": "warn wrn w warning",
    "ERROR": "error err e severe eror",
    "FATAL": "fatal ftl f critical crit c panic dpanic emerg emergency alert",
}.items():
    for _w in _words.split():
        _LEVELS[_w] = _name
# pino / bunyan numeric levels
_NUMERIC = {10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL"}


def level_of(value: Any) -> str:
    """A level name or number normalised to the schema's ``LOG_LEVELS`` (``UNKNOWN`` if unknown)."""
    if value is None or isinstance(value, bool):
        return "UNKNOWN"
    if isinstance(value, int | float):
        return _NUMERIC.get(int(value), "UNKNOWN")
    text = str(value).strip().lower()
    if text.isdigit():
        return _NUMERIC.get(int(text), "UNKNOWN")
    return _LEVELS.get(text, "UNKNOWN")


def parse_ts(text: str) -> datetime | None:
    """An ISO 8601 / RFC 3339 timestamp as an aware UTC datetime (naive times are UTC)."""
    try:
        ts = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        m = _GO_TS.fullmatch(text.strip())
        if not m:
            return None
        y, mo, d, h, mi, s, frac = m.groups()
        ts = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), int((frac or "0")[:6].ljust(6, "0")))
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def epoch(value: float) -> datetime | None:
    """A Unix time in seconds, milliseconds, microseconds or nanoseconds (told by magnitude)."""
    v = float(value)
    if v <= 0:
        return None
    for scale in (1, 1e3, 1e6, 1e9):
        if v < 1e11 * scale:
            try:
                return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=round(v / scale * 1e6))
            except OverflowError:
                return None
    return None


def ts_value(value: Any) -> datetime | None:
    """A timestamp field of a structured log line: text or a Unix time."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return epoch(value)
    text = str(value)
    if text.replace(".", "", 1).isdigit():
        return epoch(float(text))
    return parse_ts(text)


_TRACEPARENT = re.compile(r"\b00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}\b")
_TRACE_KV = re.compile(r"""(?i)\btrace[_.-]?id["']?\s*[=:]\s*["']?([0-9a-f]{16,32})\b""")
_SPAN_KV = re.compile(r"""(?i)\bspan[_.-]?id["']?\s*[=:]\s*["']?([0-9a-f]{8,16})\b""")


def find_trace_ids(text: str) -> tuple[str | None, str | None]:
    """Trace and span id written in free text: a W3C ``traceparent`` or ``trace_id=…``."""
    if "00-" in text:
        m = _TRACEPARENT.search(text)
        if m:
            return m.group(1), m.group(2)
    lower = text.lower()
    if "trace" not in lower:
        return None, None
    t = _TRACE_KV.search(text)
    s = _SPAN_KV.search(text) if "span" in lower else None
    return (norm_id(t.group(1)) if t else None), (norm_id(s.group(1)) if s else None)


def clip(data: bytes, limit: int) -> tuple[bytes, int]:
    """``data`` cut to at most ``limit`` bytes on a UTF-8 character boundary, and how many bytes
    were cut off."""
    if len(data) <= limit:
        return data, 0
    end = limit
    while end > 0 and end > limit - 4 and (data[end] & 0xC0) == 0x80:
        end -= 1
    return data[:end], len(data) - end
