"""The snapshot store: round trip, partition pruning, append, atomicity, clear errors."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

import workbench as wb
from workbench.errors import SchemaError, SnapshotError
from workbench.schema import conform
from workbench.store import SnapshotWriter, series_id, writer

T0 = dt.datetime(2026, 11, 2, 22, 0, tzinfo=dt.UTC)


def _logs(cluster: str, start: dt.datetime, n: int, step_min: int = 30) -> pl.DataFrame:
    return conform(
        "logs",
        [
            {
                "cluster": cluster,
                "ts": start + dt.timedelta(minutes=step_min * i),
                "namespace": "shop",
                "pod": f"cart-{i % 3}",
                "container": "cart",
                "stream": "stdout",
                "level": "ERROR" if i % 5 == 0 else "INFO",
                "message": f"line {i}",
            }
            for i in range(n)
        ],
    )


def _pods(cluster: str, names: list[str], *, phase: str = "Running", at: dt.datetime = T0) -> pl.DataFrame:
    return conform(
        "pods",
        [
            {
                "cluster": cluster,
                "namespace": "shop",
                "name": n,
                "uid": f"uid-{n}",
                "node": "node-a" if i % 2 else "node-b",
                "phase": phase,
                "status": phase,
                "workload_kind": "Deployment",
                "workload_name": n.rsplit("-", 1)[0],
                "owner_name": n.rsplit("-", 1)[0] + "-5d8f",
                "observed_at": at,
            }
            for i, n in enumerate(names)
        ],
    )


def _tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        h.update(str(p.relative_to(root)).encode())
        if p.is_file():
            h.update(p.read_bytes())
            h.update(str(p.stat().st_mtime_ns).encode())
    return h.hexdigest()


def test_round_trip_keeps_types_and_rows(tmp_path: Path) -> None:
    logs = _logs("eks", T0, 10)
    pods = _pods("eks", ["cart-0", "cart-1", "web-0"])
    with SnapshotWriter(tmp_path / "s") as w:
        w.write("logs", logs)
        w.write("pods", pods)
        w.add_source("test", note="round trip")
    ds = wb.open(tmp_path / "s")
    assert_frame_equal(ds.logs().sort("ts"), logs.sort("ts"))
    assert_frame_equal(ds.pods().sort("name"), pods.sort("name"))
    assert ds.row_counts["logs"] == 10 and ds.row_counts["pods"] == 3
    assert ds.clusters == ["eks"]
    assert ds.window == (T0, T0 + dt.timedelta(minutes=270))
    assert ds.sources[0]["name"] == "test"
    # an absent table reads as an empty table with the right columns, never None
    assert ds.spans().is_empty() and ds.spans().columns == list(wb.schema.SCHEMAS["spans"])


def test_big_tables_are_hive_partitioned_and_pruned(tmp_path: Path) -> None:
    # 30-minute steps across midnight: two dates in one cluster, one date in the other
    with SnapshotWriter(tmp_path / "s") as w:
        w.write("logs", _logs("eks", T0, 8))
        w.write("logs", _logs("gke", T0 - dt.timedelta(hours=5), 2))
    ds = wb.open(tmp_path / "s")
    rels = sorted(str(p.relative_to(tmp_path / "s")).rsplit("/", 1)[0] for p in ds.files("logs"))
    assert rels == [
        "logs/cluster=eks/date=2026-11-02",
        "logs/cluster=eks/date=2026-11-03",
        "logs/cluster=gke/date=2026-11-02",
    ]
    assert len(ds.files("logs", cluster="gke")) == 1
    assert len(ds.files("logs", cluster="eks", start="2026-11-03T00:00:00Z")) == 1
    got = ds.logs(cluster="eks", start="2026-11-03T00:00:00Z")
    assert got.height == 4 and got["ts"].min() == dt.datetime(2026, 11, 3, 0, 0, tzinfo=dt.UTC)
    # the filter is pushed into the scan: the plan reads only the pruned file
    plan = ds.scan("logs", cluster="gke").explain()
    assert "gke" in plan and "cluster=eks" not in plan


def _wide_logs(n: int, width: int) -> pl.DataFrame:
    """``n`` log lines, a millisecond apart, whose messages are ``width`` bytes each."""
    return conform("logs", pl.select(
        cluster=pl.lit("eks"), ts=pl.lit(T0) + pl.duration(milliseconds=pl.int_range(n)), level=pl.lit("INFO"),
        message=pl.int_range(n).cast(pl.String).str.pad_start(width, "x").str.slice(0, width),
    ))  # fmt: skip


@pytest.mark.parametrize(("width", "lines"), [(0, 2**20), (20, 2**20), (400, 335_544), (5_000, 2**18)])
def test_log_row_groups_hold_about_128_mib_of_text(width: int, lines: int) -> None:
    # 128 MiB of message text per group, between 2^18 and 2^20 lines: 128 MiB / 400 B = 335,544
    assert writer._log_row_group(_wide_logs(1_000, width)) == lines


def test_logs_are_written_in_row_groups_of_up_to_a_million_lines(tmp_path: Path) -> None:
    logs = _wide_logs(300_000, 20)
    with SnapshotWriter(tmp_path / "s") as w:
        w.write("logs", logs)
        w.write("metrics", logs.select("cluster", pl.lit(1, pl.UInt64).alias("series_id"), "ts",
                                       pl.lit(1.0).alias("value")))  # fmt: skip
    ds = wb.open(tmp_path / "s")
    groups = {t: [pq.ParquetFile(f).metadata.row_group(g).num_rows for f in ds.files(t)
                  for g in range(pq.ParquetFile(f).metadata.num_row_groups)] for t in ("logs", "metrics")}  # fmt: skip
    assert groups == {"logs": [300_000], "metrics": [2**18, 300_000 - 2**18]}
    assert_frame_equal(ds.logs().sort("ts"), logs.sort("ts"))


def test_filters_by_namespace_pod_node_workload(tmp_path: Path) -> None:
    with SnapshotWriter(tmp_path / "s") as w:
        w.write("pods", _pods("eks", ["cart-0", "cart-1", "web-0"]))
        w.write("logs", _logs("eks", T0, 9))
    ds = wb.open(tmp_path / "s")
    assert ds.pods(node="node-a")["name"].to_list() == ["cart-1"]
    assert sorted(ds.pods(workload="Deployment/cart")["name"]) == ["cart-0", "cart-1"]
    assert ds.pods(namespace="other").is_empty()
    logs = ds.logs(workload="cart")
    assert set(logs["pod"]) == {"cart-0", "cart-1"} and logs.height == 6
    assert ds.logs(pod="cart-2").height == 3


def test_append_adds_partitions_without_rewriting(tmp_path: Path) -> None:
    path = tmp_path / "s"
    with SnapshotWriter(path) as w:
        w.write("logs", _logs("eks", T0, 2))
        w.write("pods", _pods("eks", ["cart-0"], phase="Pending"))
    before = {p: p.stat().st_mtime_ns for p in path.rglob("*.parquet")}
    later = T0 + dt.timedelta(days=1)
    with SnapshotWriter(path, mode="append") as w:
        w.write("logs", _logs("eks", later, 3))
        w.write("pods", _pods("eks", ["cart-0"], phase="Running", at=later))
        w.warn("kubernetes", "403 listing pods in kube-system", what="pods/kube-system")
    after = {p: p.stat().st_mtime_ns for p in path.rglob("*.parquet")}
    assert all(after[p] == m for p, m in before.items()), "earlier files were rewritten"
    ds = wb.open(path)
    assert ds.row_counts["logs"] == 5
    # the state table keeps the newest revision of the pod
    assert ds.pods()["phase"].to_list() == ["Running"]
    assert ds.window[1] == later + dt.timedelta(minutes=60)
    assert ds.warnings[0]["what"] == "pods/kube-system"
    assert not list(path.glob(".staging-*"))


def test_metrics_are_stored_by_series_and_read_back_wide(tmp_path: Path) -> None:
    ts = [T0 + dt.timedelta(seconds=15 * i) for i in range(4)]
    wide = pl.DataFrame(
        {
            "cluster": ["eks"] * 8,
            "metric": ["container_memory_working_set_bytes"] * 8,
            "ts": ts * 2,
            "value": [1.0, 2.0, 3.0, 4.0, 10.0, 20.0, 30.0, 40.0],
            "namespace": ["shop"] * 8,
            "pod": ["cart-0"] * 4 + ["web-0"] * 4,
            "container": ["cart"] * 4 + ["web"] * 4,
            "node": ["node-a"] * 8,
            "labels": ['{"image":"x","id":"/a"}'] * 4 + [None] * 4,
        }
    )
    path = tmp_path / "s"
    with SnapshotWriter(path) as w:
        w.write_metrics(wide)
    with SnapshotWriter(path, mode="append") as w:  # the same series again: no new series rows
        w.write_metrics(wide.with_columns(pl.col("ts") + dt.timedelta(minutes=1)))
    ds = wb.open(path)
    assert ds.row_counts["series"] == 2 and ds.row_counts["metrics"] == 16
    sid = series_id(
        "eks",
        "container_memory_working_set_bytes",
        {
            "namespace": "shop",
            "pod": "cart-0",
            "container": "cart",
            "node": "node-a",
            "id": "/a",
            "image": "x",
        },
    )
    assert sid in ds.series()["series_id"].to_list()
    web = ds.metrics(metric="container_memory_working_set_bytes", pod="web-0", end=ts[-1])
    assert web["value"].to_list() == [10.0, 20.0, 30.0, 40.0]
    assert web["labels"].to_list() == [None] * 4
    assert ds.metrics(metric="no_such_metric").is_empty()


def test_schema_violations_name_table_and_column(tmp_path: Path) -> None:
    bad = _pods("eks", ["a-0"]).with_columns(pl.col("restarts").cast(pl.Float64))
    with pytest.raises(SchemaError, match=r"table 'pods', column 'restarts': expected Int32, found Float64"):
        with SnapshotWriter(tmp_path / "s") as w:
            w.write("pods", bad)
    assert not (tmp_path / "s").exists(), "a failed write left a snapshot behind"
    assert not list(tmp_path.glob(".s.tmp-*"))


def test_interrupted_write_leaves_the_earlier_snapshot_intact(tmp_path: Path) -> None:
    path = tmp_path / "s"
    with SnapshotWriter(path) as w:
        w.write("logs", _logs("eks", T0, 4))
    digest = _tree_digest(path)
    for mode in ("overwrite", "append"):
        script = textwrap.dedent(
            f"""
            import datetime as dt, os, signal, sys
            sys.path.insert(0, {str(Path(__file__).resolve().parents[3])!r})
            from workbench.store import SnapshotWriter
            from workbench.schema import conform
            w = SnapshotWriter({str(path)!r}, mode={mode!r})
            t = dt.datetime(2026, 11, 4, tzinfo=dt.UTC)
            w.write("logs", conform("logs", [{{"cluster": "eks", "ts": t, "message": "new"}}]))
            os.kill(os.getpid(), signal.SIGKILL)   # the machine dies before the commit
            """
        )
        proc = subprocess.run([sys.executable, "-c", script], check=False)
        assert proc.returncode == -signal.SIGKILL
        assert _tree_digest(path) == digest or mode == "append"
        ds = wb.open(path)
        assert ds.row_counts["logs"] == 4 and ds.logs().height == 4
        assert "new" not in ds.logs()["message"].to_list()


def test_opening_never_modifies_a_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "s"
    with SnapshotWriter(path) as w:
        w.write("logs", _logs("eks", T0, 4))
        w.write("pods", _pods("eks", ["a-0"]))
        w.add_file("ground_truth.json", {"incidents": []})
    digest = _tree_digest(path)
    ds = wb.open(path)
    ds.logs(), ds.pods(), ds.metrics(), ds.check(), ds.ground_truth
    assert _tree_digest(path) == digest


def test_missing_corrupt_and_newer_snapshots_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="does not exist"):
        wb.open(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SnapshotError, match="manifest.json is missing"):
        wb.open(tmp_path / "empty")
    path = tmp_path / "s"
    with SnapshotWriter(path) as w:
        w.write("logs", _logs("eks", T0, 4))
    manifest = json.loads((path / "manifest.json").read_text())
    (path / "manifest.json").write_text(json.dumps({**manifest, "schema_version": 99}))
    with pytest.raises(SnapshotError, match=r"newer workbench \(schema version 99"):
        wb.open(path)
    (path / "manifest.json").write_text('{"format": "workbench-snap')
    with pytest.raises(SnapshotError, match=r"manifest.json is corrupt"):
        wb.open(path)
    (path / "manifest.json").write_text(json.dumps(manifest))
    victim = wb.open(path).files("logs")[0]
    victim.write_bytes(b"PAR1 not really parquet")
    problems = wb.open(path).check()
    assert problems and str(victim) in problems[0]
    victim.unlink()
    with pytest.raises(SnapshotError, match=r"listed in .*manifest.json but missing"):
        wb.open(path).logs()


def test_create_refuses_an_existing_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "s"
    with SnapshotWriter(path) as w:
        w.write("logs", _logs("eks", T0, 1))
    with pytest.raises(SnapshotError, match="already exists"):
        SnapshotWriter(path)
    with SnapshotWriter(path, mode="overwrite") as w:
        w.write("logs", _logs("gke", T0, 2))
    assert wb.open(path).clusters == ["gke"]
    assert os.listdir(tmp_path) == ["s"]


def test_overwrite_refuses_a_folder_that_is_not_a_snapshot(tmp_path: Path) -> None:
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(SnapshotError, match="is not a snapshot"):
        SnapshotWriter(precious, mode="overwrite")
    assert (precious / "thesis.tex").read_text() == "years of work"


def test_series_read_while_the_manifest_is_refreshed_are_not_kept_for_the_new_one(tmp_path: Path) -> None:
    """A read of the series that a refresh overtakes (another session's live look at a shared
    dataset, here made inside the read) gives the old series, and the next read the new ones:
    the old are not kept for the new manifest."""

    def wide(pod: str) -> pl.DataFrame:
        return pl.DataFrame({
            "cluster": "eks", "metric": "container_memory_working_set_bytes",
            "ts": [T0 + dt.timedelta(seconds=15 * i) for i in range(3)], "value": [1.0, 2.0, 3.0],
            "namespace": "shop", "pod": pod, "container": "c", "node": "node-a", "labels": None,
        }, schema_overrides={"labels": pl.String})  # fmt: skip

    path = tmp_path / "s"
    with SnapshotWriter(path) as w:
        w.write_metrics(wide("cart-0"))

    class Overtaken(wb.Dataset):
        """The snapshot grows, and the dataset is refreshed, while its series are first read."""

        grown = False

        def scan(self, table: str, **filters: Any) -> pl.LazyFrame:
            lf = super().scan(table, **filters)
            if table == "series" and not self.grown:
                self.grown = True
                with SnapshotWriter(path, mode="append") as w:
                    w.write_metrics(wide("web-0"))
                self.refresh()
            return lf

    ds = Overtaken(path)
    assert ds.series()["pod"].to_list() == ["cart-0"]  # what the read began with
    assert ds.row_counts["series"] == 2
    assert sorted(ds.series()["pod"].to_list()) == ["cart-0", "web-0"]
    assert sorted(ds.series(namespace="shop")["pod"].to_list()) == ["cart-0", "web-0"]
