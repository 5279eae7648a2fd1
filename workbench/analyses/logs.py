"""Log explorer: search and filter log lines, facet counts ("tags"), chosen fields, error bursts.

>>> from workbench.analyses import logs
>>> logs.search(ds, text="timeout", levels=["ERROR"], namespace="shop", limit=100)      # doctest: +SKIP
>>> logs.facets(ds, namespace="shop")                                                   # doctest: +SKIP
>>> logs.search(ds, regex=r"status=5\\d\\d", columns=["http.status", "user"])            # doctest: +SKIP
>>> logs.error_bursts(ds, namespace="shop")                                             # doctest: +SKIP

Every function takes a Dataset or a logs frame (DataFrame or LazyFrame with the ``logs``
table's columns) and either a :class:`SearchParams` object or the same options as keywords.
Filters push down into the snapshot scan (cluster, namespace, pod, time window; the text and
regex conditions too, which the Parquet reader applies as it reads), so a search over 10 M
lines costs little more than reading their messages.

**Result columns.**

- :func:`search`: ``SEARCH_COLUMNS`` (ts, level, cluster, namespace, pod, container, stream,
  preview — the first line, cut at ``preview_chars`` —, message — the full text for an
  expanded row —, fields, trace_id, span_id), then one column per requested field
  (``columns=["http.status"]``: the value as text, null when absent), then ``pattern_id`` and
  ``template`` when ``with_patterns=True``. Newest first, at most ``limit`` rows.
  :func:`search_with_total` also says how many lines match in all.
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
from workbench.schema import LOG_LEVELS
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
    "search_with_total",
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
    min_level: str | None = field(
        None, "keep this level and worse", choices=("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
    )
    cluster: Names = field(None, "cluster(s)")
    namespace: Names = field(None, "namespace(s)")
    pod: Names = field(None, "pod(s)")
    container: Names = field(None, "container(s)")
    start: Any = field(None, "window start (inclusive; datetime or ISO text)")
    end: Any = field(None, "window end (exclusive)")
    trace_id: str | None = field(None, "trace id (hex, any case)")
    category: str | None = field(None, "log pattern id (from the 'category' facet or patterns.patterns)")
    where: dict[str, str] = field(
        {}, "parsed fields that must have these values, e.g. {'http.status': '500'}"
    )
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
        msg = (
            f"{what} {pattern!r} is not a valid regular expression ({detail}); polars uses Rust regex syntax"
        )
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
        worse = set(_SEVERITY_ORDER[_SEVERITY_ORDER.index(p.min_level) :])
        keep = worse if keep is None else keep & worse
    return None if keep is None else sorted(keep)


def _level_in(lf: pl.LazyFrame, levels: list[str]) -> pl.Expr:
    """``level`` is one of ``levels``. On the store's level type the test goes to the Parquet
    reader with the other filters (a cast to text, which could fail on other types, keeps
    polars from pushing it down, so the regex would see every line's message)."""
    if lf.collect_schema().get("level") == LOG_LEVELS:
        return pl.col("level").is_in(levels)
    return pl.col("level").cast(pl.String).is_in(levels)


def matches(source: pat.Source, params: SearchParams | None = None, **options: Any) -> pl.LazyFrame:
    """All lines matching the search (no limit, no sort), as a LazyFrame with the logs columns."""
    p = _params(params, options)
    lf = pat.scan_logs(
        source,
        cluster=p.cluster,
        namespace=p.namespace,
        pod=p.pod,
        container=p.container,
        start=p.start,
        end=p.end,
    )
    preds: list[pl.Expr] = []
    if (lv := _levels(p)) is not None:
        preds.append(_level_in(lf, lv))
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
        if mined.keys.filter(pl.col("pattern_id") == p.category).is_empty():
            log.info("no lines of pattern %s match the other filters", p.category)
        lf = lf.filter(mined.lines_of([p.category]))
    return lf


def _preview(chars: int) -> pl.Expr:
    msg = pl.col("message")
    nl = msg.str.find("\n", literal=True)
    cut = pl.min_horizontal(nl.fill_null(chars), pl.lit(chars)).cast(pl.UInt32)
    longer = nl.is_not_null() | (msg.str.len_chars() > chars)
    return (
        pl.when(longer)
        .then(msg.str.slice(0, cut).str.strip_chars_end() + "…")
        .otherwise(msg)
        .alias("preview")
    )


def _newest(lf: pl.LazyFrame, limit: int) -> tuple[pl.LazyFrame, int]:
    """The newest ``limit`` lines of ``lf`` (a query) and how many lines it has in all.

    A first pass reads only what the filters need plus ``ts``: the count and the time of the
    ``limit``-th newest line; the rows themselves are then read from the lines at or after that
    time only, which row-group statistics narrow to the newest files (logs are written in time
    order). Lines without a time come last, as in a sort.
    """
    n, with_ts, cut = (
        lf.select(
            pl.len().alias("n"),
            pl.col("ts").count().alias("with_ts"),
            pl.col("ts").drop_nulls().top_k(limit).min(),
        )
        .collect()
        .row(0)
    )
    rows = lf.filter(pl.col("ts") >= cut) if cut is not None and with_ts >= limit else lf
    return rows.sort("ts", descending=True, nulls_last=True).head(limit), int(n)


def search_with_total(
    source: pat.Source, params: SearchParams | None = None, **options: Any
) -> tuple[pl.DataFrame, int]:
    """:func:`search`'s rows and how many lines match in all (``limit`` aside), in one call."""
    p = _params(params, options)
    clash = [c for c in p.columns if c in SEARCH_COLUMNS]
    if clash:
        msg = f"field column(s) {', '.join(clash)} would replace a log column; pick other names"
        raise ParameterError(msg)
    lf, total = _newest(matches(source, p), p.limit)
    out = lf.select(
        "ts",
        pl.col("level").cast(pl.String),
        "cluster",
        "namespace",
        "pod",
        "container",
        pl.col("stream").cast(pl.String),
        _preview(p.preview_chars),
        "message",
        "fields",
        "trace_id",
        "span_id",
        *[field_expr(c).alias(c) for c in p.columns],
    ).collect()
    out = out.cast({k: v for k, v in SEARCH_COLUMNS.items()})  # type: ignore[arg-type]
    if p.with_patterns:
        mined = pat.mine(matches(source, p))
        out = mined.label(out).collect()
    return out, total


def search(source: pat.Source, params: SearchParams | None = None, **options: Any) -> pl.DataFrame:
    """Matching lines, newest first, at most ``limit`` (see the module docstring for columns)."""
    return search_with_total(source, params, **options)[0]


def volume(
    source: pat.Source, params: SearchParams | None = None, *, step: str = "1m", **options: Any
) -> pl.DataFrame:
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


_PLAIN = ("level", "cluster", "namespace", "pod", "container")
#: Field names whose last segment holds only these characters are looked for as text first: a
#: JSON writer spells them as they are (it escapes quotes, backslashes, controls, maybe ``/``
#: and non-ASCII), so a ``fields`` text without ``<segment>"`` cannot hold the key.
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.:@$ -]+")
#: One token of a JSON text: a string (a key when a colon follows) or a bracket.
_JSON_TOKEN = r'"(?:[^"\\]|\\.)*"\s*:?|[{}\[\]]'


def _plain_counts(combos: pl.DataFrame, top: int) -> list[pl.DataFrame]:
    """Lines per value of each plain facet, from the line counts per combination of them."""
    return [
        combos.group_by(pl.col(col).cast(pl.String).fill_null("").alias("value"))
        .agg(pl.col("_n").sum().cast(pl.Int64).alias("count"))
        .sort(["count", "value"], descending=[True, False])
        .head(top)
        .select(pl.lit(col).alias("facet"), "value", "count")
        for col in _PLAIN
    ]


def _flatten(obj: Any, prefix: tuple[str, ...], out: set[tuple[str, ...]], depth: int) -> None:
    for k, v in obj.items():
        path = (*prefix, str(k))
        if isinstance(v, dict) and v and depth > 1:
            _flatten(v, path, out, depth - 1)
        else:
            out.add(path)


def _field_names(texts: pl.DataFrame, key_sample: int) -> list[str]:
    """Dotted names of the keys in ``texts`` (distinct fields texts ``fields``, with ``_n`` lines
    each): one text of each shape (its keys and brackets), most lines first, up to ``key_sample``."""
    shape = (
        pl.col("fields")
        .str.extract_all(_JSON_TOKEN)
        .list.eval(pl.element().filter(~pl.element().str.starts_with('"') | pl.element().str.ends_with(":")))
        .list.join("")
    )
    sample = (
        texts.sort(["_n", "fields"], descending=[True, False])
        .group_by(shape.alias("_s"), maintain_order=True)
        .agg(pl.col("fields").first())
        .head(key_sample)["fields"]
    )
    paths: set[tuple[str, ...]] = set()
    for text in sample.to_list():
        try:
            obj = json.loads(text)
        except ValueError:
            continue
        if isinstance(obj, dict):
            _flatten(obj, (), paths, depth=3)
    return sorted({".".join(p) for p in paths if not any("'" in part for part in p)})


def _field_facets(
    texts: pl.DataFrame, *, top: int, top_keys: int, tag_max_distinct: int, key_sample: int
) -> pl.DataFrame:
    """Keys of the parsed fields, how many lines have each, how many values, and the top values
    of each key. ``texts``: the distinct ``fields`` texts of the lines with ``_n``, their lines;
    each is parsed for a key only when it contains the key's name. A dotted key and the same
    nested path (``{"http.status": …}``, ``{"http": {"status": …}}``) are one name, read as
    :func:`field_expr` reads it."""
    names = _field_names(texts, key_sample)
    if not names:
        return pl.DataFrame(schema=FACET_COLUMNS)
    lf = texts.lazy()
    queries = []
    for n in names:
        last = n.rsplit(".", 1)[-1]
        rows = (
            lf.filter(pl.col("fields").str.contains(last + '"', literal=True))
            if _PLAIN_KEY.fullmatch(last)
            else lf
        )
        queries.append(
            rows.select(field_expr(n).alias("value"), "_n")
            .drop_nulls("value")
            .group_by("value")
            .agg(pl.col("_n").sum().cast(pl.Int64).alias("count"))
        )
    per_name = dict(zip(names, pl.collect_all(queries), strict=True))
    keys = pl.DataFrame(
        [{"name": n, "count": int(v["count"].sum()), "distinct": v.height} for n, v in per_name.items()],
        schema={"name": pl.String, "count": pl.Int64, "distinct": pl.Int64},
    )
    keys = keys.filter(pl.col("count") > 0).sort(["count", "name"], descending=[True, False]).head(top_keys)
    frames = [
        keys.select(
            pl.lit("field").alias("facet"),
            pl.col("name").alias("value"),
            "count",
            pl.lit(None, pl.String).alias("label"),
            "distinct",
            (pl.col("distinct") <= tag_max_distinct).alias("tag"),
        )
    ]
    for n in keys["name"].to_list():
        frames.append(
            per_name[n]
            .sort(["count", "value"], descending=[True, False])
            .head(top)
            .select(
                pl.lit(f"field:{n}").alias("facet"),
                "value",
                "count",
                pl.lit(None, pl.String).alias("label"),
                pl.lit(None, pl.Int64).alias("distinct"),
                pl.lit(None, pl.Boolean).alias("tag"),
            )
        )
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
    field_sample: int | None = None,
    **options: Any,
) -> pl.DataFrame:
    """Counts of the matching lines per level, cluster, namespace, pod, container, log pattern
    (``category``) and parsed field (``FACET_COLUMNS``); at most ``top`` values per facet.

    One pass counts the lines per combination of level, cluster, namespace, pod and container
    and per distinct ``fields`` text; field keys are discovered from up to ``key_sample`` of
    those texts (one per shape; nested objects become dotted names, 3 levels deep) and their
    counts cover every matching line, or only the newest ``field_sample`` matching lines when
    given (parsing the fields of millions of lines takes seconds). Patterns (``categories``)
    are mined in a second pass.
    """
    if top < 1 or top_keys < 1 or tag_max_distinct < 1:
        msg = f"top, top_keys and tag_max_distinct must be at least 1 (got {top}, {top_keys}, {tag_max_distinct})"
        raise ParameterError(msg)
    if field_sample is not None and field_sample < 1:
        msg = f"field_sample must be at least 1 (got {field_sample})"
        raise ParameterError(msg)
    lf = matches(source, params, **options)
    queries = [lf.group_by(list(_PLAIN)).agg(pl.len().alias("_n"))]
    if fields:
        newest = lf
        if field_sample is not None:
            newest = (
                lf.select("ts", "fields").sort("ts", descending=True, maintain_order=True).head(field_sample)
            )
        with_fields = newest.filter(pl.col("fields").is_not_null() & (pl.col("fields") != ""))
        queries.append(with_fields.group_by("fields").agg(pl.len().alias("_n")))
    got = pl.collect_all(queries, engine="streaming")
    none = [pl.lit(None, pl.String).alias("label"), pl.lit(None, pl.Int64).alias("distinct"),
            pl.lit(None, pl.Boolean).alias("tag")]  # fmt: skip
    frames = [f.with_columns(*none) for f in _plain_counts(got[0], top)]
    if categories:
        summary = pat.mine(lf).summary().head(top)
        frames.append(
            summary.select(
                pl.lit("category").alias("facet"),
                pl.col("pattern_id").alias("value"),
                "count",
                pl.col("template").alias("label"),
                pl.lit(None, pl.Int64).alias("distinct"),
                pl.lit(None, pl.Boolean).alias("tag"),
            )
        )
    if fields:
        frames.append(
            _field_facets(
                got[1], top=top, top_keys=top_keys, tag_max_distinct=tag_max_distinct, key_sample=key_sample
            )
        )
    out = pl.concat([f.select(list(FACET_COLUMNS)).cast(FACET_COLUMNS) for f in frames])  # type: ignore[arg-type]
    return out.filter(pl.col("count") > 0)
