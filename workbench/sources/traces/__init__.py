"""Trace files → the ``spans`` table.

Three formats, told apart by their content (never by the file name):

``otlp``
    OTLP JSON as the OpenTelemetry Collector's file exporter writes it (one
    ``ExportTraceServiceRequest`` per line), or one such request document.
``zipkin``
    Zipkin v2 JSON: a list of spans.
``jaeger``
    Jaeger JSON: the query API's ``{"data": [...]}`` or a bare trace object.

>>> from pathlib import Path
>>> imp = read_traces(Path("trace.json"), cluster="prod")      # doctest: +SKIP
>>> imp.format, imp.spans.height, [str(p) for p in imp.problems]  # doctest: +SKIP
('zipkin', 1041, [])

Bad input never raises (except a file that cannot be opened): what could not be read becomes a
:class:`Problem` naming the file and the line or span, and every good span is kept.
"""

from __future__ import annotations

import gzip
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from workbench.errors import ParameterError, SourceError
from workbench.schema import empty
from workbench.sources.traces._common import PodIps, Problem, SpanColumns, line_of, norm_id, otlp_id
from workbench.sources.traces._jaeger import looks_like_jaeger, read_jaeger
from workbench.sources.traces._otlp import looks_like_otlp, read_otlp
from workbench.sources.traces._zipkin import iter_array, looks_like_zipkin, read_zipkin

__all__ = [
    "TRACE_FORMATS",
    "PodIps",
    "Problem",
    "TraceImport",
    "detect_format",
    "norm_id",
    "otlp_id",
    "read_traces",
]

log = logging.getLogger(__name__)

#: The formats :func:`read_traces` understands.
TRACE_FORMATS: tuple[str, ...] = ("otlp", "zipkin", "jaeger")


@dataclass(slots=True)
class TraceImport:
    """What :func:`read_traces` got out of one file."""

    file: Path
    #: The conformed ``spans`` table (empty, never ``None``, when nothing could be read).
    spans: pl.DataFrame
    #: ``"otlp"``, ``"zipkin"``, ``"jaeger"``, or ``None`` when the content is none of them.
    format: str | None
    problems: list[Problem] = field(default_factory=list)


def _text(path: Path, problems: list[Problem]) -> str:
    try:
        raw = path.read_bytes()
    except OSError as err:
        msg = f"cannot read trace file {path}: {err.strerror or err}; check the path and permissions"
        raise SourceError(msg) from err
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            problems.append(Problem(str(path), "byte 0", f"damaged gzip data ({err}); file skipped"))
            return ""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        text = raw.decode("utf-8", errors="replace")
        line = raw.count(b"\n", 0, err.start) + 1
        problems.append(
            Problem(str(path), f"line {line}", "invalid UTF-8 (binary data?); bytes replaced by U+FFFD")
        )
    return text.removeprefix("\ufeff")


def detect_format(text: str) -> str | None:
    """The trace format of ``text`` (``"otlp"``, ``"zipkin"``, ``"jaeger"``) or ``None``.

    Looks at the first JSON value: a whole document when the text parses, else its first line
    (OTLP JSON lines) or the start of a damaged array or object.
    """
    head = text.lstrip()
    if not head or head[0] not in "[{":
        return None
    try:
        doc = json.loads(head)
    except json.JSONDecodeError:
        first = head.split("\n", 1)[0]
        try:
            doc = json.loads(first)
        except json.JSONDecodeError:
            doc = None
    if doc is not None:
        for name, test in (
            ("otlp", looks_like_otlp),
            ("jaeger", looks_like_jaeger),
            ("zipkin", looks_like_zipkin),
        ):
            if test(doc):
                return name
        return None
    # A damaged document: guess from the keys it starts with.
    start = head[:4096]
    if '"resourceSpans"' in start or '"resource_spans"' in start:
        return "otlp"
    if '"traceID"' in start or '"data"' in start:
        return "jaeger"
    if head[0] == "[" and '"traceId"' in start:
        return "zipkin"
    return None


def read_traces(
    path: Path | str,
    *,
    cluster: str,
    format: str | None = None,  # noqa: A002 - the name users know from the CLI
    pod_ips: PodIps | None = None,
) -> TraceImport:
    """Read one trace file into the ``spans`` table.

    ``format`` forces a format (one of :data:`TRACE_FORMATS`); by default it is detected from
    the content. ``pod_ips`` maps an IP to ``(namespace, pod, node)``; it fills those columns for
    spans whose resource has no ``k8s.*`` attributes, from the span's local endpoint IP (Zipkin),
    ``k8s.pod.ip``/``host.ip`` (OTLP resource) or the ``ip`` process tag (Jaeger).

    Raises :class:`~workbench.errors.SourceError` only when the file cannot be opened, and
    :class:`~workbench.errors.ParameterError` for an unknown ``format``.
    """
    path = Path(path)
    if format is not None and format not in TRACE_FORMATS:
        msg = f"unknown trace format {format!r}; use one of {', '.join(TRACE_FORMATS)} or leave it out"
        raise ParameterError(msg)
    problems: list[Problem] = []
    text = _text(path, problems)
    name = str(path)
    if not text.strip():
        if not problems:
            problems.append(Problem(name, "line 1", "empty file: no spans"))
        return TraceImport(path, empty("spans"), format, problems)
    fmt = format or detect_format(text)
    cols = SpanColumns(cluster=cluster, pod_ips=pod_ips)
    if fmt == "otlp":
        read_otlp(text, cols, problems, file=name)
    elif fmt == "zipkin":
        if text.lstrip().startswith("["):
            read_zipkin(iter_array(text, name, problems), cols, problems, file=name)
        else:
            problems.append(Problem(name, "line 1", "Zipkin v2 JSON must be a list of spans ('[...]')"))
    elif fmt == "jaeger":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as err:
            problems.append(
                Problem(
                    name,
                    f"line {err.lineno} column {err.colno}",
                    f"not valid JSON ({err.msg}; truncated file?); no spans read",
                )
            )
        else:
            read_jaeger(doc, cols, problems, file=name)
    else:
        start = text.lstrip()[:40]
        pos = len(text) - len(text.lstrip())
        problems.append(
            Problem(
                name,
                f"line {line_of(text, pos)}",
                f"not a trace file: expected OTLP JSON, Zipkin v2 JSON or Jaeger JSON, found {start!r}",
            )
        )
    if not len(cols) and not problems:
        problems.append(Problem(name, "line 1", f"no spans found (read as {fmt}; is that the right format?)"))
    for p in problems:
        log.warning("%s", p)
    spans = _complete_starts(cols.frame(), name, problems) if len(cols) else empty("spans")
    log.info("read %d spans (%s) from %s", spans.height, fmt, path)
    return TraceImport(path, spans, fmt, problems)


def _complete_starts(spans: pl.DataFrame, file: str, problems: list[Problem]) -> pl.DataFrame:
    """Every stored span needs a start. Zipkin's shared spans often record the timestamp only on
    the client half: the server half takes the start of the other half of the same span (and
    its end follows from its duration). Spans still without a start are left out, reported."""
    if not spans.get_column("start").null_count():
        return spans
    keys = ["trace_id", "span_id"]
    known = (
        spans.filter(pl.col("start").is_not_null()).group_by(keys).agg(pl.col("start").min().alias("_start"))
    )
    spans = (
        spans.join(known, on=keys, how="left", maintain_order="left")
        .with_columns(pl.col("start").fill_null(pl.col("_start")))
        .with_columns(
            pl.col("end").fill_null(
                pl.col("start") + pl.duration(microseconds=pl.col("duration_us").fill_null(0))
            )
        )
        .drop("_start")
    )
    missing = spans.get_column("start").null_count()
    if missing:
        problems.append(Problem(file, None, f"{missing} span(s) have no start time, nor another half of the "
                                "same span with one: left out"))  # fmt: skip
        spans = spans.filter(pl.col("start").is_not_null())
    return spans
