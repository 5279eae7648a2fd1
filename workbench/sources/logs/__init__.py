"""Log lines and container log files → the ``logs`` table.

- :func:`parse_line` reads one line: JSON, logfmt, klog, etcd's capnslog, syslog, or plain text
  (level, message, timestamp, fields, trace/span id, W3C ``traceparent`` too).
- :func:`parse_lines` turns ``(timestamp, text, stream)`` lines (e.g. from the pod-log API) into
  conformed ``logs`` rows, joining multi-line stack traces into one message.
- :func:`read_log_file` does the same for a CRI, docker json-file, ``--timestamps`` or plain file.

>>> imp = read_log_file("current.log", cluster="c", namespace="ns", pod="p", container="c")  # doctest: +SKIP
>>> imp.format, imp.logs.height, imp.lines, imp.joined  # doctest: +SKIP
('timestamped', 88, 92, 4)

Lines longer than ``max_line_bytes`` are cut there (``truncated=True``, message ending in
``…[truncated N bytes]``); nothing is dropped without a :class:`Problem` saying so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path

import polars as pl

from workbench.errors import ParameterError, SourceError
from workbench.sources.logs._files import LOG_FORMATS, Issues, detect, physical_lines, read_raw
from workbench.sources.logs._join import JOIN_WINDOW, Raw, build_frame
from workbench.sources.logs._parse import LineFormat, ParsedLine, parse_line
from workbench.sources.traces import Problem

__all__ = [
    "JOIN_WINDOW",
    "LOG_FORMATS",
    "LineFormat",
    "LogImport",
    "ParsedLine",
    "Problem",
    "parse_line",
    "parse_lines",
    "read_log_file",
]

log = logging.getLogger(__name__)

_SAMPLE_LINES = 50


@dataclass(slots=True)
class LogImport:
    """What :func:`read_log_file` got out of one file."""

    file: Path
    #: The conformed ``logs`` table (empty, never ``None``, for an empty file).
    logs: pl.DataFrame
    #: One of :data:`LOG_FORMATS`.
    format: str
    problems: list[Problem] = field(default_factory=list)
    #: Physical lines in the file.
    lines: int = 0
    #: Lines joined into the entry before them (stack traces, CRI/docker partial lines not counted).
    joined: int = 0


def _check(max_line_bytes: int) -> None:
    if max_line_bytes < 64:
        msg = f"max_line_bytes={max_line_bytes} is too small; use at least 64 (the default is 16384)"
        raise ParameterError(msg)


def parse_lines(
    lines: Iterable[tuple[datetime | None, str, str | None]],
    *,
    cluster: str,
    namespace: str | None,
    pod: str | None,
    container: str | None,
    max_line_bytes: int = 16384,
    year: int | None = None,
) -> pl.DataFrame:
    """``(ts, text, stream)`` lines of one container → conformed ``logs`` rows.

    ``ts`` is the time the runtime recorded (``None`` to use the time written in the line);
    ``stream`` is ``"stdout"``, ``"stderr"`` or ``None``. Continuation lines (stack traces) are
    joined into the entry before them; ``year`` completes year-less timestamps (klog, syslog).
    """
    _check(max_line_bytes)
    raws = []
    for i, (ts, text, stream) in enumerate(lines, start=1):
        if stream not in ("stdout", "stderr", None):
            msg = f"line {i}: stream {stream!r} is not 'stdout', 'stderr' or None"
            raise ParameterError(msg)
        raws.append(Raw(ts, text.rstrip("\r\n"), stream))
    frame, _ = build_frame(
        raws,
        cluster=cluster,
        namespace=namespace,
        pod=pod,
        container=container,
        max_line_bytes=max_line_bytes,
        year=year,
    )
    return frame


def read_log_file(
    path: Path | str,
    *,
    cluster: str,
    namespace: str | None,
    pod: str | None,
    container: str | None,
    format: str | None = None,  # noqa: A002 - the name users know from the CLI
    max_line_bytes: int = 16384,
    year: int | None = None,
) -> LogImport:
    """Read one container log file into the ``logs`` table.

    ``format`` forces one of :data:`LOG_FORMATS`; by default the format most of the first lines
    have is used. Raises :class:`~workbench.errors.SourceError` only when the file cannot be
    opened; damaged lines become problems (file and line numbers) and the good lines are kept.
    """
    path = Path(path)
    _check(max_line_bytes)
    if format is not None and format not in LOG_FORMATS:
        msg = f"unknown log file format {format!r}; use one of {', '.join(LOG_FORMATS)} or leave it out"
        raise ParameterError(msg)
    issues = Issues(str(path))
    cap = 2 * max_line_bytes + 4096  # room for the CRI/docker wrapper and JSON escapes
    try:
        with path.open("rb") as fh:
            if format is None:
                sample = [
                    d.decode("utf-8", "replace") for _, d, _ in islice(physical_lines(fh, cap), _SAMPLE_LINES)
                ]
                format = detect([s for s in sample if s.strip()])
                fh.seek(0)
            raws, count = read_raw(fh, format, cap=cap, issues=issues)
    except OSError as err:
        msg = f"cannot read log file {path}: {err.strerror or err}; check the path and permissions"
        raise SourceError(msg) from err
    frame, joined = build_frame(
        raws,
        cluster=cluster,
        namespace=namespace,
        pod=pod,
        container=container,
        max_line_bytes=max_line_bytes,
        year=year,
    )
    problems = issues.problems()
    for p in problems:
        log.warning("%s", p)
    log.info("read %d log entries (%s, %d lines) from %s", frame.height, format, count, path)
    return LogImport(path, frame, format, problems, count, joined)
