"""B4 logs: 10 million lines (grown from real container logs: :mod:`benchmarks.data_real`) →
a regex + level search, facet counts of the matches, and log-pattern counts of all lines.

Three steps, each from the Parquet files on disk, each in both engines:

- **search**: lines whose level is WARN/ERROR/FATAL and whose message matches :data:`REGEX`
  (case-insensitive): how many, and the newest 500. Workbench: ``logs.search_with_total(limit=500)``
  (one call: a pass over the filter columns and ``ts`` counts the matches and finds the time of
  the 500th newest, then the rows are read from the newest row groups). pandas:
  ``str.contains(case=False)`` and ``isin``, then ``nlargest``.
- **facets**: counts of those matches per level, cluster, namespace, pod and container (top 20,
  ties by value). Workbench: ``logs.facets(categories=False, fields=False)``. pandas:
  ``value_counts``.
- **patterns**: every line's pattern (Drain templates, see :mod:`workbench.analyses.patterns`)
  with its count, error and warning counts and first/last time. Workbench:
  ``patterns.patterns`` (these lines repeat — 41,085 distinct texts and levels in 10 M lines —
  so it groups lines by a hash of their text and computes keys per distinct text; on lines
  that do not repeat it computes each line's key as pandas does). pandas: the same per-line
  key with ``str.replace`` (digit runs that start a word → ``0``), ``groupby``, the same masks
  on one example per key, then the same Drain on the distinct masked texts (the workbench's
  vectorised ``drain_templates``, which gives drain3's templates: there is no pandas Drain).

pandas 3 keeps strings in Arrow and runs ``str.contains``/``str.replace`` in Arrow's RE2
kernels, so its string methods are compiled code too. The regexes are the workbench's, with
Rust-only syntax written the RE2 way (``(?-u:\\b)`` → ``\\b``, ASCII in RE2; ``${1}`` → ``\\1``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from benchmarks import Case, Check, Spec, by_name, fmt_bytes, ratio_check
from benchmarks import data as gen
from benchmarks import data_real as real

__all__ = ["SPEC", "describe", "judge", "run", "setup"]

SPEC = Spec(
    id="B4",
    title="Logs: search, facets, patterns",
    workload="10 M log lines → regex + level filter, facet counts, pattern counts",
    compared_with="pandas string methods",
    target="≥ 20×",
)

#: scale → (lines, digit variants of each real line)
SIZES = {"tiny": (20_000, 10), "small": (1_000_000, 100), "full": (10_000_000, 200)}
REGEX = r"error|fail|timeout|refused|unable"
LEVELS = ["WARN", "ERROR", "FATAL"]
TOP, LIMIT = 20, 500
FACETS = ("level", "cluster", "namespace", "pod", "container")
OURS = ("workbench.analyses.logs", "workbench.analyses.patterns")
PANDAS = ("pandas", "pyarrow", "workbench.analyses._templates", "workbench.analyses.patterns._drain")
PATTERN_COLUMNS = ["pattern_id", "template", "count", "errors", "warnings", "first_seen", "last_seen"]

#: Shown in the report when a target is missed: what bounds the workbench here.
BOUNDS = """
- The regular expressions are compiled code on both sides: Rust's regex in polars, RE2 in
  Arrow's kernels behind pandas 3's `str.contains`/`str.replace`. The workbench's lead comes
  from reading Parquet straight into Arrow columns on both cores, from applying the regex in
  the Parquet reader, and from not building pandas objects.
- facets and search: bounded by reading the messages. Both filters (level and regex) go to the
  Parquet reader, which tests the regex once per distinct message of a row group (the column's
  dictionary) rather than once per line; logs are stored in row groups of about 128 MiB of
  text (2^20 lines here), so each dictionary serves four times as many lines as with 2^18-line
  groups: facets 0.80 → 0.42 s of CPU, search 0.86 → 0.48 s, files 104 → 80 MiB. What is
  left (profile of facets): zstd decompression of the messages 16 %, decoding the
  dictionaries 12 %, the regex 9 %, grouping the five facet columns 8 %.
- On this 2-core machine shared with other work, wall time for the same CPU time swings from
  run to run (facets 0.27–2.25 s wall over two full runs, for about 0.42 s of CPU; pandas
  facets 14.3 s of CPU): the median of three decides the ratio.
- Not taken: decoding the message only for lines whose level passes, then the regex (late
  materialisation), halves a search on text that never repeats (2.0 → 1.0 s of CPU) but is
  slower here (0.39 → 0.48 s) and much slower when the level keeps most lines (0.40 → 1.99 s),
  because the regex then sees every kept line instead of each distinct message once. lz4
  instead of zstd would save another 0.07 s of CPU for 58 % more disk.
- patterns: a hash per line and one group-by, then keys, masks and Drain per distinct text
  (Drain compares a message with a whole tree leaf in one numpy step); about 2× the floor. On
  lines whose texts do not repeat the key is a regex per line, as in pandas.
"""

_state: dict[str, Any] = {}


def setup(scale: str, workdir: Path) -> None:
    n, variants = SIZES[scale]
    _state.update(scale=scale, snapshot=real.logs_snapshot(workdir, n=n, per_line=variants))


def describe() -> str:
    import workbench as wb

    ds = wb.open(_state["snapshot"])
    src = next((s for s in ds.sources if s.get("generator") == "logs"), {})
    return (f"{ds.row_counts['logs']:,} lines grown from {src.get('real_lines', '?')} real log lines "
            f"({src.get('per_line', '?')} digit variants each); {fmt_bytes(gen.folder_bytes(ds.path))} of Parquet")  # fmt: skip


# --- workbench ---------------------------------------------------------------------------------
def wb_search(snapshot: Path) -> tuple[int, pl.DataFrame]:
    import workbench as wb
    from workbench.analyses import logs

    rows, n = logs.search_with_total(wb.open(snapshot), regex=REGEX, levels=LEVELS, limit=LIMIT)
    return n, rows


def wb_facets(snapshot: Path) -> pl.DataFrame:
    import workbench as wb
    from workbench.analyses import logs

    return logs.facets(wb.open(snapshot), regex=REGEX, levels=LEVELS, top=TOP, categories=False, fields=False)


def wb_patterns(snapshot: Path) -> pl.DataFrame:
    import workbench as wb
    from workbench.analyses import patterns

    return patterns.patterns(wb.open(snapshot))


def _search_answer(raw: tuple[int, Any]) -> dict[str, pl.DataFrame]:
    n, top = raw
    top = top if isinstance(top, pl.DataFrame) else pl.from_pandas(top[["ts", "message"]])
    return {"matches": pl.DataFrame({"matches": [n]}), "newest": top.select(pl.col("ts").sort())}


# --- pandas ------------------------------------------------------------------------------------
def _files(snapshot: Path) -> list[str]:
    import workbench as wb

    return [str(p) for p in wb.open(snapshot).files("logs")]


def _pd_matches(snapshot: Path, columns: list[str]) -> Any:
    import pandas as pd

    df = pd.read_parquet(_files(snapshot), engine="pyarrow", columns=columns, partitioning=None)
    return df[df["level"].isin(LEVELS) & df["message"].str.contains(REGEX, case=False, regex=True)]


def pd_search(snapshot: Path) -> tuple[int, Any]:
    cols = [
        "ts",
        "level",
        "cluster",
        "namespace",
        "pod",
        "container",
        "stream",
        "message",
        "fields",
        "trace_id",
        "span_id",
    ]
    m = _pd_matches(snapshot, cols)
    return len(m), m.nlargest(LIMIT, "ts")


def pd_facets(snapshot: Path) -> Any:
    import pandas as pd

    m = _pd_matches(snapshot, ["level", "cluster", "namespace", "pod", "container", "message"])
    parts = []
    for col in FACETS:
        vc = m[col].astype(str).value_counts().rename_axis("value").reset_index(name="count")
        vc = vc.sort_values(["count", "value"], ascending=[False, True]).head(TOP)
        parts.append(vc.assign(facet=col))
    return pd.concat(parts, ignore_index=True)


def _re2(pattern: str) -> str:
    return pattern.replace("(?-u:\\b)", "\\b")


def pd_patterns(snapshot: Path) -> Any:
    import pandas as pd

    from workbench.analyses._templates import _ZERO, MASKS
    from workbench.analyses.patterns._drain import drain_templates

    df = pd.read_parquet(
        _files(snapshot), engine="pyarrow", columns=["ts", "level", "message"], partitioning=None
    )
    df["key"] = df["message"].str.replace(_re2(_ZERO[0]), _ZERO[1], regex=True)
    stats = (
        df.groupby(["key", "level"], observed=True, sort=False)
        .agg(n=("ts", "size"), first_seen=("ts", "min"), last_seen=("ts", "max"))
        .reset_index()
    )
    per_key = df.drop_duplicates("key")[["key"]]  # the key is the zeroed text: mask it
    masked = per_key["key"].str.split("\n", n=1).str[0].str.slice(0, 400)
    for _, pattern, repl in MASKS:
        masked = masked.str.replace(_re2(pattern), repl.replace("${1}", "\\1"), regex=True)
    per_key = per_key.assign(m=masked.str.strip())
    sizes = stats.groupby("key", sort=False)["n"].sum()
    per_key["n"] = per_key["key"].map(sizes)
    table = drain_templates(pl.DataFrame({"_m": per_key["m"].tolist(), "n": per_key["n"].tolist()}),
                            similarity=0.5, depth=4, max_children=100).to_pandas()  # fmt: skip
    keys = per_key.merge(table, left_on="m", right_on="_m")[["key", "pattern_id", "template"]]
    s = stats.merge(keys, on="key")
    s["errors"] = s["n"].where(s["level"].isin(["ERROR", "FATAL"]), 0)
    s["warnings"] = s["n"].where(s["level"] == "WARN", 0)
    return s.groupby(["pattern_id", "template"], sort=False).agg(
        count=("n", "sum"), errors=("errors", "sum"), warnings=("warnings", "sum"), first_seen=("first_seen", "min"),
        last_seen=("last_seen", "max")).reset_index()  # fmt: skip


def _facet_answer(raw: Any) -> dict[str, pl.DataFrame]:
    f = raw if isinstance(raw, pl.DataFrame) else pl.from_pandas(raw)
    return {"facets": f.select("facet", "value", pl.col("count").cast(pl.Int64))}


def _pattern_answer(raw: Any) -> dict[str, pl.DataFrame]:
    f = raw if isinstance(raw, pl.DataFrame) else pl.from_pandas(raw)
    return {"patterns": f.select(PATTERN_COLUMNS).cast({c: pl.Int64 for c in ("count", "errors", "warnings")}).cast(
        {c: pl.Datetime("us", "UTC") for c in ("first_seen", "last_seen")})}  # fmt: skip


def read_floor(snapshot: Path) -> int:
    """Only reading ts, level and message of every line with polars (no computation)."""
    import workbench as wb

    return wb.open(snapshot).scan("logs").select("ts", "level", "message").collect().height


def run() -> dict[str, Case]:
    s = _state["snapshot"]
    return by_name([
        Case(group="search", engine="workbench", ours=True, work=lambda: wb_search(s), answer=_search_answer,
             requires=OURS),
        Case(group="search", engine="pandas", work=lambda: pd_search(s), answer=_search_answer, requires=PANDAS),
        Case(group="facets", engine="workbench", ours=True, work=lambda: wb_facets(s), answer=_facet_answer,
             requires=OURS),
        Case(group="facets", engine="pandas", work=lambda: pd_facets(s), answer=_facet_answer, requires=PANDAS),
        Case(group="patterns", engine="workbench", ours=True, work=lambda: wb_patterns(s), answer=_pattern_answer,
             requires=OURS),
        Case(group="patterns", engine="pandas", work=lambda: pd_patterns(s), answer=_pattern_answer,
             requires=PANDAS),
        Case(group="read", engine="read ts, level, message only (floor)", work=lambda: read_floor(s),
             answer=lambda n: {"rows": pl.DataFrame({"n": [n]})}, check=False, requires=("workbench.store",),
             note="no computation: the cost of reading the lines every step starts with"),
    ])  # fmt: skip


def judge(medians: dict[str, float], peaks: dict[str, int]) -> list[Check]:
    del peaks  # the targets are about time
    out = [ratio_check(medians, target=f"≥ 20× ({g})", ours=f"{g} / workbench", other=f"{g} / pandas", at_least=20)
           for g in ("search", "facets", "patterns")]  # fmt: skip
    names = [f"{g} / {e}" for g in ("search", "facets", "patterns") for e in ("workbench", "pandas")]
    if all(n in medians for n in names):
        ours = sum(medians[n] for n in names if n.endswith("workbench"))
        other = sum(medians[n] for n in names if n.endswith("pandas"))
        out.append(
            Check(
                "≥ 20× (all three steps)",
                other / ours >= 20,
                f"{other / ours:.1f}× ({other:.3g} s vs {ours:.3g} s)",
            )
        )
    return out
