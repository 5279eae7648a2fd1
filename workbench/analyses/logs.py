"""Log explorer: search and filter log lines, facet counts ("tags"), chosen fields, error bursts.

>>> from workbench.analyses import logs
>>> logs.search(ds, text="timeout", levels=["ERROR"], namespace="shop", limit=100)      # doctest: +SKIP
>>> logs.facets(ds, namespace="shop")                                                   # doctest: +SKIP
>>> logs.search(ds, regex=r"status=5\\d\\d", columns=["http.status", "user"])            # doctest: +SKIP
>>> logs.error_bursts(ds, namespace="shop")                                             # doctest: +SKIP

Every function takes a Dataset or a logs frame (DataFrame or LazyFrame with the ``logs``
table's columns) and either a :class:`SearchParams` object or the same options as keywords.
Filters push down into the snapshot scan (cluster, namespace, pod, time window); the rest are
polars expressions, so a search over 10 M lines takes seconds.

**Result columns.**

- :func:`search`: ``SEARCH_COLUMNS`` (ts, level, cluster, namespace, pod, container, stream,
  preview — the first line, cut at ``preview_chars`` —, message — the full text for an
  expanded row —, fields, trace_id, span_id), then one column per requested field
  (``columns=["http.status"]``: the value as text, null when absent), then ``pattern_id`` and
  ``template`` when ``with_patterns=True``. Newest first, at most ``limit`` rows.
- :func:`facets`: ``FACET_COLUMNS`` — facet (``level``, ``cluster``, ``namespace``, ``pod``,
  ``container``, ``category`` (the log pattern), ``field`` (a key of the parsed fields) or
  ``field:<key>`` (the values of a key)), value, count, label (the template of a category),
  distinct (for ``field``: how many values the key has), tag (for ``field``: at most
  ``tag_max_distinct`` values, so its values are listed as tags). Most frequent first.
- :func:`volume`: ``VOLUME_COLUMNS`` — ts (bucket start), level, count.
- :func:`error_bursts`: see :mod:`workbench.analyses._bursts` (re-exported here).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from typing import Any

import polars as pl

from workbench.analyses import patterns as pat
from workbench.analyses._bursts import BURST_COLUMNS, BurstParams, error_bursts
from workbench.analyses.params import Params, closest, field
from workbench.errors import ParameterError
from workbench.sources.traces import norm_id

__all__ = [
    "BURST_COLUMNS",
    "FACET_COLUMNS",
    "SEARCH_COLUMNS",
    "VOLUME_COLUMNS",
    "BurstParams",
    "SearchParams",
    "error_bursts",
    "facets",
    "field_expr",
    "matches",
    "search",
    "volume",
]

log = logging.getLogger(__name__)

TS = pl.Datetime("us", "UTC")
SEARCH_COLUMNS: dict[str, pl.DataType] = {
    "ts": TS,
    "level": pl.String(),
    "cluster": pl.String(),
    "namespace": pl.String(),
    "pod": pl.String(),
    "container": pl.String(),
    "stream": pl.String(),
    "preview": pl.String(),
    "message": pl.String(),
    "fields": pl.String(),
    "trace_id": pl.String(),
    "span_id": pl.String(),
}
FACET_COLUMNS: dict[str, pl.DataType] = {
    "facet": pl.String(),
    "value": pl.String(),
    "count": pl.Int64(),
    "label": pl.String(),
    "distinct": pl.Int64(),
    "tag": pl.Boolean(),
}
VOLUME_COLUMNS: dict[str, pl.DataType] = {"ts": TS, "level": pl.String(), "count": pl.Int64()}

Names = str | list[str] | tuple[str, ...] | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class SearchParams(Params):
    """What to look for in the logs. Every filter is optional; all given filters must hold."""

    text: str | None = field(None, "text the message must contain (literal)")
    regex: str | None = field(None, "regular expression the message must match (Rust regex syntax)")
    case_sensitive: bool = field(False, "match text and regex with case")  # noqa: FBT003
    levels: list[str] | None = field(None, "levels to keep, e.g. ['ERROR', 'FATAL']")
    min_level: str | None = field(None, "keep this level and worse", choices=("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"))
    cluster: Names = field(None, "cluster(s)")
    namespace: Names = field(None, "namespace(s)")
    pod: Names = field(None, "pod(s)")
    container: Names = field(None, "container(s)")
    start: Any = field(None, "window start (inclusive; datetime or ISO text)")
    end: Any = field(None, "window end (exclusive)")
    trace_id: str | None = field(None, "trace id (hex, any case)")
    category: str | None = field(None, "log pattern id (from the 'category' facet or patterns.patterns)")
    where: dict[str, str] = field({}, "parsed fields that must have these values, e.g. {'http.status': '500'}")
    columns: list[str] = field([], "parsed fields to show as columns, e.g. ['http.status', 'user']")
    limit: int = field(500, "most rows returned (newest first)", ge=1, le=1_000_000)
    preview_chars: int = field(200, "characters of the first line shown as the preview", ge=10, le=10_000)
    with_patterns: bool = field(False, "add pattern_id and template columns to the results")  # noqa: FBT003


_SEVERITY_ORDER = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")


def _params(params: SearchParams | None, kwargs: dict[str, Any]) -> SearchParams:
    if params is not None and kwargs:
        return dataclasses.replace(params, **_checked(kwargs))
    return params if params is not None else SearchParams(**_checked(kwargs))


def _checked(kwargs: dict[str, Any]) -> dict[str, Any]:
    known = [f.name for f in dataclasses.fields(SearchParams)]
    for k in kwargs:
        if k not in known:
            near = closest(k, known)
            msg = f"unknown log search option {k!r}" + (f"; did you mean {', '.join(near)}?" if near else "")
            raise ParameterError(msg)
    return kwargs


def _regex_ok(pattern: str, what: str) -> None:
    try:
        pl.select(pl.lit("").str.contains(pattern))
    except pl.exceptions.PolarsError as err:
        first = str(err).strip().splitlines()
        detail = " ".join(line.strip() for line in first[:4])
        msg = f"{what} {pattern!r} is not a valid regular expression ({detail}); polars uses Rust regex syntax"
        raise ParameterError(msg) from err


def field_expr(name: str) -> pl.Expr:
    """The value of parsed field ``name`` as text: a top-level key of that exact name (e.g.
    ``"http.status"``), else the nested path (``{"http": {"status": …}}``)."""
    if "'" in name:
        msg = f"field name {name!r} cannot contain a single quote"
        raise ParameterError(msg)
    literal = pl.col("fields").str.json_path_match(f"$['{name}']")
    if "." not in name:
        return literal
    nested = "$" + "".join(f"['{part}']" for part in name.split("."))
    return pl.coalesce(literal, pl.col("fields").str.json_path_match(nested))


def _levels(p: SearchParams) -> list[str] | None:
    keep: set[str] | None = None
    if p.levels:
        wanted = [str(x).upper() for x in ([p.levels] if isinstance(p.levels, str) else p.levels)]
        bad = [x for x in wanted if x not in pat.LEVELS]
        if bad:
            msg = f"unknown level(s) {', '.join(bad)}; use {', '.join(pat.LEVELS)}"
            raise ParameterError(msg)
        keep = set(wanted)
    if p.min_level:
        worse = set(_SEVERITY_ORDER[_SEVERITY_ORDER.index(p.min_level):])
        keep = worse if keep is None else keep & worse
    return None if keep is None else sorted(keep)


def matches(source: pat.Source, params: SearchParams | None = None, **options: Any) -> pl.LazyFrame:
    """All lines matching the search (no limit, no sort), as a LazyFrame with the logs columns."""
    p = _params(params, options)
    lf = pat.scan_logs(source, cluster=p.cluster, namespace=p.namespace, pod=p.pod, container=p.container,
                       start=p.start, end=p.end)
    preds: list[pl.Expr] = []
    if (lv := _levels(p)) is not None:
        preds.append(pl.col("level").cast(pl.String).is_in(lv))
    if p.trace_id:
        preds.append(pl.col("trace_id") == (norm_id(p.trace_id) or p.trace_id))
    for key, value in p.where.items():
        preds.append(field_expr(key) == str(value))
    if p.text:
        if p.case_sensitive:
            preds.append(pl.col("message").str.contains(p.text, literal=True))
        else:
            preds.append(pl.col("message").str.contains("(?i)" + re.escape(p.text)))
    if p.regex:
        _regex_ok(p.regex, "regex")
        preds.append(pl.col("message").str.contains(p.regex if p.case_sensitive else "(?i)" + p.regex))
    if preds:
        lf = lf.filter(*preds)
    if p.category:
        mined = pat.mine(lf)
        keys = mined.keys.filter(pl.col("pattern_id") == p.category)["_k"]
        if keys.is_empty():
            log.info("no lines of pattern %s match the other filters", p.category)
        lf = lf.filter(pat.key_expr().is_in(keys.implode()))
    return lf


def _preview(chars: int) -> pl.Expr:
    msg = pl.col("message")
    nl = msg.str.find("\n", literal=True)
    cut = pl.min_horizontal(nl.fill_null(chars), pl.lit(chars)).cast(pl.UInt32)
    longer = nl.is_not_null() | (msg.str.len_chars() > chars)
    return pl.when(longer).then(msg.str.slice(0, cut).str.strip_chars_end() + "…").otherwise(msg).alias("preview")


def search(source: pat.Source, params: SearchParams | None = None, **options: Any) -> pl.DataFrame:
    """Matching lines, newest first, at most ``limit`` (see the module docstring for columns)."""
    p = _params(params, options)
    lf = matches(source, p).sort("ts", descending=True, nulls_last=True).head(p.limit)
    extra = [field_expr(c).alias(c) for c in p.columns]
    clash = [c for c in p.columns if c in SEARCH_COLUMNS]
    if clash:
        msg = f"field column(s) {', '.join(clash)} would replace a log column; pick other names"
        raise ParameterError(msg)
    out = lf.select(
        "ts", pl.col("level").cast(pl.String), "cluster", "namespace", "pod", "container",
        pl.col("stream").cast(pl.String), _preview(p.preview_chars), "message", "fields", "trace_id", "span_id",
        *extra,
    ).collect()
    out = out.cast({k: v for k, v in SEARCH_COLUMNS.items()})  # type: ignore[arg-type]
    if p.with_patterns:
        mined = pat.mine(matches(source, p))
        out = mined.label(out).collect()
    return out


def volume(source: pat.Source, params: SearchParams | None = None, *, step: str = "1m", **options: Any) -> pl.DataFrame:
    """Matching lines per time bucket and level (``VOLUME_COLUMNS``), for the volume chart."""
    every = f"{int(pat.step_duration(step).total_seconds())}s"
    lf = matches(source, params, **options)
    out = (
        lf.group_by(pl.col("ts").dt.truncate(every), pl.col("level").cast(pl.String))
        .agg(pl.len().cast(pl.Int64).alias("count"))
        .sort("ts", "level")
        .collect()
    )
    return out.select(list(VOLUME_COLUMNS)).cast(VOLUME_COLUMNS)  # type: ignore[arg-type]


def _counts(lf: pl.LazyFrame, col: str, top: int) -> pl.LazyFrame:
    return (
        lf.group_by(pl.col(col).cast(pl.String).fill_null("").alias("value"))
        .agg(pl.len().cast(pl.Int64).alias("count"))
        .sort(["count", "value"], descending=[True, False])
        .head(top)
        .select(pl.lit(col).alias("facet"), "value", "count")
    )


def _flatten(obj: Any, prefix: tuple[str, ...], out: set[tuple[str, ...]], depth: int) -> None:
    for k, v in obj.items():
        path = (*prefix, str(k))
        if isinstance(v, dict) and v and depth > 1:
            _flatten(v, path, out, depth - 1)
        else:
            out.add(path)


def _field_facets(lf: pl.LazyFrame, *, top: int, top_keys: int, tag_max_distinct: int, key_sample: int) -> pl.DataFrame:
    """Keys of the parsed fields (discovered from a sample of distinct field texts), how many
    lines have each, how many values, and the top values of each key. A dotted key and the
    same nested path (``{"http.status": …}``, ``{"http": {"status": …}}``) are one name, read
    as :func:`field_expr` reads it."""
    with_fields = lf.filter(pl.col("fields").is_not_null() & (pl.col("fields") != ""))
    sample = with_fields.select(pl.col("fields").unique()).head(key_sample).collect()["fields"].sort()
    paths: set[tuple[str, ...]] = set()
    for text in sample.to_list():
        try:
            obj = json.loads(text)
        except ValueError:
            continue
        if isinstance(obj, dict):
            _flatten(obj, (), paths, depth=3)
    paths = {p for p in paths if not any("'" in part for part in p)}
    if not paths:
        return pl.DataFrame(schema=FACET_COLUMNS)
    names = sorted({".".join(p) for p in paths})
    values = with_fields.select(**{n: field_expr(n) for n in names})
    stats = values.select(
        *[pl.col(n).count().alias(f"c|{n}") for n in names], *[pl.col(n).drop_nulls().n_unique().alias(f"d|{n}") for n in names]
    ).collect(engine="streaming")
    rows = [
        {"name": n, "count": int(stats[f"c|{n}"][0]), "distinct": int(stats[f"d|{n}"][0])}
        for n in names
    ]
    keys = pl.DataFrame(rows, schema={"name": pl.String, "count": pl.Int64, "distinct": pl.Int64})
    keys = keys.filter(pl.col("count") > 0).sort(["count", "name"], descending=[True, False]).head(top_keys)
    frames = [
        keys.select(
            pl.lit("field").alias("facet"), pl.col("name").alias("value"), "count", pl.lit(None, pl.String).alias("label"),
            "distinct", (pl.col("distinct") <= tag_max_distinct).alias("tag"),
        )
    ]
    queries = [
        values.select(pl.col(n).alias("value")).drop_nulls().group_by("value").agg(pl.len().cast(pl.Int64).alias("count"))
        .sort(["count", "value"], descending=[True, False]).head(top)
        .select(pl.lit(f"field:{n}").alias("facet"), "value", "count")
        for n in keys["name"].to_list()
    ]
    for got in pl.collect_all(queries) if queries else []:
        frames.append(got.with_columns(pl.lit(None, pl.String).alias("label"), pl.lit(None, pl.Int64).alias("distinct"),
                                       pl.lit(None, pl.Boolean).alias("tag")))
    return pl.concat([f.select(list(FACET_COLUMNS)).cast(FACET_COLUMNS) for f in frames])  # type: ignore[arg-type]


def facets(
    source: pat.Source,
    params: SearchParams | None = None,
    *,
    top: int = 20,
    categories: bool = True,
    fields: bool = True,
    top_keys: int = 20,
    tag_max_distinct: int = 20,
    key_sample: int = 5000,
    **options: Any,
) -> pl.DataFrame:
    """Counts of the matching lines per level, cluster, namespace, pod, container, log pattern
    (``category``) and parsed field (``FACET_COLUMNS``); at most ``top`` values per facet.

    Field keys are discovered from up to ``key_sample`` distinct ``fields`` texts (nested
    objects become dotted names, 3 levels deep); their counts cover every matching line.
    """
    if top < 1 or top_keys < 1 or tag_max_distinct < 1:
        msg = f"top, top_keys and tag_max_distinct must be at least 1 (got {top}, {top_keys}, {tag_max_distinct})"
        raise ParameterError(msg)
    lf = matches(source, params, **options)
    plain = pl.collect_all([_counts(lf, c, top) for c in ("level", "cluster", "namespace", "pod", "container")])
    frames = [f.with_columns(pl.lit(None, pl.String).alias("label"), pl.lit(None, pl.Int64).alias("distinct"),
                             pl.lit(None, pl.Boolean).alias("tag")) for f in plain]
    if categories:
        mined = pat.mine(lf)
        summary = mined.summary().head(top)
        frames.append(summary.select(
            pl.lit("category").alias("facet"), pl.col("pattern_id").alias("value"), "count",
            pl.col("template").alias("label"), pl.lit(None, pl.Int64).alias("distinct"), pl.lit(None, pl.Boolean).alias("tag"),
        ))
    if fields:
        frames.append(_field_facets(lf, top=top, top_keys=top_keys, tag_max_distinct=tag_max_distinct, key_sample=key_sample))
    out = pl.concat([f.select(list(FACET_COLUMNS)).cast(FACET_COLUMNS) for f in frames])  # type: ignore[arg-type]
    return out.filter(pl.col("count") > 0)
