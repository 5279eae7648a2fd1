"""Mining log lines into patterns: the per-line pass, keys, masks and Drain (see
:mod:`workbench.analyses.patterns` for the method and the result columns)."""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Iterator, Sequence

import polars as pl

from workbench.analyses._templates import key_expr, mask_expr
from workbench.analyses.params import Params, field
from workbench.analyses.patterns._drain import drain_templates
from workbench.errors import ParameterError
from workbench.schema import LOG_LEVELS

__all__ = [
    "COUNT_COLUMNS",
    "LEVELS",
    "PATTERN_COLUMNS",
    "SEVERITY",
    "TS",
    "MaskMemo",
    "Mining",
    "PatternParams",
    "kept_masks",
    "message_hash",
    "mine",
    "step_duration",
]

log = logging.getLogger(__name__)

TS = pl.Datetime("us", "UTC")
LEVELS: tuple[str, ...] = tuple(LOG_LEVELS.categories.to_list())
#: Severity rank of each level (higher is worse); UNKNOWN ranks with INFO.
SEVERITY = {"TRACE": 0, "DEBUG": 1, "INFO": 2, "UNKNOWN": 2, "WARN": 3, "ERROR": 4, "FATAL": 5}

PATTERN_COLUMNS: dict[str, pl.DataType] = {
    "pattern_id": pl.String(),
    "template": pl.String(),
    "count": pl.Int64(),
    "share": pl.Float64(),
    "first_seen": TS,
    "last_seen": TS,
    "example": pl.String(),
    "errors": pl.Int64(),
    "warnings": pl.Int64(),
    "level_mix": pl.String(),
    "top_level": pl.String(),
}
COUNT_COLUMNS: dict[str, pl.DataType] = {"ts": TS, "pattern_id": pl.String(), "count": pl.Int64()}


@dataclasses.dataclass(frozen=True, kw_only=True)
class PatternParams(Params):
    """How lines are grouped into patterns (Drain's knobs)."""

    similarity: float = field(
        0.5, "a line joins a pattern when more than this share of its words agree", ge=0.05, le=1.0
    )
    depth: int = field(
        4, "Drain tree depth (4: lines are grouped by token count and first token)", ge=3, le=10
    )
    max_children: int = field(100, "most children of a Drain tree node", ge=2, le=10_000)
    max_chars: int = field(400, "characters of a message's first line that are mined", ge=20, le=10_000)


def step_duration(step: str | dt.timedelta) -> dt.timedelta:
    """A bucket size given as ``"30s"``, ``"1m"``, ``"5m"``, ``"1h"``, ``"1d"`` or a timedelta."""
    if isinstance(step, dt.timedelta):
        out = step
    else:
        m = re.fullmatch(r"\s*(\d+)\s*(s|m|h|d)\s*", str(step))
        if not m:
            msg = f"step {step!r} is not a duration; use e.g. '30s', '1m', '5m', '1h' or '1d'"
            raise ParameterError(msg)
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
        out = dt.timedelta(**{unit: int(m.group(1))})
    if out <= dt.timedelta(0):
        msg = f"step must be positive (got {step!r})"
        raise ParameterError(msg)
    return out


# --- mining ---------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Mining:
    """What :func:`mine` found: ``keys`` maps each line key (``_k``, see :func:`key_expr`) to a
    pattern; ``stats`` holds per key and level: n, first_seen, last_seen, example (the message
    of the key's earliest line at that level); ``buckets`` (when a step was given) the lines per
    key and time bucket; ``messages`` (when the lines were grouped by text) maps the hash of
    each distinct message mined (``_r``, see :func:`message_hash`) to its key."""

    keys: pl.DataFrame
    stats: pl.DataFrame
    buckets: pl.DataFrame | None = None
    messages: pl.DataFrame | None = None

    def summary(self) -> pl.DataFrame:
        """One row per pattern (``PATTERN_COLUMNS``), most frequent first."""
        return _summary(self.stats, self.keys)

    def counts(self, *, top: int | None = None) -> pl.DataFrame:
        """Lines per pattern and time bucket (``COUNT_COLUMNS``; needs ``mine(..., step=...)``)."""
        if self.buckets is None or self.buckets.is_empty():
            return pl.DataFrame(schema=COUNT_COLUMNS)
        out = (
            self.buckets.join(self.keys.select("_k", "pattern_id"), on="_k", how="left")
            .group_by("ts", "pattern_id")
            .agg(pl.col("count").sum())
        )
        if top is not None:
            totals = out.group_by("pattern_id").agg(pl.col("count").sum())
            keep = totals.sort(["count", "pattern_id"], descending=[True, False]).head(top)["pattern_id"]
            out = out.filter(pl.col("pattern_id").is_in(keep.implode()))
        return out.sort("ts", "pattern_id").select(list(COUNT_COLUMNS)).cast(COUNT_COLUMNS)  # type: ignore[arg-type]

    def label(self, lines: pl.LazyFrame | pl.DataFrame) -> pl.LazyFrame:
        """``lines`` with ``pattern_id`` and ``template`` columns (by the message's key)."""
        lf = lines.lazy().with_columns(key_expr().alias("_k"))
        return lf.join(self.keys.lazy(), on="_k", how="left", maintain_order="left").drop("_k")

    def lines_of(self, pattern_ids: Sequence[str]) -> pl.Expr:
        """An expression true for the lines (of the lines mined) of these patterns: by the
        hash of their text when the lines were grouped by text, else by their key."""
        keys = self.keys.filter(pl.col("pattern_id").is_in(list(pattern_ids)))["_k"]
        if self.messages is None:
            return key_expr().is_in(keys.implode())
        hashes = self.messages.filter(pl.col("_k").is_in(keys.implode()))["_r"]
        return message_hash().is_in(hashes.implode())


_KEY_SCHEMA = {"_k": pl.UInt64, "pattern_id": pl.String, "template": pl.String}
_RAW_SCHEMA = {"_r": pl.UInt64, "_k": pl.UInt64}


def message_hash(message: str | pl.Expr = "message") -> pl.Expr:
    """A 64-bit hash of the whole message: lines with the same text share it (``_r``)."""
    col = pl.col(message) if isinstance(message, str) else message
    return col.hash(seed=0)


#: Lines looked at first: when fewer match, they are all the lines and are mined in memory.
_SAMPLE = 100_000
#: When fewer than this share of the sampled lines have distinct texts, lines are grouped by text
#: before keys are computed (one hash per line instead of one regex per line).
_REPEATED = 0.5


class MaskMemo:
    """The masked text (``_m``) of each line key (``_k``) mined so far, for a caller that mines
    overlapping lines again and again (a served page: each refresh mines its scope's lines, the
    new patterns' windows and the error bursts). A key's masked text depends on the key's text
    only, so it is worked out once; the templates still come from the lines mined together. At
    most ``size`` keys are kept (then it starts again). Used by :func:`mine` inside
    :func:`kept_masks`."""

    def __init__(self, size: int = 500_000) -> None:
        self.size = size
        self._known: dict[int, pl.DataFrame] = {}

    def masked(self, per_key: pl.DataFrame, max_chars: int) -> pl.DataFrame:
        """``per_key`` (``_k``, ``example``, …) with ``_m``, the masked first line of ``example``."""
        known = self._known.get(max_chars)
        if known is None:
            out = per_key.with_columns(pl.lit(None, pl.String).alias("_m"))
        else:
            out = per_key.join(known, on="_k", how="left")
        todo = out.filter(pl.col("_m").is_null())
        if todo.is_empty():
            return out
        done = todo.with_columns(mask_expr(pl.col("example"), max_chars).alias("_m"))
        new = done.select("_k", "_m").filter(pl.col("_m").is_not_null())
        known = new if known is None or known.height + new.height > self.size else pl.concat([known, new])
        self._known[max_chars] = known
        return pl.concat([out.filter(pl.col("_m").is_not_null()), done])


_MEMO: contextvars.ContextVar[MaskMemo | None] = contextvars.ContextVar("workbench_mask_memo", default=None)


@contextlib.contextmanager
def kept_masks(memo: MaskMemo) -> Iterator[MaskMemo]:
    """Inside the block, :func:`mine` takes the masked texts of the keys ``memo`` has seen from
    it and adds the others (same results, less work when the lines overlap)::

        memo = MaskMemo()
        with kept_masks(memo):
            patterns.patterns(ds, namespace="shop")
    """
    token = _MEMO.set(memo)
    try:
        yield memo
    finally:
        _MEMO.reset(token)


def _earliest(text: str, ts: str) -> pl.Expr:
    """In a group: the text of the earliest line; at equal times (or with no time), the smallest."""
    return pl.coalesce(pl.col(text).filter(pl.col(ts) == pl.col(ts).min()).min(), pl.col(text).min())


def mine(
    lines: pl.LazyFrame | pl.DataFrame,
    params: PatternParams | None = None,
    *,
    step: str | dt.timedelta | None = None,
    group: pl.Expr | None = None,
) -> Mining:
    """Mine the patterns of ``lines`` (a logs LazyFrame, already filtered).

    ``step`` also counts lines per key and time bucket; ``group`` (a boolean or small-integer
    expression) splits the per-key statistics by an extra ``_g`` column (used to compare
    windows).

    One pass over the lines computes their statistics per key. When texts repeat (fewer than
    half of the first 100,000 lines are distinct) the pass groups lines by a hash of their text
    and keys are computed per distinct text; otherwise each line's key is computed in the pass.
    Both give the same result.
    """
    p = params or PatternParams()
    extra = ["_g"] if group is not None else []
    lf = lines.lazy()
    if group is not None:
        lf = lf.with_columns(group.alias("_g"))
    lf = lf.select("ts", "level", "message", *extra)
    sample = lf.head(_SAMPLE).collect()
    if sample.height < _SAMPLE:
        lf = sample.lazy()
    every = f"{int(step_duration(step).total_seconds())}s" if step is not None else None
    raw = None
    if sample["message"].n_unique() < _REPEATED * sample.height:
        stats, raw, buckets = _by_text(lf, extra, every)
    else:
        lf = lf.with_columns(key_expr().alias("_k"))
        queries = [lf.group_by(["_k", "level", *extra]).agg(
            pl.len().alias("n"), pl.col("ts").min().alias("first_seen"), pl.col("ts").max().alias("last_seen"),
            _earliest("message", "ts").alias("example"),
        )]  # fmt: skip
        if every is not None:
            queries.append(lf.group_by("_k", pl.col("ts").dt.truncate(every)).agg(pl.len().alias("count")))
        got = pl.collect_all(queries, engine="streaming")
        stats = got[0]
        buckets = got[1].with_columns(pl.col("count").cast(pl.Int64)) if every is not None else None
    stats = stats.with_columns(pl.col("level").cast(pl.String), pl.col("n").cast(pl.Int64))
    if stats.is_empty():
        return Mining(pl.DataFrame(schema=_KEY_SCHEMA), stats, buckets, raw)
    per_key = stats.group_by("_k").agg(pl.col("example").first(), pl.col("n").sum())
    memo = _MEMO.get()
    if memo is None:
        masked = per_key.with_columns(mask_expr(pl.col("example"), p.max_chars).alias("_m"))
    else:
        masked = memo.masked(per_key, p.max_chars)
    table = drain_templates(masked.select("_m", "n"), similarity=p.similarity, depth=p.depth,
                            max_children=p.max_children)  # fmt: skip
    keys = masked.join(table, on="_m", how="left").select(list(_KEY_SCHEMA)).cast(_KEY_SCHEMA)  # type: ignore[arg-type]
    log.info("mined %d patterns from %d line keys (%d lines)", table["pattern_id"].n_unique(), keys.height,
             int(stats["n"].sum()))  # fmt: skip
    return Mining(keys, stats, buckets, raw)


def _by_text(
    lf: pl.LazyFrame, extra: list[str], every: str | None
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame | None]:
    """:func:`mine`'s pass for repeated texts: statistics per distinct text, then per key;
    returns stats, the text hash → key map and the buckets (when ``every``)."""
    lf = lf.with_columns(message_hash().alias("_r"))
    queries = [lf.group_by(["_r", "level", *extra]).agg(
        pl.len().alias("n"), pl.col("ts").min().alias("first_seen"), pl.col("ts").max().alias("last_seen"),
        pl.col("message").first().alias("example"),
    )]  # fmt: skip
    if every is not None:
        queries.append(lf.group_by("_r", pl.col("ts").dt.truncate(every)).agg(pl.len().alias("count")))
    got = pl.collect_all(queries, engine="streaming")
    per_text = got[0].with_columns(key_expr("example").alias("_k"))
    stats = per_text.group_by(["_k", "level", *extra]).agg(
        pl.col("n").sum(), pl.col("first_seen").min(), pl.col("last_seen").max(), _earliest("example", "first_seen"),
    )  # fmt: skip
    raw = per_text.select("_r", "_k").unique().cast(_RAW_SCHEMA)  # type: ignore[arg-type]
    buckets = None
    if every is not None:
        buckets = (
            got[1]
            .join(raw, on="_r", how="inner")
            .group_by("_k", "ts")
            .agg(pl.col("count").sum().cast(pl.Int64))
        )
    return stats, raw, buckets


def _first_line(col: pl.Expr, max_chars: int = 400) -> pl.Expr:
    nl = col.str.find("\n", literal=True).fill_null(max_chars)
    return col.str.slice(0, pl.min_horizontal(nl, pl.lit(max_chars)).cast(pl.UInt32))


def _summary(stats: pl.DataFrame, keys: pl.DataFrame, *, total: int | None = None) -> pl.DataFrame:
    """Per-key-and-level stats → one row per pattern with PATTERN_COLUMNS."""
    if stats.is_empty():
        return pl.DataFrame(schema=PATTERN_COLUMNS)
    s = stats.join(keys, on="_k", how="left")
    by_level = s.group_by("pattern_id", "level").agg(pl.col("n").sum())
    sev = pl.col("level").replace_strict(SEVERITY, default=2, return_dtype=pl.Int8)
    mix = (
        by_level.sort(["pattern_id", "n", "level"], descending=[False, True, False])
        .group_by("pattern_id", maintain_order=True)
        .agg(
            pl.format("{} {}", pl.col("level"), pl.col("n")).str.join(", ").alias("level_mix"),
            pl.col("level").sort_by(sev, descending=True).first().alias("top_level"),
        )
    )
    lvl = pl.col("level")
    out = (
        s.sort(["n", "_k"], descending=[True, False])
        .group_by("pattern_id", maintain_order=True)
        .agg(
            pl.col("template").first(),
            pl.col("n").sum().alias("count"),
            pl.col("first_seen").min(),
            pl.col("last_seen").max(),
            _first_line(pl.col("example")).first().alias("example"),
            pl.col("n").filter(lvl.is_in(["ERROR", "FATAL"])).sum().alias("errors"),
            pl.col("n").filter(lvl == "WARN").sum().alias("warnings"),
        )
        .join(mix, on="pattern_id", how="left")
    )
    total = total if total is not None else int(out["count"].sum())
    out = out.with_columns((pl.col("count") / max(total, 1)).alias("share"))
    return (
        out.sort(["count", "pattern_id"], descending=[True, False])
        .select(list(PATTERN_COLUMNS))
        .cast(PATTERN_COLUMNS)
    )  # type: ignore[arg-type]
