"""Physical lines → log entries: multi-line stack traces joined, long lines truncated, rows built.

A line continues the entry before it (same stream, at most :data:`JOIN_WINDOW` later) when it is:

- indented (Java ``\\tat …``, Python ``  File …``, Go frames, wrapped dumps), or only closing
  brackets (``})``), or ``Caused by:`` / ``Suppressed:`` / ``... 12 more``;
- a Java exception line (``java.lang.IllegalStateException: …``) followed by an ``at`` frame;
- ``Traceback (most recent call last):`` and, inside a Python traceback, the final exception line,
  the chaining sentences and the blank lines before them;
- ``goroutine N [running]:`` (and the blank line before it) and, inside a Go dump, the frames
  (``main.main()``, ``created by …``) and blank lines between goroutines.

Joined lines are kept with ``"\\n"`` in one message. An entry stops growing at the byte limit:
the next continuation line then starts a new entry, so nothing is lost.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import polars as pl

from workbench.schema import conform
from workbench.sources.logs._parse import parse_line
from workbench.sources.logs._text import clip

__all__ = ["JOIN_WINDOW", "Raw", "build_frame"]

#: Continuation lines more than this after the entry's first line start a new entry.
JOIN_WINDOW = timedelta(seconds=1)

_INDENTED = re.compile(r"[ \t]+\S")
_CONTINUES = re.compile(
    r"(?:Caused by: |Suppressed: |\.\.\. \d+ (?:more|common frames omitted)|[\]\)\}]+[,;]?\s*$)"
)
_JAVA_EXC = re.compile(r"(?:[a-zA-Z_$][\w$]*\.)+[A-Za-z_$][\w$]*(?:Exception|Error|Throwable)\b")
_JAVA_FRAME = re.compile(r"\s+at ")
_PY_HEAD = "Traceback (most recent call last):"
_PY_CHAIN = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)
_PY_EXC = re.compile(r"[A-Za-z_][\w.]*(?::.*)?")
_GO_HEAD = re.compile(r"goroutine \d+ \[")
_GO_PANIC = ("panic: ", "fatal error: ")
_GO_FRAME = re.compile(
    r"(?:created by )?[\w./*()\[\]{}-]+\.[\w.*()\[\]{}-]*\(.*\)(?: in goroutine \d+)?|\[signal "
)


@dataclass(slots=True)
class Raw:
    """One physical line as a reader found it. ``lost`` counts bytes the reader already cut."""

    ts: datetime | None
    text: str
    stream: str | None = None
    lost: int = 0


@dataclass(slots=True)
class _Entry:
    first: Raw
    lines: list[str] = field(default_factory=list)
    size: int = 0
    mode: str | None = None  # "py" or "go" inside a traceback / goroutine dump
    last_indented: bool = False


def _continues(entry: _Entry, raw: Raw, nxt: str | None) -> bool:
    text = raw.text
    if not text.strip():  # blank: only inside a dump, before more of it
        if nxt is None:
            return False
        if _GO_HEAD.match(nxt):
            return True
        return entry.mode == "py" and (nxt.startswith(_PY_CHAIN) or nxt.startswith(_PY_HEAD))
    if _INDENTED.match(text) or _CONTINUES.match(text):
        return True
    if text.startswith(_PY_HEAD) or text.startswith(_PY_CHAIN) or _GO_HEAD.match(text):
        return True
    if entry.mode == "py" and entry.last_indented and _PY_EXC.fullmatch(text):
        return True
    if entry.mode == "go" and _GO_FRAME.match(text):
        return True
    return bool(nxt is not None and _JAVA_EXC.match(text) and _JAVA_FRAME.match(nxt))


def _joinable(entry: _Entry, raw: Raw, limit: int) -> bool:
    if raw.stream != entry.first.stream or raw.lost or entry.first.lost:
        return False
    if raw.ts is not None and entry.first.ts is not None and abs(raw.ts - entry.first.ts) > JOIN_WINDOW:
        return False
    return entry.size + len(raw.text.encode("utf-8", "replace")) + 1 <= limit


def _entries(raws: Sequence[Raw], limit: int) -> Iterable[_Entry]:
    entry: _Entry | None = None
    for i, raw in enumerate(raws):
        nxt = raws[i + 1].text if i + 1 < len(raws) else None
        if entry is not None and _joinable(entry, raw, limit) and _continues(entry, raw, nxt):
            entry.lines.append(raw.text)
            entry.size += len(raw.text.encode("utf-8", "replace")) + 1
            if raw.text.startswith(_PY_HEAD):
                entry.mode = "py"
            elif _GO_HEAD.match(raw.text):
                entry.mode = "go"
            entry.last_indented = bool(_INDENTED.match(raw.text))
            continue
        if entry is not None:
            yield entry
        entry = _Entry(raw, [raw.text], len(raw.text.encode("utf-8", "replace")))
        if raw.text.startswith(_PY_HEAD):
            entry.mode = "py"
        elif raw.text.startswith(_GO_PANIC):
            entry.mode = "go"
    if entry is not None:
        yield entry


def build_frame(
    raws: Sequence[Raw],
    *,
    cluster: str,
    namespace: str | None,
    pod: str | None,
    container: str | None,
    max_line_bytes: int,
    year: int | None,
) -> tuple[pl.DataFrame, int]:
    """The conformed ``logs`` rows for ``raws``, and how many lines were joined as continuations.

    ``year`` completes year-less timestamps; when ``None``, the year of the last full timestamp
    seen before the line is used.
    """
    cols: dict[str, list] = {
        k: [] for k in ("ts", "stream", "level", "message", "fields", "trace_id", "span_id", "truncated")
    }
    joined = 0
    last_year = year
    marker = "…[truncated {} bytes]"
    for entry in _entries(raws, max_line_bytes):
        first = entry.first
        head, lost = first.text, first.lost
        data = head.encode("utf-8", "replace")
        if len(data) > max_line_bytes:
            cut, extra = clip(data, max_line_bytes)
            head, lost = cut.decode("utf-8", "replace"), lost + extra
        parsed = parse_line(head, year=year or last_year)
        ts = first.ts or parsed.ts
        if ts is not None and year is None:
            last_year = ts.year
        message = "\n".join([parsed.message, *entry.lines[1:]])
        joined += len(entry.lines) - 1
        if lost:
            message += marker.format(lost)
        cols["ts"].append(ts)
        cols["stream"].append(first.stream)
        cols["level"].append(parsed.level)
        cols["message"].append(message)
        cols["fields"].append(parsed.fields)
        cols["trace_id"].append(parsed.trace_id)
        cols["span_id"].append(parsed.span_id)
        cols["truncated"].append(bool(lost))
    n = len(cols["message"])
    frame = pl.DataFrame(
        {
            "cluster": pl.Series([cluster] * n, dtype=pl.String),
            "ts": pl.Series(cols["ts"], dtype=pl.Datetime("us", "UTC")),
            "namespace": pl.Series([namespace] * n, dtype=pl.String),
            "pod": pl.Series([pod] * n, dtype=pl.String),
            "container": pl.Series([container] * n, dtype=pl.String),
            **{
                k: pl.Series(cols[k], dtype=pl.String)
                for k in ("stream", "level", "message", "fields", "trace_id", "span_id")
            },
            "truncated": pl.Series(cols["truncated"], dtype=pl.Boolean),
        }
    )
    return conform("logs", frame), joined
