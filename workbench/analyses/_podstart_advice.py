"""Start-up advice from the pod start analysis (see :func:`advice`); re-exported by
:mod:`workbench.analyses.podstart`."""

from __future__ import annotations

import polars as pl

from workbench.analyses.params import Finding

__all__ = ["ADVICE_COLUMNS", "CPU_AT_LIMIT", "MEMORY_AT_LIMIT", "PEAK_OVER_REQUEST", "advice", "findings"]

ADVICE_COLUMNS: dict[str, pl.DataType] = {
    "cluster": pl.String(),
    "namespace": pl.String(),
    "pod": pl.String(),
    "workload_name": pl.String(),
    "resource": pl.String(),
    "issue": pl.String(),
    "severity": pl.String(),
    "value": pl.Float64(),
    "reference": pl.Float64(),
    "message": pl.String(),
}

#: A start-up CPU peak at or above this share of the CPU limit means the start was throttled.
CPU_AT_LIMIT = 0.95
#: A start-up memory peak at or above this share of the memory limit risks an OOM kill.
MEMORY_AT_LIMIT = 0.90
#: A start-up CPU peak above the request by this factor is worth knowing when sizing requests.
PEAK_OVER_REQUEST = 1.2
#: Waiting longer than this (seconds) for scheduling or image pulls is reported.
SLOW_PENDING_S = 60.0


def _m(cores: float) -> str:
    return f"{cores * 1000:.0f}m"


def _mi(b: float) -> str:
    return f"{b / 2**20:.0f}Mi"


def advice(starts: pl.DataFrame, *, window_s: float = 300.0) -> pl.DataFrame:
    """Start-up advice per pod (:data:`ADVICE_COLUMNS`), from :data:`podstart.START_COLUMNS` rows.

    ``issue`` is one of:

    - ``cpu_at_limit`` (warning): the CPU peak before stable running reached
      :data:`CPU_AT_LIMIT` of the limit: the start was throttled; raise the limit (or accept a
      slower start).
    - ``cpu_peak_above_request`` (info): the peak was more than :data:`PEAK_OVER_REQUEST` × the
      request: the scheduler only reserves the request, so on a busy node the start is slower.
    - ``memory_at_limit`` (critical): the memory peak reached :data:`MEMORY_AT_LIMIT` of the
      limit: OOM-kill risk at every start.
    - ``memory_peak_above_request`` (info): eviction risk under node memory pressure.
    - ``slow_warmup`` (info): CPU took longer than ``window_s`` to settle; probes must allow it.
    - ``not_settled`` (info): CPU never settled in the data.
    - ``slow_scheduling`` / ``slow_image_pull`` (info): more than :data:`SLOW_PENDING_S` s.
    """
    rows = []
    for s in starts.iter_rows(named=True):
        base = {"cluster": s["cluster"], "namespace": s["namespace"], "pod": s["pod"],
                "workload_name": s["workload_name"]}  # fmt: skip

        def add(resource: str, issue: str, severity: str, value: float | None, ref: float | None, msg: str,
                base: dict = base) -> None:  # fmt: skip
            rows.append({**base, "resource": resource, "issue": issue, "severity": severity, "value": value,
                         "reference": ref, "message": msg})  # fmt: skip

        cpu, req, lim = s["cpu_peak_cores"], s["cpu_request"], s["cpu_limit"]
        if cpu is not None and lim and cpu >= CPU_AT_LIMIT * lim:
            add("cpu", "cpu_at_limit", "warning", cpu, lim,
                f"CPU reached {cpu / lim:.0%} of its limit ({_m(cpu)} of {_m(lim)}) during start-up: the start "
                "is throttled; raise the CPU limit or accept a slower start")  # fmt: skip
        if cpu is not None and req and cpu > PEAK_OVER_REQUEST * req:
            add("cpu", "cpu_peak_above_request", "info", cpu, req,
                f"start-up CPU peak {_m(cpu)} is {cpu / req:.1f}× the request {_m(req)}: only the request is "
                "reserved, so on a busy node the start is slower; size the request for it or stagger rollouts")  # fmt: skip
        mem, mreq, mlim = s["memory_peak_bytes"], s["memory_request"], s["memory_limit"]
        if mem is not None and mlim and mem >= MEMORY_AT_LIMIT * mlim:
            add("memory", "memory_at_limit", "critical", mem, float(mlim),
                f"memory reached {mem / mlim:.0%} of its limit ({_mi(mem)} of {_mi(mlim)}) during start-up: "
                "OOM-kill risk at every start; raise the memory limit")  # fmt: skip
        elif mem is not None and mreq and mem > mreq:
            add("memory", "memory_peak_above_request", "info", mem, float(mreq),
                f"start-up memory {_mi(mem)} is above the request {_mi(mreq)}: the pod can be evicted first "
                "when the node runs short of memory")  # fmt: skip
        if s["warmup_s"] is not None and s["warmup_s"] > window_s:
            add("cpu", "slow_warmup", "info", s["warmup_s"], window_s,
                f"CPU took {s['warmup_s']:.0f} s after Running to settle: readiness and startup probes must "
                "allow for it, and an autoscaler adds capacity that late")  # fmt: skip
        if s["running"] is not None and not s["settled"]:
            add(
                "cpu",
                "not_settled",
                "info",
                None,
                None,
                "CPU did not settle below its start-up average in the data",
            )
        for col, issue, what in (("scheduling_s", "slow_scheduling", "for a node"),
                                 ("image_pull_s", "slow_image_pull", "for image pulls")):  # fmt: skip
            v = s[col]
            if v is not None and v > SLOW_PENDING_S:
                add("pod", issue, "info", v, SLOW_PENDING_S, f"waited {v:.0f} s {what} before starting")
    if not rows:
        return pl.DataFrame(schema=ADVICE_COLUMNS)
    return pl.DataFrame(rows, schema=ADVICE_COLUMNS)


def findings(tips: pl.DataFrame) -> list[Finding]:
    """Warnings and critical advice as findings (info stays in the advice table)."""
    return [
        Finding(
            severity=r["severity"],
            title=f"{r['pod']}: {r['issue'].replace('_', ' ')}",
            detail=r["message"],
            cluster=r["cluster"],
            namespace=r["namespace"],
            kind="Pod",
            name=r["pod"],
        )  # fmt: skip
        for r in tips.filter(pl.col("severity").is_in(["warning", "critical"])).iter_rows(named=True)
    ]
