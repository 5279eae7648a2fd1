"""Benchmark data, generated fast (vectorised numpy), streamed to disk in chunks and cached.

Every generator writes a real snapshot through :class:`workbench.store.SnapshotWriter`, so
the files have the store's layout (metrics as ``series`` + ``metrics`` sorted by series id and
time, Hive-partitioned by cluster and date, zstd, 262,144-row groups; logs in groups of
about 128 MiB of text, at most 2^20 lines) and a manifest. The
result is cached under ``benchmarks/data/<key>`` where the key spells out every parameter and
:data:`VERSION`; a half-written folder is never taken for a finished one (a ``.complete``
marker is written last).

- :func:`metrics_snapshot`: ``containers`` containers, each with a CPU counter
  (``container_cpu_usage_seconds_total``, cumulative seconds with occasional resets when a
  container restarts) and a memory gauge (``container_memory_working_set_bytes``, in whole
  4 KiB pages), one sample every ``step`` seconds for ``days`` days. Usage has a daily cycle,
  per-container levels spread over two orders of magnitude, and noise.
- :func:`spans_snapshot`: ``n`` server/consumer spans (transactions) of 24 services over
  ``hours`` hours: log-normal response times per endpoint, a slow tail, ~2% errors (more of
  them among the slow).
- Logs and Kubernetes lists come from real samples: :mod:`benchmarks.data_real`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from workbench.schema import SCHEMAS
from workbench.store import SnapshotWriter, series_id

__all__ = [
    "CLUSTER",
    "CPU",
    "MEMORY",
    "START",
    "VERSION",
    "cached",
    "folder_bytes",
    "metrics_snapshot",
    "spans_snapshot",
]

log = logging.getLogger(__name__)

#: Bumped when a generator changes what it writes (old caches are then ignored).
VERSION = 1
CLUSTER = "bench"
CPU = "container_cpu_usage_seconds_total"
MEMORY = "container_memory_working_set_bytes"
#: First sample time of every generated data set (a Monday, UTC).
START = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
_US = 1_000_000
#: Samples generated and written per chunk (bounds memory at any scale).
CHUNK_ROWS = 16_000_000


def cached(path: Path, build: Callable[[Path], None]) -> Path:
    """``path`` if it was completed before, else ``build(tmp)`` then rename ``tmp`` to ``path``."""
    if (path / ".complete").is_file():
        return path
    if path.exists():
        log.info("removing the incomplete %s", path)
        shutil.rmtree(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        build(tmp)
        (tmp / ".complete").write_text("ok\n", encoding="utf-8")
        os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def folder_bytes(path: Path) -> int:
    """Bytes of all files under ``path``."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# --- metrics -----------------------------------------------------------------------------------
def _series_table(containers: int, seed: int) -> pl.DataFrame:
    """Two series (CPU, memory) per container, sorted by series id; with per-container levels."""
    rng = np.random.default_rng(seed)
    names = ("app", "sidecar", "worker", "proxy", "cache")
    rows = []
    cpu_level = rng.lognormal(np.log(0.05), 1.0, containers)
    mem_level = rng.lognormal(np.log(200 * 2**20), 0.8, containers)
    for i in range(containers):
        ns = f"team-{i % 97:02d}"
        pod = f"svc-{i // 3:05d}-{(i * 2654435761) % 0xFFFFF:05x}"
        labels = {"namespace": ns, "pod": pod, "container": names[i % 3], "node": f"node-{i % 211:03d}"}
        for metric, level in ((CPU, cpu_level[i]), (MEMORY, mem_level[i])):
            rows.append({"cluster": CLUSTER, "series_id": series_id(CLUSTER, metric, labels), "metric": metric,
                         **labels, "labels": None, "_level": float(level), "_i": i})  # fmt: skip
    frame = pl.DataFrame(rows, schema={**SCHEMAS["series"], "_level": pl.Float64, "_i": pl.Int64})
    return frame.sort("series_id")


def _cpu_values(level: np.ndarray, ts_s: np.ndarray, rng: np.random.Generator, step: int) -> np.ndarray:
    """Cumulative CPU seconds (k series × t samples): rate × daily cycle × noise, with resets."""
    k, t = level.size, ts_s.size
    daily = 1.0 + 0.5 * np.sin(2 * np.pi * (ts_s % 86_400) / 86_400.0)
    noise = rng.random((k, t), dtype=np.float32) + np.float32(0.5)  # mean 1, 0.5..1.5
    counter = np.cumsum(noise * (daily * step).astype(np.float32)[None, :], axis=1, dtype=np.float64)
    counter *= level[:, None]
    restart = np.flatnonzero(rng.random(k) < 0.05)  # 5% of containers restart once: the counter resets
    at = rng.integers(1, t, restart.size)
    for r, a in zip(restart, at, strict=True):
        counter[r, a:] -= counter[r, a - 1]
    return np.round(counter, 6)


def _memory_values(level: np.ndarray, ts_s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Working-set bytes in whole 4 KiB pages: level × daily cycle × slow drift × noise."""
    k, t = level.size, ts_s.size
    daily = 1.0 + 0.2 * np.sin(2 * np.pi * (ts_s % 86_400) / 86_400.0 + 1.0)
    steps = rng.standard_normal((k, t), dtype=np.float32) * np.float32(0.002)
    drift = np.cumsum(steps, axis=1, dtype=np.float32).clip(-0.5, 2.0) + np.float32(1.0)
    drift *= rng.random((k, t), dtype=np.float32) * np.float32(0.1) + np.float32(0.95)
    raw = drift * (level[:, None] / 4096.0) * daily[None, :]
    return np.floor(raw) * 4096.0


def metrics_snapshot(workdir: Path, *, containers: int, days: float, step: int = 30, seed: int = 0) -> Path:
    """A snapshot with ``series`` and ``metrics`` for ``containers`` containers (see the module
    docstring); ``2 × containers × days × 86400 / step`` samples. Cached."""
    key = f"metrics-c{containers}-d{days:g}-s{step}-seed{seed}-v{VERSION}"

    def build(tmp: Path) -> None:
        series = _series_table(containers, seed)
        ts_s = int(START.timestamp()) + np.arange(int(days * 86_400 // step), dtype=np.int64) * step
        per_chunk = max(1, CHUNK_ROWS // ts_s.size)
        rng = np.random.default_rng(seed + 1)
        with SnapshotWriter(tmp / "snapshot") as w:
            w.add_source(
                "benchmarks", generator="metrics", containers=containers, days=days, step=step, seed=seed
            )
            w.set_window(START, START + dt.timedelta(seconds=int(ts_s[-1] - ts_s[0]) + step))
            w.write("series", series.drop("_level", "_i"))
            for lo in range(0, series.height, per_chunk):
                part = series.slice(lo, per_chunk)
                w.write("metrics", _samples(part, ts_s, rng, step))
                log.info("metrics: %d/%d series written", lo + part.height, series.height)

    return cached(workdir / key, build) / "snapshot"


def _samples(part: pl.DataFrame, ts_s: np.ndarray, rng: np.random.Generator, step: int) -> pl.DataFrame:
    level = part["_level"].to_numpy()
    is_cpu = (part["metric"] == CPU).to_numpy()
    values = np.empty((part.height, ts_s.size))
    if is_cpu.any():
        values[is_cpu] = _cpu_values(level[is_cpu], ts_s, rng, step)
    if (~is_cpu).any():
        values[~is_cpu] = _memory_values(level[~is_cpu], ts_s, rng)
    ids = part["series_id"].to_numpy()
    return pl.DataFrame(
        {
            "cluster": pl.Series([CLUSTER], dtype=pl.String).new_from_index(0, values.size),
            "series_id": pl.Series(np.repeat(ids, ts_s.size), dtype=pl.UInt64),
            "ts": pl.Series(np.tile(ts_s * _US, part.height)).cast(pl.Datetime("us", "UTC")),
            "value": values.ravel(),
        }
    )


# --- spans -------------------------------------------------------------------------------------
_SERVICES = 24
_ROUTES = ("/api/cart", "/api/checkout", "/api/items/{id}", "/api/search", "/api/user", "/health", "/api/orders",
           "/api/pay")  # fmt: skip


def _hex(rng: np.random.Generator, n: int, nbytes: int) -> pl.Series:
    raw = rng.integers(0, 256, (n, nbytes), dtype=np.uint8)
    return pl.Series(raw.view(f"S{nbytes}").ravel(), dtype=pl.Binary).bin.encode("hex")


def _span_chunk(rng: np.random.Generator, n: int, t0_us: int, span_us: int) -> pl.DataFrame:
    svc = rng.integers(0, _SERVICES, n)
    route = rng.integers(0, len(_ROUTES), n)
    # per endpoint a typical time of 2..200 ms; 3% of requests hit a slow path (×20)
    typical_ms = 2.0 * 100 ** (((svc * 7 + route * 3) % 17) / 16.0)
    slow = rng.random(n) < 0.03
    rt_ms = typical_ms * rng.lognormal(0.0, 0.6, n) * np.where(slow, 20.0, 1.0)
    dur = np.maximum(1, np.rint(rt_ms * 1000)).astype(np.int64)
    start = t0_us + rng.integers(0, span_us, n)
    error = rng.random(n) < np.where(slow, 0.15, 0.015)
    status = np.where(error, 500, 200).astype(np.int32)
    kind = np.where(rng.random(n) < 0.9, "SERVER", "CONSUMER")
    services = pl.Series([f"svc-{i:02d}" for i in range(_SERVICES)])
    routes = pl.Series(list(_ROUTES))
    frame = pl.DataFrame({
        "cluster": pl.Series([CLUSTER]).new_from_index(0, n),
        "trace_id": _hex(rng, n, 16), "span_id": _hex(rng, n, 8), "parent_id": _hex(rng, n, 8),
        "service": services.gather(svc), "operation": routes.gather(route), "kind": kind,
        "start": pl.Series(start).cast(pl.Datetime("us", "UTC")),
        "end": pl.Series(start + dur).cast(pl.Datetime("us", "UTC")), "duration_us": dur,
        "status": np.where(error, "ERROR", "UNSET"), "error": error, "http_method": pl.Series(["GET"]).new_from_index(0, n),
        "http_route": routes.gather(route), "http_status_code": status,
        "namespace": pl.Series([f"shop-{i % 4}" for i in range(_SERVICES)]).gather(svc),
        "pod": pl.Series([f"svc-{i:02d}-7d9f8b-x{i % 3}" for i in range(_SERVICES)]).gather(svc),
        "node": pl.Series([f"node-{i % 6:03d}" for i in range(_SERVICES)]).gather(svc),
    })  # fmt: skip
    return frame.with_columns(pl.lit(None, pl.String).alias("status_message"), pl.lit(None, pl.String).alias("peer_service"),
                              pl.lit(None, pl.String).alias("db_system"), pl.lit(None, pl.String).alias("attributes"),
                              ).select([pl.col(c).cast(t) for c, t in SCHEMAS["spans"].items()]).sort("start")  # fmt: skip


def spans_snapshot(workdir: Path, *, n: int, hours: float = 6, seed: int = 0) -> Path:
    """A snapshot whose ``spans`` table holds ``n`` transactions over ``hours`` hours. Cached."""
    key = f"spans-n{n}-h{hours:g}-seed{seed}-v{VERSION}"
    span_us = int(hours * 3600 * _US)
    chunk = 2_000_000

    def build(tmp: Path) -> None:
        rng = np.random.default_rng(seed)
        t0 = int(START.timestamp()) * _US
        pieces = -(-n // chunk)
        with SnapshotWriter(tmp / "snapshot") as w:
            w.add_source("benchmarks", generator="spans", n=n, hours=hours, seed=seed)
            for i in range(pieces):
                size = min(chunk, n - i * chunk)
                lo = t0 + span_us * i // pieces
                w.write("spans", _span_chunk(rng, size, lo, span_us // pieces))

    return cached(workdir / key, build) / "snapshot"
