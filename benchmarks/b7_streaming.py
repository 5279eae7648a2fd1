"""B7 streaming aggregation: an hourly roll-up (samples, mean, min, max per series and hour)
of every sample of a snapshot with over a billion metric samples on disk, labels joined to
the result.

- **workbench**: the snapshot's lazy ``metrics`` scan (``Dataset.scan``) grouped by the
  integer ``series_id`` and the hour, run by polars' streaming engine
  (``collect(engine="streaming")``), which reads the files in morsels instead of loading them;
  then the (small) ``series`` table joined for labels.
- **DuckDB**: the same query in SQL over the same files (``date_trunc('hour', ts)`` in UTC,
  as many threads as the machine has cores).

The target is memory: the whole roll-up within 16 GB peak on 2 cores.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks import Case, Check, Spec, by_name, fmt_bytes
from benchmarks import data as gen

__all__ = ["SPEC", "describe", "judge", "run", "setup"]

SPEC = Spec(
    id="B7",
    title="Streaming aggregation over a billion samples",
    workload="hourly roll-up (count, mean, min, max per series and hour) of ≥ 1 billion metric samples on disk",
    compared_with="the same query in DuckDB",
    target="completes within 16 GB peak memory on 2 cores; report the ratio to DuckDB",
)

#: scale → (containers, days); full: 25,000 × 2 metrics × 20,160 samples = 1.008 billion samples.
SIZES = {"tiny": (20, 0.5), "small": (500, 7), "full": (25_000, 7)}
LIMIT = 16 * 10**9
KEYS = ["cluster", "metric", "namespace", "pod", "container", "node"]

_state: dict[str, Any] = {}


def setup(scale: str, workdir: Path) -> None:
    containers, days = SIZES[scale]
    _state.update(scale=scale, snapshot=gen.metrics_snapshot(workdir, containers=containers, days=days))


def describe() -> str:
    import workbench as wb

    ds = wb.open(_state["snapshot"])
    rows = ds.row_counts
    return (f"{rows['metrics']:,} samples of {rows['series']:,} series in {len(ds.files('metrics')):,} files; "
            f"{fmt_bytes(gen.folder_bytes(ds.path))} of Parquet")  # fmt: skip


def workbench_rollup(snapshot: Path) -> pl.DataFrame:
    import workbench as wb

    ds = wb.open(snapshot)
    hourly = (
        ds.scan("metrics")
        .group_by("series_id", pl.col("ts").dt.truncate("1h").alias("hour"))
        .agg(
            pl.len().alias("samples"),
            pl.col("value").mean().alias("mean"),
            pl.col("value").min().alias("min"),
            pl.col("value").max().alias("max"),
        )  # fmt: skip
        .collect(engine="streaming")
    )
    return hourly.join(ds.series().select("series_id", *KEYS), on="series_id")


def duckdb_rollup(snapshot: Path) -> Any:
    import duckdb

    import workbench as wb

    ds = wb.open(snapshot)
    con = duckdb.connect()
    con.execute(f"SET threads TO {len(os.sched_getaffinity(0))}")
    con.execute("SET TimeZone = 'UTC'")
    sql = f"""
      WITH h AS (SELECT series_id, date_trunc('hour', ts) AS hour, count(*) AS samples, avg(value) AS mean,
                        min(value) AS min, max(value) AS max
                 FROM read_parquet($files, hive_partitioning = false) GROUP BY ALL)
      SELECT h.*, {", ".join(f"s.{k}" for k in KEYS)}
      FROM h JOIN read_parquet($series) s USING (series_id)"""
    files = [str(p) for p in ds.files("metrics")]
    out = con.sql(
        sql, params={"files": files, "series": [str(p) for p in ds.files("series")]}
    ).to_arrow_table()
    con.close()
    return out


def _answer(raw: Any) -> dict[str, pl.DataFrame]:
    f = raw if isinstance(raw, pl.DataFrame) else pl.from_arrow(raw)
    assert isinstance(f, pl.DataFrame)
    return {"hourly": f.select("series_id", pl.col("hour").cast(pl.Datetime("us", "UTC")),
                               pl.col("samples").cast(pl.Int64), "mean", "min", "max")}  # fmt: skip


def run() -> dict[str, Case]:
    s = _state["snapshot"]
    g = "hourly roll-up"
    return by_name([
        Case(group=g, engine="workbench (polars streaming)", ours=True, work=lambda: workbench_rollup(s),
             answer=_answer, requires=("workbench.store",)),
        Case(group=g, engine="duckdb", work=lambda: duckdb_rollup(s), answer=_answer, requires=("duckdb",)),
    ])  # fmt: skip


def judge(medians: dict[str, float], peaks: dict[str, int]) -> list[Check]:
    ours, duck = "hourly roll-up / workbench (polars streaming)", "hourly roll-up / duckdb"
    cores = len(os.sched_getaffinity(0))
    out = []
    if ours in medians:
        peak = peaks.get(ours, 0)
        out.append(Check(f"completes within 16 GB peak memory on {cores} cores", peak < LIMIT,
                         f"{medians[ours]:.1f} s, peak {peak / 1e9:.1f} GB"))  # fmt: skip
    else:
        out.append(Check(target="completes within 16 GB peak memory", met=False, detail="did not complete"))
    if ours in medians and duck in medians:
        out.append(Check("ratio to DuckDB (reported)", None,
                         f"DuckDB / workbench = {medians[duck] / medians[ours]:.2f} "
                         f"(DuckDB {medians[duck]:.1f} s, peak {peaks.get(duck, 0) / 1e9:.1f} GB)"))  # fmt: skip
    return out
