"""Prometheus text format and OpenMetrics exposition files (a scrape saved to disk, a
``/federate`` dump) as a wide metric frame.

Every sample is kept under the name it is exposed as (``x_total``, ``x_bucket``, ``x_sum``…):
the same names the catalogue stores, so analyses treat an imported scrape like a collection.
Label values with escapes (backslash, double quote, newline), UTF-8 quoted names (``{"my.metric", a="b"}``),
``NaN``/``±Inf``, exemplars (``… # {trace_id="…"} 1``) and optional timestamps are understood.
Timestamps are milliseconds in the Prometheus text format and seconds in OpenMetrics (the file
ends with ``# EOF``). Bad lines are reported with ``file:line`` and a reason; good lines are kept.

>>> frame, problems = parse_exposition('up{job="x"} 1 1700000000000\\nbad line\\n', cluster="c1")
>>> frame.select("metric", "value").row(0), [str(p) for p in problems]
(('up', 1.0), ["<text>:2: value 'line' is not a number in 'bad line'"])
"""

from __future__ import annotations

import datetime as dt
import gzip
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from workbench.errors import InputError
from workbench.sources.prometheus._frame import SeriesRow, build_wide, series_row

if TYPE_CHECKING:
    from workbench.store import SnapshotWriter

__all__ = [
    "ExpositionProblem",
    "ParsedExposition",
    "import_exposition",
    "parse_exposition",
    "parse_text",
    "read_exposition",
]

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INT = re.compile(r"[+-]?\d+")
_SPECIAL = {"nan": math.nan, "+inf": math.inf, "inf": math.inf, "-inf": -math.inf}
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}
TYPES = frozenset(
    {"counter", "gauge", "histogram", "summary", "untyped", "unknown", "gaugehistogram", "stateset", "info"}
)
#: Problems listed per file; the rest are counted in one last problem.
MAX_PROBLEMS = 1000


@dataclass(frozen=True, slots=True)
class ExpositionProblem:
    """A line that could not be read (``line`` is 1-based), or a file-level warning (``line`` None)."""

    source: str
    line: int | None
    reason: str
    text: str = ""

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        shown = f" in {self.text[:120]!r}" if self.text else ""
        return f"{where}: {self.reason}{shown}"


@dataclass
class ParsedExposition:
    """The samples of one exposition text, its declared families and what went wrong."""

    frame: pl.DataFrame
    types: dict[str, str] = field(default_factory=dict)
    help: dict[str, str] = field(default_factory=dict)
    problems: list[ExpositionProblem] = field(default_factory=list)
    openmetrics: bool = False
    untimed: int = 0


class _LineError(Exception):
    pass


def read_exposition(
    path: str | os.PathLike[str],
    *,
    cluster: str,
    at: dt.datetime | None = None,
    openmetrics: bool | None = None,
) -> tuple[pl.DataFrame, list[ExpositionProblem]]:
    """Read an exposition file (gzip too) as ``(wide metric frame, problems)``.

    Samples keep their own timestamps; the others are stored at ``at``, or at the file's
    modification time with a warning in ``problems``. ``openmetrics`` forces the format
    (default: OpenMetrics when the text has a ``# EOF`` line).
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as err:
        msg = f"{p}: cannot be read ({err.strerror or err}); check the path"
        raise InputError(msg) from err
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as err:
            msg = f"{p}: gzip data is broken ({err}); the file is truncated or not a gzip file"
            raise InputError(msg) from err
    when = at
    if when is None:
        when = dt.datetime.fromtimestamp(p.stat().st_mtime, tz=dt.UTC)
    parsed = parse_text(data, cluster=cluster, at=when, source=str(p), openmetrics=openmetrics)
    if parsed.untimed and at is None:
        parsed.problems.append(
            ExpositionProblem(
                str(p),
                None,
                f"{parsed.untimed} sample(s) have no timestamp: stored at the file's modification time "
                f"{when.isoformat()}; pass at= (--at) to give the scrape time",
            )
        )
    return parsed.frame, parsed.problems


def parse_exposition(
    text: str | bytes,
    *,
    cluster: str,
    at: dt.datetime | None = None,
    source: str = "<text>",
    openmetrics: bool | None = None,
) -> tuple[pl.DataFrame, list[ExpositionProblem]]:
    """Parse exposition text as ``(wide metric frame, problems)``; samples without a
    timestamp are stored at ``at`` (default: now, with a warning)."""
    now = at or dt.datetime.now(dt.UTC)
    parsed = parse_text(text, cluster=cluster, at=now, source=source, openmetrics=openmetrics)
    if parsed.untimed and at is None:
        parsed.problems.append(
            ExpositionProblem(
                source, None, f"{parsed.untimed} sample(s) have no timestamp: stored at {now.isoformat()}"
            )
        )
    return parsed.frame, parsed.problems


def parse_text(
    text: str | bytes,
    *,
    cluster: str,
    at: dt.datetime,
    source: str = "<text>",
    openmetrics: bool | None = None,
) -> ParsedExposition:
    """Parse exposition text into a :class:`ParsedExposition` (families, samples, problems)."""
    raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")
    lines = raw.split(b"\n")
    om = openmetrics if openmetrics is not None else any(line.rstrip(b"\r") == b"# EOF" for line in lines)
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    default_us = round(at.timestamp() * 1_000_000)
    out = ParsedExposition(frame=build_wide([], [], [], []), openmetrics=om)
    skipped = 0

    def problem(n: int, reason: str, line: str) -> None:
        nonlocal skipped
        if len(out.problems) < MAX_PROBLEMS:
            out.problems.append(ExpositionProblem(source, n, reason, line))
        else:
            skipped += 1

    keys: dict[tuple, int] = {}
    rows: list[SeriesRow] = []
    index: list[int] = []
    ts_us: list[int] = []
    values: list[float] = []
    seen: dict[tuple[int, int | None], int] = {}
    eof = False
    for n, chunk in enumerate(lines, start=1):
        chunk = chunk.rstrip(b"\r")
        if not chunk.strip():
            continue
        try:
            line = chunk.decode("utf-8")
        except UnicodeDecodeError:
            problem(n, "not UTF-8 text (binary data?)", chunk[:60].decode("utf-8", "replace"))
            continue
        if eof:
            problem(n, "text after '# EOF'", line)
            continue
        if line.startswith("#"):
            if line.rstrip() == "# EOF":
                eof = True
                continue
            reason = _comment(line, out)
            if reason:
                problem(n, reason, line)
            continue
        try:
            name, labels, value, ts = _sample(line, om=om)
        except _LineError as err:
            problem(n, str(err), line)
            continue
        key = (name, tuple(sorted(labels.items())))
        sid = keys.get(key)
        if sid is None:
            sid = keys[key] = len(rows)
            rows.append(series_row(cluster, name, labels))
        first = seen.setdefault((sid, ts), n)
        if first != n:
            problem(n, f"duplicate sample: the same series and time as line {first}", line)
            continue
        if ts is None:
            out.untimed += 1
        index.append(sid)
        ts_us.append(default_us if ts is None else ts)
        values.append(value)
    if skipped:
        out.problems.append(ExpositionProblem(source, None, f"{skipped} more bad line(s) not listed"))
    out.frame = build_wide(rows, index, ts_us, values)
    return out


def _comment(line: str, out: ParsedExposition) -> str | None:
    """Record a HELP/TYPE line; return a reason when it is malformed. Other comments pass."""
    parts = line[1:].lstrip().split(None, 2)
    if not parts or parts[0] not in ("HELP", "TYPE", "UNIT"):
        return None
    if len(parts) < 2 or not (_NAME.fullmatch(parts[1]) or parts[1].startswith('"')):
        return f"# {parts[0]} line without a valid metric name"
    name = parts[1].strip('"')
    if parts[0] == "HELP":
        out.help[name] = _unescape_help(parts[2]) if len(parts) > 2 else ""
    elif parts[0] == "TYPE":
        kind = parts[2].strip() if len(parts) > 2 else ""
        if kind not in TYPES:
            return f"unknown metric type {kind!r} (expected one of {', '.join(sorted(TYPES))})"
        if name in out.types:
            return f"second TYPE line for {name!r}"
        out.types[name] = kind
    return None


def _unescape_help(text: str) -> str:
    return re.sub(r"\\(\\|n)", lambda m: "\n" if m.group(1) == "n" else "\\", text)


def _sample(line: str, *, om: bool) -> tuple[str, dict[str, str], float, int | None]:
    """``name{labels} value [timestamp] [# exemplar]`` → name, labels, value, time in µs."""
    labels: dict[str, str] = {}
    if line.startswith("{"):
        name, labels, pos = _labels(line, 0)
        if name is None:
            raise _LineError('expected a metric name (or a quoted name first inside "{…}")')
    else:
        m = _NAME.match(line)
        if not m:
            raise _LineError("expected a metric name")
        name, pos = m.group(), m.end()
        if pos < len(line) and line[pos] == "{":
            quoted, labels, pos = _labels(line, pos)
            if quoted is not None:
                raise _LineError("the metric name is given twice")
    rest = line[pos:]
    if not rest or rest[0] not in " \t":
        raise _LineError(f"expected a space before the value at column {pos + 1}")
    body = rest.partition(" # ")[0]
    tokens = body.split()
    if not tokens:
        raise _LineError("the value is missing")
    if len(tokens) > 2:
        raise _LineError(f"unexpected text {tokens[2]!r} after the timestamp")
    value = _float(tokens[0])
    ts = _timestamp(tokens[1], om=om) if len(tokens) == 2 else None
    return name, labels, value, ts


def _float(token: str) -> float:
    special = _SPECIAL.get(token.lower())
    if special is not None:
        return special
    if not _FLOAT.fullmatch(token):
        raise _LineError(f"value {token!r} is not a number")
    return float(token)


def _timestamp(token: str, *, om: bool) -> int:
    if om:
        if not _FLOAT.fullmatch(token):
            raise _LineError(f"timestamp {token!r} is not a number of seconds")
        return round(float(token) * 1_000_000)
    if not _INT.fullmatch(token):
        raise _LineError(f"timestamp {token!r} is not an integer number of milliseconds")
    return int(token) * 1000


def _labels(line: str, pos: int) -> tuple[str | None, dict[str, str], int]:
    """Parse ``{…}`` starting at ``line[pos] == "{"``: (quoted metric name, labels, end)."""
    labels: dict[str, str] = {}
    name: str | None = None
    n = len(line)
    pos += 1
    while True:
        pos = _skip(line, pos)
        if pos >= n:
            raise _LineError("labels not closed: '}' is missing")
        if line[pos] == "}":
            return name, labels, pos + 1
        if line[pos] == '"':
            key, pos = _string(line, pos)
            pos = _skip(line, pos)
            if pos < n and line[pos] in ",}":
                if name is not None or labels:
                    raise _LineError(f"quoted metric name {key!r} must come first inside the braces")
                name = key
                pos += line[pos] == ","
                continue
        else:
            m = _LABEL.match(line, pos)
            if not m:
                raise _LineError(f"bad label name at column {pos + 1}")
            key, pos = m.group(), m.end()
        pos = _skip(line, pos)
        if pos >= n or line[pos] != "=":
            raise _LineError(f"expected '=' after label {key!r} at column {pos + 1}")
        pos = _skip(line, pos + 1)
        if pos >= n or line[pos] != '"':
            raise _LineError(f"the value of label {key!r} must be in double quotes (column {pos + 1})")
        value, pos = _string(line, pos)
        if key in labels:
            raise _LineError(f"label {key!r} appears twice")
        labels[key] = value
        pos = _skip(line, pos)
        if pos >= n:
            raise _LineError("labels not closed: '}' is missing")
        if line[pos] == ",":
            pos += 1
        elif line[pos] != "}":
            raise _LineError(f"expected ',' or '}}' after label {key!r} at column {pos + 1}")


def _skip(line: str, pos: int) -> int:
    while pos < len(line) and line[pos] in " \t":
        pos += 1
    return pos


def _string(line: str, pos: int) -> tuple[str, int]:
    """A double-quoted string at ``line[pos]``: its unescaped text and the position after it."""
    out: list[str] = []
    start = pos + 1
    while True:
        quote = line.find('"', start)
        slash = line.find("\\", start, quote if quote >= 0 else len(line))
        if quote < 0:
            raise _LineError("a quoted label value is not closed: '\"' is missing")
        if slash < 0:
            out.append(line[start:quote])
            return "".join(out), quote + 1
        out.append(line[start:slash])
        if slash + 1 >= len(line):
            raise _LineError("a quoted label value ends with a lone backslash")
        escaped = line[slash + 1]
        out.append(_ESCAPES.get(escaped, "\\" + escaped))
        start = slash + 2


#: Problems per file recorded one by one in a snapshot's warnings; the rest are counted.
WARN_PER_FILE = 20


def import_exposition(
    writer: SnapshotWriter,
    paths: Sequence[str | os.PathLike[str]],
    *,
    cluster: str,
    at: dt.datetime | None = None,
) -> tuple[int, list[ExpositionProblem]]:
    """Read exposition files into a snapshot: their samples go to the metric tables, their
    problems to the snapshot's warnings (the first :data:`WARN_PER_FILE` per file one by one,
    then a count). Returns the number of samples written and every problem."""
    total, problems = 0, []
    for path in paths:
        frame, found = read_exposition(path, cluster=cluster, at=at)
        writer.write_metrics(frame)
        total += frame.height
        problems.extend(found)
        for p in found[:WARN_PER_FILE]:
            writer.warn("exposition", str(p), what=str(path))
        if len(found) > WARN_PER_FILE:
            writer.warn("exposition", f"{path}: {len(found) - WARN_PER_FILE} more problem(s)", what=str(path))
    writer.add_source("exposition", files=[str(p) for p in paths], cluster=cluster, samples=total)
    return total, problems
