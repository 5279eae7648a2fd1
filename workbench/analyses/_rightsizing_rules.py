"""The right-sizing rules (advice from usage statistics) and HPA targets; used by
:mod:`workbench.analyses.rightsizing`, which documents them."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

import polars as pl

__all__ = ["HPA_COLUMNS", "apply_rules", "hpa_targets_from_manifests"]

MIB = 2**20

HPA_COLUMNS: dict[str, pl.DataType] = {
    "cluster": pl.String(),
    "namespace": pl.String(),
    "hpa": pl.String(),
    "target_kind": pl.String(),
    "target_name": pl.String(),
    "cpu_target_pct": pl.Float64(),
    "memory_target_pct": pl.Float64(),
    "min_replicas": pl.Int64(),
    "max_replicas": pl.Int64(),
}


def hpa_targets_from_manifests(
    manifests: Iterable[dict[str, Any]], *, cluster: str | None = None
) -> pl.DataFrame:
    """One row per HorizontalPodAutoscaler manifest (autoscaling v1, v2beta1, v2beta2, v2):
    what it scales and its average-utilisation targets for CPU and memory in % of the request
    (null when it does not scale on that resource's utilisation)."""
    rows = []
    for m in manifests:
        if not isinstance(m, dict) or m.get("kind") != "HorizontalPodAutoscaler":
            continue
        meta, spec = m.get("metadata") or {}, m.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        targets: dict[str, float | None] = {"cpu": None, "memory": None}
        if spec.get("targetCPUUtilizationPercentage") is not None:  # autoscaling/v1
            targets["cpu"] = float(spec["targetCPUUtilizationPercentage"])
        for metric in spec.get("metrics") or []:
            res = (metric or {}).get("resource") or (metric or {}).get("containerResource") or {}
            name = res.get("name")
            if name not in targets:
                continue
            target = res.get("target") or {}
            value = (
                target.get("averageUtilization")
                if target.get("type", "Utilization") == "Utilization"
                else None
            )
            value = res.get("targetAverageUtilization", value)  # v2beta1
            if value is not None:
                targets[name] = float(value)
        rows.append({
            "cluster": cluster, "namespace": meta.get("namespace"), "hpa": meta.get("name"),
            "target_kind": ref.get("kind"), "target_name": ref.get("name"), "cpu_target_pct": targets["cpu"],
            "memory_target_pct": targets["memory"], "min_replicas": spec.get("minReplicas"),
            "max_replicas": spec.get("maxReplicas"),
        })  # fmt: skip
    return pl.DataFrame(rows, schema=HPA_COLUMNS) if rows else pl.DataFrame(schema=HPA_COLUMNS)


def hpa_from_objects(objects: pl.DataFrame) -> pl.DataFrame:
    """:func:`hpa_targets_from_manifests` over the newest live revision of each HPA in an
    ``objects`` frame."""
    hpas = objects.filter(pl.col("kind") == "HorizontalPodAutoscaler").sort("observed_at")
    hpas = hpas.group_by("cluster", "namespace", "name").agg(
        pl.col("manifest").last(), pl.col("deleted").last()
    )
    hpas = hpas.sort("cluster", "namespace", "name", nulls_last=True)  # one order every time
    hpas = hpas.filter(~pl.col("deleted").fill_null(value=False))
    parts = [
        hpa_targets_from_manifests([json.loads(text)], cluster=c)
        for c, text in hpas.select("cluster", "manifest").iter_rows()
    ]
    return pl.concat(parts) if parts else pl.DataFrame(schema=HPA_COLUMNS)


def _up(x: float | None, unit: float) -> float | None:
    """Round up to a whole ``unit`` (millicores, MiB); None stays None."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return math.ceil(x / unit - 1e-9) * unit


def _fmt_cpu(x: float | None) -> str:
    return "none" if x is None else f"{x * 1000:.0f}m"


def _fmt_mem(x: float | None) -> str:
    return "none" if x is None else f"{x / MIB:.0f}Mi"


def apply_rules(row: dict[str, Any], p: Any) -> dict[str, Any]:
    """The advised requests and limits for one workload container (``row`` has its usage
    statistics and current values; ``p`` the :class:`RightSizingParams`). Returns the advised
    values, flags, status and notes."""
    flags: list[str] = []
    notes: list[str] = []
    enough = max(row["cpu_samples"] or 0, row["memory_samples"] or 0) >= p.min_samples
    cur = {k: row[k] for k in ("cpu_request", "cpu_limit", "memory_request", "memory_limit")}
    if not enough:
        flags.append("little-data")
        return {**{f"{k}_advised": None for k in cur}, "flags": flags, "status": "not enough data",
                "notes": f"fewer than {p.min_samples} samples in the window; nothing advised"}  # fmt: skip

    # -- CPU -----------------------------------------------------------------------------------
    cpu_req = None if row["cpu_request_basis"] is None else max(row["cpu_request_basis"] * p.cpu_request_headroom,
                                                               p.min_cpu)  # fmt: skip
    target = row["hpa_cpu_target_pct"]
    if p.hpa_aware and target and cpu_req is not None and row["cpu_mean"] is not None:
        keep = row["cpu_mean"] / (target / 100.0)
        floor = keep if cur["cpu_request"] is None else min(cur["cpu_request"], keep)
        if cpu_req < floor:
            cpu_req = floor
            flags.append("hpa-floor")
            notes.append(f"an HPA scales on {target:.0f}% CPU of the request: the request stays ≥ {_fmt_cpu(floor)} "
                         "so utilisation at today's mean usage stays at the target (a smaller request would only "
                         "make the HPA add replicas)")  # fmt: skip
    cpu_lim: float | None
    if p.cpu_limit == "none":
        cpu_lim = None
    elif p.cpu_limit == "keep":
        cpu_lim = cur["cpu_limit"]
    else:
        basis = row["cpu_limit_basis"]
        cpu_lim = None if basis is None else max(basis * p.cpu_limit_headroom, cpu_req or 0.0)
    peak = row["startup_cpu_peak"]
    if p.startup_aware and peak is not None and cpu_lim is not None and cpu_lim < peak:
        cpu_lim = peak
        flags.append("startup-peak")
        notes.append(f"CPU limit raised to the start-up peak {_fmt_cpu(peak)} so starts are not throttled")
    thr = row["throttled_pct"]
    if thr is not None and thr > p.throttle_threshold_pct:
        flags.append("throttled")
        if cpu_lim is not None and cur["cpu_limit"] is not None:
            cpu_lim = max(cpu_lim, cur["cpu_limit"] * p.throttle_bump)
        notes.append(f"throttled in {thr:.0f}% of CFS periods (> {p.throttle_threshold_pct:g}%): CPU limit "
                     f"{'raised to ' + _fmt_cpu(_up(cpu_lim, 0.001)) if cpu_lim is not None else 'removed'}")  # fmt: skip

    # -- memory --------------------------------------------------------------------------------
    basis = row["memory_request_basis"]
    mem_req = None if basis is None else max(basis * p.memory_request_headroom, p.min_memory)
    mem_lim = (
        None
        if row["memory_max"] is None
        else max(row["memory_max"] * p.memory_limit_headroom, mem_req or 0.0)
    )
    mtarget = row["hpa_memory_target_pct"]
    if p.hpa_aware and mtarget and mem_req is not None and row["memory_mean"] is not None:
        keep = row["memory_mean"] / (mtarget / 100.0)
        floor = keep if cur["memory_request"] is None else min(cur["memory_request"], keep)
        if mem_req < floor:
            mem_req = floor
            flags.append("hpa-floor")
            notes.append(
                f"an HPA scales on {mtarget:.0f}% memory of the request: the request stays ≥ {_fmt_mem(floor)}"
            )
    mpeak = row["startup_memory_peak"]
    if (
        p.startup_aware
        and mpeak is not None
        and mem_lim is not None
        and mem_lim < mpeak * p.memory_limit_headroom
    ):
        mem_lim = mpeak * p.memory_limit_headroom
        flags.append("startup-peak")
        notes.append(f"memory limit kept above the start-up peak {_fmt_mem(mpeak)}")
    if row["oom_killed"]:
        flags.append("oom-killed")
        base = cur["memory_limit"] or row["memory_max"]
        if base is not None:
            mem_lim = max(mem_lim or 0.0, base * p.oom_bump)
            mem_req = max(mem_req or 0.0, base)
        notes.append(f"OOMKilled: its working set was cut at the limit, so the real need is unknown; limit ≥ "
                     f"{p.oom_bump:g} × {_fmt_mem(base)}, request ≥ {_fmt_mem(base)}")  # fmt: skip
    if (row["restarts"] or 0) > 0 and not row["oom_killed"]:
        flags.append("restarts")

    adv = {"cpu_request_advised": _up(cpu_req, 0.001), "cpu_limit_advised": _up(cpu_lim, 0.001),
           "memory_request_advised": _up(mem_req, MIB), "memory_limit_advised": _up(mem_lim, MIB)}  # fmt: skip
    if cur["cpu_request"] is None or cur["memory_request"] is None:
        flags.append("no-request")
    if cur["cpu_limit"] is None and adv["cpu_limit_advised"] is not None:
        flags.append("no-limit")
    ups, downs = [], []
    for k in ("cpu_request", "memory_request"):
        a, c = adv[f"{k}_advised"], cur[k]
        if a is None or c is None:
            continue
        if a > c * (1 + p.tolerance):
            ups.append(k)
        elif a < c * (1 - p.tolerance):
            downs.append(k)
    if "oom-killed" in flags or "throttled" in flags or ups:
        status = "under-provisioned"
    elif "no-request" in flags:
        status = "no requests"
    elif downs:
        status = "over-provisioned"
    else:
        status = "ok"
    return {**adv, "flags": flags, "status": status, "notes": "; ".join(notes)}
