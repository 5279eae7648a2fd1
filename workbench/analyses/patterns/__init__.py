"""Log patterns: the templates behind log lines ("categories"), mined with Drain.

>>> from workbench.analyses import patterns
>>> patterns.patterns(ds, namespace="shop")                                # doctest: +SKIP
>>> patterns.pattern_counts(ds, step="5m")                                 # doctest: +SKIP
>>> patterns.new_patterns(ds, baseline=(t0, t1), current=(t1, t2))         # doctest: +SKIP

**Method.** Drain (He et al., ICWS 2017; the ``drain3`` tree) groups log lines whose words
mostly agree into one template, replacing the words that vary with ``<*>``. Drain works one
message at a time, so it never sees every line:

1. Per line, one pass: a hash of the exact text. Lines with the same text are counted together
   (lines, first and last time, per level), so a repeated line costs a hash, not a regex.
2. Per distinct message: digit runs that start a word are replaced by ``0`` and the result is
   hashed (the message's *key*). Messages that differ only in such numbers share a key.
   Everything the masks below produce is a function of this key.
3. Per key (usually a few hundred to a few hundred thousand): the first line of the message
   (at most ``max_chars`` characters) is masked, in this order: timestamps ``<TS>``, URLs
   ``<URL>``, IPv4 addresses with an optional port ``<IP>``, paths ``<PATH>``, UUIDs, ``0x…``
   and long hexadecimal ids ``<ID>``, durations ``<DUR>`` (``250ms``, ``2m0s``), and every
   other word that starts with a digit ``<NUM>`` (``42``, ``3.5``, ``512Mi``).
4. The distinct masked texts go to Drain, most frequent first (ties by text), so the result is
   deterministic. One change to Drain: similarity is the share of agreeing tokens among the
   *word* tokens (those with a letter outside the masks) and the template's wildcards, so
   punctuation and masked values neither help nor hurt, and a line joins a pattern only when
   *more than* ``similarity`` (default one half) of them agree. So ``Writing config file
   "<PATH>" ...`` and ``Writing secret manifest "<PATH>" ...`` stay two patterns, as do
   ``request completed`` and ``request failed``, while ``Got configMap ns/a-<NUM>`` and
   ``Got configMap ns/b-<NUM>`` become ``Got configMap <*>``. A message is compared with all
   templates of its tree leaf in one numpy step (:mod:`~workbench.analyses.patterns._drain`);
   the templates are those of drain3 with this similarity.
5. A pattern's id is a stable hash of its template text (16 hex digits), so the same template
   gets the same id in every run and every snapshot.

Multi-line messages (stack traces) are keyed by their whole text but templated by their first
line. Templates depend on the lines mined together: mine over the window you compare.

**Result columns.**

- :func:`patterns`: ``PATTERN_COLUMNS`` — pattern_id, template, count, share (of the lines),
  first_seen, last_seen, example (the first line of the earliest line of the pattern's most
  frequent key), errors (ERROR+FATAL lines), warnings, level_mix (``"ERROR 12, INFO 3"``),
  top_level, most frequent first.
- :func:`pattern_counts`: ``COUNT_COLUMNS`` — ts (bucket start), pattern_id, count.
- :func:`new_patterns`: ``NEW_COLUMNS`` — pattern_id, template, status (``new``: not seen in
  the baseline; ``increased``: its rate rose by at least ``factor``), baseline_count,
  current_count, baseline_per_min, current_per_min, ratio (current/baseline rate; null when
  new), first_seen (in the current window), top_level (the most severe level seen in the
  current window), example. Ranked: new before increased, then most severe, then most lines.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

import polars as pl

from workbench.analyses._templates import MASKS, key_expr, mask_text, pattern_id
from workbench.analyses.params import split_options as params_split
from workbench.analyses.patterns._mining import (
    COUNT_COLUMNS,
    LEVELS,
    PATTERN_COLUMNS,
    SEVERITY,
    TS,
    MaskMemo,
    Mining,
    PatternParams,
    _first_line,
    _summary,
    kept_masks,
    message_hash,
    mine,
    step_duration,
)
from workbench.errors import ParameterError
from workbench.store import Dataset, to_utc

__all__ = [
    "COUNT_COLUMNS",
    "LEVELS",
    "MASKS",
    "NEW_COLUMNS",
    "PATTERN_COLUMNS",
    "SEVERITY",
    "MaskMemo",
    "Mining",
    "PatternParams",
    "Source",
    "kept_masks",
    "key_expr",
    "mask_text",
    "message_hash",
    "mine",
    "new_patterns",
    "pattern_counts",
    "pattern_id",
    "patterns",
    "scan_logs",
    "split_options",
    "step_duration",
]

log = logging.getLogger(__name__)

NEW_COLUMNS: dict[str, pl.DataType] = {
    "pattern_id": pl.String(),
    "template": pl.String(),
    "status": pl.String(),
    "baseline_count": pl.Int64(),
    "current_count": pl.Int64(),
    "baseline_per_min": pl.Float64(),
    "current_per_min": pl.Float64(),
    "ratio": pl.Float64(),
    "first_seen": TS,
    "top_level": pl.String(),
    "example": pl.String(),
}


# --- sources ----------------------------------------------------------------------------------
Source = Dataset | pl.DataFrame | pl.LazyFrame
Names = str | Sequence[str] | None


def _names(value: Names) -> list[str] | None:
    return None if value is None else ([value] if isinstance(value, str) else list(value))


def scan_logs(
    source: Source,
    *,
    cluster: Names = None,
    namespace: Names = None,
    pod: Names = None,
    container: Names = None,
    start: Any = None,
    end: Any = None,
) -> pl.LazyFrame:
    """The ``logs`` table of a Dataset, or a logs frame, as a LazyFrame with these filters
    (``start`` inclusive, ``end`` exclusive). A frame must have at least ts, level, message."""
    lo, hi = to_utc(start), to_utc(end)
    if isinstance(source, Dataset):
        lf = source.scan("logs", cluster=cluster, namespace=namespace, pod=pod, start=lo, end=hi)
    elif isinstance(source, pl.DataFrame | pl.LazyFrame):
        lf = source.lazy()
        have = lf.collect_schema()
        missing = [c for c in ("ts", "level", "message") if c not in have]
        if missing:
            msg = f"a logs frame needs the columns ts, level and message; missing: {', '.join(missing)}"
            raise ParameterError(msg)
        for col, want in (("cluster", cluster), ("namespace", namespace), ("pod", pod)):
            if (names := _names(want)) is not None:
                lf = lf.filter(pl.col(col).is_in(names))
        if lo is not None:
            lf = lf.filter(pl.col("ts") >= lo)
    else:
        msg = f"expected a workbench Dataset or a polars logs frame, got {type(source).__name__}"
        raise ParameterError(msg)
    if (names := _names(container)) is not None:
        lf = lf.filter(pl.col("container").is_in(names))
    if hi is not None:
        lf = lf.filter(pl.col("ts") < hi)
    return lf


def split_options(
    params: PatternParams | None, options: dict[str, Any]
) -> tuple[PatternParams, dict[str, Any]]:
    """Keyword options → (PatternParams, scan filters); an unknown name lists the closest ones."""
    return params_split(PatternParams, params, options, what="pattern")


def patterns(source: Source, params: PatternParams | None = None, **filters: Any) -> pl.DataFrame:
    """The log patterns of ``source`` (a Dataset or logs frame), most frequent first.

    ``filters``: cluster, namespace, pod, container, start, end (see :func:`scan_logs`) and any
    :class:`PatternParams` option (``similarity=0.5``).
    """
    p, where = split_options(params, filters)
    mined = mine(scan_logs(source, **where), p)
    return _summary(mined.stats, mined.keys)


def pattern_counts(
    source: Source,
    params: PatternParams | None = None,
    *,
    step: str | dt.timedelta = "1m",
    top: int | None = None,
    **filters: Any,
) -> pl.DataFrame:
    """Lines per pattern and time bucket (``COUNT_COLUMNS``; buckets without lines are left out).
    ``top`` keeps the most frequent patterns only."""
    p, where = split_options(params, filters)
    return mine(scan_logs(source, **where), p, step=step).counts(top=top)


def new_patterns(
    source: Source,
    params: PatternParams | None = None,
    *,
    baseline: tuple[Any, Any],
    current: tuple[Any, Any],
    factor: float = 3.0,
    min_count: int = 1,
    **filters: Any,
) -> pl.DataFrame:
    """Patterns that are new in ``current`` (a ``(start, end)`` window) compared with
    ``baseline``, or whose rate per minute rose at least ``factor`` times; ranked (``NEW_COLUMNS``).

    Both windows are mined together so that a pattern has one id in both. Windows are
    ``[start, end)``; ``min_count`` is the fewest current lines a pattern needs to be listed.
    """
    (b0, b1), (c0, c1) = ([to_utc(t) for t in w] for w in (baseline, current))
    for name, (lo, hi) in (("baseline", (b0, b1)), ("current", (c0, c1))):
        if lo is None or hi is None or hi <= lo:
            msg = f"{name} must be a (start, end) window with start before end (got {lo} → {hi})"
            raise ParameterError(msg)
    if factor <= 1:
        msg = f"factor must be above 1 (got {factor}): how many times a rate must rise to count"
        raise ParameterError(msg)
    p, where = split_options(params, filters)
    lf = scan_logs(source, **where)
    in_b = (pl.col("ts") >= b0) & (pl.col("ts") < b1)
    in_c = (pl.col("ts") >= c0) & (pl.col("ts") < c1)
    lf = lf.filter(in_b | in_c)
    mined = mine(lf, p, group=in_c)
    if mined.stats.is_empty():
        return pl.DataFrame(schema=NEW_COLUMNS)
    s = mined.stats.join(mined.keys, on="_k", how="left")
    cur = s.filter(pl.col("_g"))
    sev = pl.col("level").replace_strict(SEVERITY, default=2, return_dtype=pl.Int8)
    b_counts = s.filter(~pl.col("_g")).group_by("pattern_id").agg(pl.col("n").sum().alias("baseline_count"))
    c_stats = (
        cur.sort(["n", "_k"], descending=[True, False])
        .group_by("pattern_id", maintain_order=True)
        .agg(
            pl.col("template").first(),
            pl.col("n").sum().alias("current_count"),
            pl.col("first_seen").min(),
            pl.col("level").sort_by(sev, descending=True).first().alias("top_level"),
            sev.max().alias("_sev"),
            _first_line(pl.col("example")).first().alias("example"),
        )
    )
    b_min = (b1 - b0).total_seconds() / 60  # type: ignore[operator]
    c_min = (c1 - c0).total_seconds() / 60  # type: ignore[operator]
    out = (
        c_stats.join(b_counts, on="pattern_id", how="left")
        .with_columns(
            pl.col("baseline_count").fill_null(0),
            (pl.col("current_count") / c_min).alias("current_per_min"),
        )
        .with_columns((pl.col("baseline_count") / b_min).alias("baseline_per_min"))
    )
    out = (
        out.with_columns(
            pl.when(pl.col("baseline_count") > 0)
            .then(pl.col("current_per_min") / pl.col("baseline_per_min"))
            .alias("ratio")
        )
        .with_columns(
            pl.when(pl.col("baseline_count") == 0)
            .then(pl.lit("new"))
            .when(pl.col("ratio") >= factor)
            .then(pl.lit("increased"))
            .alias("status")
        )
        .filter(pl.col("status").is_not_null() & (pl.col("current_count") >= min_count))
    )
    out = out.sort(
        [pl.col("status") == "new", "_sev", "current_count", "ratio", "pattern_id"],
        descending=[True, True, True, True, False],
        nulls_last=True,
    )
    return out.select(list(NEW_COLUMNS)).cast(NEW_COLUMNS)  # type: ignore[arg-type]
