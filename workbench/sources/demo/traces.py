"""Spans of the shop's requests, following OpenTelemetry conventions: a SERVER span per service
hop, a CLIENT span in the caller for each outgoing call, database CLIENT spans (``db_system``
``postgresql`` / ``redis``) and a CLIENT span to the external payment gateway (``peer_service``).

Arrivals follow the daily traffic shape; self times are log-normal with a long tail; errors are
rare (0.1–1 %) except where an incident says otherwise. Each span carries the namespace, pod and
node of the pod that served it, chosen among the pods Ready at that moment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from workbench.schema import SCHEMAS
from workbench.sources.demo.ids import Ids
from workbench.sources.demo.model import PodLife
from workbench.sources.demo.plan import Plan
from workbench.sources.demo.traffic import BASE_RPS, flavour, load_factor

#: The error the bad ``checkout`` release fails with (in its spans and its logs).
ROLLOUT_ERROR = "failed to apply promotion: PromoEngine.Apply: nil pointer dereference"

__all__ = ["ENDPOINTS", "ROLLOUT_ERROR", "part_spans"]


@dataclass(frozen=True)
class Hop:
    """One span of an endpoint's call tree."""

    service: str
    kind: str  # SERVER | CLIENT
    op: str
    parent: int  # index of the parent hop, -1 for the root
    method: str | None = None
    route: str | None = None
    db: str | None = None
    peer: str | None = None
    self_ms: float = 1.0  # median self time
    err: float = 0.001  # chance the hop fails on its own


def _call(tree: list[Hop], parent: int, caller: str, callee: str, method: str, route: str, self_ms: float,
          err: float = 0.001) -> int:  # fmt: skip
    tree.append(
        Hop(caller, "CLIENT", f"{method} {route}", parent, method, route, peer=callee, self_ms=0.6, err=0.0)
    )
    tree.append(
        Hop(callee, "SERVER", f"{method} {route}", len(tree) - 1, method, route, self_ms=self_ms, err=err)
    )
    return len(tree) - 1


def _db(tree: list[Hop], parent: int, caller: str, system: str, op: str, ms: float) -> None:
    peer = "orders-db" if system == "postgresql" else "redis"
    tree.append(Hop(caller, "CLIENT", op, parent, db=system, peer=peer, self_ms=ms, err=0.0005))


def _endpoints() -> dict[str, tuple[float, list[Hop]]]:
    out: dict[str, tuple[float, list[Hop]]] = {}
    t: list[Hop] = [Hop("frontend", "SERVER", "GET /", -1, "GET", "/", self_ms=6.0, err=0.0008)]
    c = _call(t, 0, "frontend", "catalogue", "GET", "/products", 4.0)
    _db(t, c, "catalogue", "postgresql", "SELECT products", 3.5)
    _call(t, 0, "frontend", "recommendation", "GET", "/recommendations", 14.0, err=0.002)
    out["home"] = (0.30, t)
    t = [Hop("frontend", "SERVER", "GET /product/{id}", -1, "GET", "/product/{id}", self_ms=5.0, err=0.0008)]
    c = _call(t, 0, "frontend", "catalogue", "GET", "/products/{id}", 3.0)
    _db(t, c, "catalogue", "postgresql", "SELECT products", 2.2)
    _call(t, 0, "frontend", "recommendation", "GET", "/recommendations", 12.0, err=0.002)
    out["product"] = (0.35, t)
    t = [Hop("frontend", "SERVER", "POST /cart", -1, "POST", "/cart", self_ms=4.0, err=0.001)]
    c = _call(t, 0, "frontend", "cart", "POST", "/cart/items", 2.5)
    _db(t, c, "cart", "redis", "HSET", 0.6)
    out["add_to_cart"] = (0.15, t)
    t = [Hop("frontend", "SERVER", "GET /cart", -1, "GET", "/cart", self_ms=3.5, err=0.0008)]
    c = _call(t, 0, "frontend", "cart", "GET", "/cart", 2.0)
    _db(t, c, "cart", "redis", "HGETALL", 0.5)
    out["view_cart"] = (0.10, t)
    t = [Hop("frontend", "SERVER", "POST /checkout", -1, "POST", "/checkout", self_ms=5.0, err=0.001)]
    co = _call(t, 0, "frontend", "checkout", "POST", "/checkout", 9.0, err=0.002)
    c = _call(t, co, "checkout", "cart", "GET", "/cart", 2.0)
    _db(t, c, "cart", "redis", "HGETALL", 0.5)
    p = _call(t, co, "checkout", "payment", "POST", "/charge", 6.0, err=0.002)
    t.append(Hop("payment", "CLIENT", "POST /v1/charges", p, "POST", "/v1/charges", peer="payment-gateway",
                 self_ms=140.0, err=0.004))  # fmt: skip
    s = _call(t, co, "checkout", "shipping", "POST", "/shipments", 5.0)
    _db(t, s, "shipping", "postgresql", "INSERT shipments", 4.0)
    _db(t, co, "checkout", "postgresql", "INSERT orders", 5.5)
    out["checkout"] = (0.10, t)
    return out


ENDPOINTS = _endpoints()


def _serving_index(plan: Plan, part: int) -> dict[str, list[tuple[PodLife, np.ndarray]]]:
    """service -> [(pod, intervals as seconds after the window start)]."""
    out: dict[str, list[tuple[PodLife, np.ndarray]]] = {}
    for pod in plan.parts[part].pods:
        spans = pod.serving(plan.end)
        if spans and pod.app.service:
            arr = np.array(
                [[(a - plan.start).total_seconds(), (b - plan.start).total_seconds()] for a, b in spans]
            )
            out.setdefault(pod.app.name, []).append((pod, arr))
    return out


def _choose(rng: np.random.Generator, pods: list[tuple[PodLife, np.ndarray]], t: np.ndarray) -> np.ndarray:
    """For each time, the index of a Ready pod chosen at random (-1: none is Ready)."""
    if not pods:
        return np.full(t.shape, -1)
    ok = np.zeros((t.size, len(pods)), dtype=bool)
    for j, (_, iv) in enumerate(pods):
        for a, b in iv:
            ok[:, j] |= (t >= a) & (t < b)
    score = np.where(ok, rng.random(ok.shape) + 0.01, 0.0)
    pick = np.argmax(score, axis=1)
    return np.where(ok.any(axis=1), pick, -1)


def _factor(pod: PodLife, t: np.ndarray, start: dt.datetime,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """(latency multiplier, added milliseconds, extra error chance) for spans a pod serves at ``t``."""
    slow, add, err = np.ones(t.shape), np.zeros(t.shape), np.zeros(t.shape)
    b = pod.behaviour
    if "bad" in b:  # the new release retries its promotion engine: slower and failing
        after = t >= (b["bad"] - start).total_seconds()
        slow[after] *= 3.2
        add[after] += 180.0 * rng.lognormal(0.0, 0.4, int(after.sum()))
        err[after] += 0.07
    if "neighbour" in b:
        a, z = ((x - start).total_seconds() for x in b["neighbour"])
        slow[(t >= a) & (t < z)] *= 1.5
    if "jvm" in b:
        r = (b["jvm"]["ready"] - start).total_seconds()
        warm = (t >= r) & (t < r + 180)
        slow[warm] *= 1.0 + 1.5 * np.exp(-(t[warm] - r) / 90.0)
    return slow, add, err


def _hex(rng: np.random.Generator, n: int, length: int) -> list[str]:
    text = rng.bytes(n * length // 2).hex()
    return [text[i * length : (i + 1) * length] for i in range(n)]


def part_spans(ids: Ids, plan: Plan, part: int, c0: dt.datetime, c1: dt.datetime) -> pl.DataFrame:
    """Every span of the traces that start in ``[c0, c1)`` in one part's shop."""
    index = _serving_index(plan, part)
    if "frontend" not in index:
        return pl.DataFrame(schema=SCHEMAS["spans"])
    rng = ids.rng("spans", plan.cluster.name, part, int(c0.timestamp()))
    lo, hi = (c0 - plan.start).total_seconds(), (c1 - plan.start).total_seconds()
    secs = np.arange(np.floor(lo), np.ceil(hi))
    rate = BASE_RPS[flavour(plan.cluster.name)] * load_factor(
        plan.cluster.name, secs, epoch=plan.start.timestamp()
    )
    counts = rng.poisson(rate)
    arrivals = np.repeat(secs, counts) + rng.random(int(counts.sum()))
    arrivals = np.sort(arrivals[(arrivals >= lo) & (arrivals < hi)])
    names = list(ENDPOINTS)
    weights = np.array([ENDPOINTS[n][0] for n in names])
    which = rng.choice(len(names), size=arrivals.size, p=weights / weights.sum())
    frames = [_endpoint_spans(rng, plan, part, index, ENDPOINTS[n][1], arrivals[which == i])
              for i, n in enumerate(names) if (which == i).any()]  # fmt: skip
    frames = [f for f in frames if f.height]
    if not frames:
        return pl.DataFrame(schema=SCHEMAS["spans"])
    return pl.concat(frames).sort("start")


def _endpoint_spans(rng: np.random.Generator, plan: Plan, part: int, index: dict, tree: list[Hop],
                    t0: np.ndarray) -> pl.DataFrame:  # fmt: skip
    n, h = t0.size, len(tree)
    start = plan.start
    children: list[list[int]] = [[] for _ in range(h)]
    for i, hop in enumerate(tree):
        if hop.parent >= 0:
            children[hop.parent].append(i)
    # self times: log-normal body with a 3 % long tail
    self_ms = np.empty((h, n))
    for i, hop in enumerate(tree):
        body = hop.self_ms * rng.lognormal(0.0, 0.35, n)
        tail = rng.random(n) < 0.03
        self_ms[i] = np.where(tail, body * rng.uniform(3.0, 12.0, n), body)
    err = np.array([rng.random(n) < hop.err for hop in tree])
    pod_of = np.full((h, n), -1)
    dropped = np.zeros((h, n), dtype=bool)
    approx_start = t0  # serving pods are chosen at the trace's start (requests last well under a second)
    for i, hop in enumerate(tree):
        if hop.kind == "SERVER":
            pods = index.get(hop.service, [])
            pod_of[i] = _choose(rng, pods, approx_start)
            gone = pod_of[i] < 0
            parent_drop = dropped[hop.parent] if hop.parent >= 0 else np.zeros(n, dtype=bool)
            dropped[i] = gone | parent_drop
            for j, (pod, _) in enumerate(pods):
                sel = pod_of[i] == j
                if sel.any():
                    slow, add, extra = _factor(pod, approx_start[sel], start, rng)
                    self_ms[i, sel] = self_ms[i, sel] * slow + add
                    err[i, sel] |= rng.random(int(sel.sum())) < extra
        else:
            pod_of[i] = pod_of[hop.parent]
            dropped[i] = dropped[hop.parent]
    keep_trace = ~dropped[0]
    # a CLIENT whose callee has no Ready pod fails fast with 503
    refused = np.zeros((h, n), dtype=bool)
    for i, hop in enumerate(tree):
        if hop.kind == "CLIENT" and children[i]:
            refused[i] = dropped[children[i][0]] & ~dropped[i]
    dur = np.zeros((h, n))
    for i in reversed(range(h)):
        kids = children[i]
        kid_total = sum((np.where(dropped[k], 0.0, dur[k]) for k in kids), np.zeros(n))
        dur[i] = np.where(refused[i], 1.5, self_ms[i] + kid_total)
        for k in kids:
            err[i] |= err[k] & ~dropped[k] & (rng.random(n) < (1.0 if tree[i].kind == "CLIENT" else 0.85))
        err[i] |= refused[i]
    begin = np.zeros((h, n))
    begin[0] = t0
    for i in range(h):
        offset = begin[i] + (0.3 * self_ms[i] if tree[i].kind == "SERVER" else 0.25 * self_ms[i]) / 1000.0
        for k in children[i]:
            begin[k] = offset
            offset = offset + np.where(dropped[k], 0.0, dur[k]) / 1000.0 + 0.0002
    trace_ids = np.array(_hex(rng, n, 32), dtype=object)
    span_ids = np.array(_hex(rng, n * h, 16), dtype=object).reshape(h, n)
    parts = []
    for i, hop in enumerate(tree):
        keep = keep_trace & ~dropped[i]
        if not keep.any():
            continue
        pods = index.get(hop.service if hop.kind == "SERVER" else tree[hop.parent].service, [])
        names = np.array([p.name for p, _ in pods] + [None], dtype=object)
        nodes = np.array([p.node for p, _ in pods] + [None], dtype=object)
        pk = pod_of[i][keep]
        n_keep = int(keep.sum())
        code = np.zeros(n_keep, dtype=np.int32)  # 0: no HTTP status (made null below)
        if hop.method:
            code = np.where(
                err[i][keep], np.where(refused[i][keep], 503, 500), 200 if hop.method == "GET" else 201
            )
        parent = span_ids[hop.parent][keep] if hop.parent >= 0 else np.full(n_keep, None, dtype=object)
        start_us = (begin[i][keep] * 1e6).astype(np.int64) + int(start.timestamp() * 1e6)
        dur_us = np.maximum((dur[i][keep] * 1000).astype(np.int64), 1)
        parts.append(pl.DataFrame({
            "hop": np.full(n_keep, i, dtype=np.uint32), "trace_id": trace_ids[keep], "span_id": span_ids[i][keep],
            "parent_id": parent, "start_us": start_us, "duration_us": dur_us, "error": err[i][keep],
            "http_status_code": code.astype(np.int32), "pod": names[pk], "node": nodes[pk],
        }, schema_overrides={"parent_id": pl.String, "pod": pl.String, "node": pl.String}))  # fmt: skip
    if not parts:
        return pl.DataFrame(schema=SCHEMAS["spans"])
    df = pl.concat(parts)
    # the hop's own attributes, gathered by hop index (one column each, not one per hop)
    hops = pl.DataFrame({
        "service": [h.service for h in tree], "operation": [h.op for h in tree], "kind": [h.kind for h in tree],
        "http_method": [h.method for h in tree], "http_route": [h.route if h.kind == "SERVER" else None for h in tree],
        "peer_service": [h.peer if h.kind == "CLIENT" else None for h in tree], "db_system": [h.db for h in tree],
    }, schema=dict.fromkeys(("service", "operation", "kind", "http_method", "http_route", "peer_service", "db_system"),
                            pl.String))  # fmt: skip
    idx = df.get_column("hop")
    df = df.with_columns(
        *(hops.get_column(c).gather(idx) for c in hops.columns),
        pl.when(pl.col("http_status_code") > 0).then(pl.col("http_status_code")).alias("http_status_code"),
    ).drop("hop")
    ns = next(p.namespace for lst in index.values() for p, _ in lst)
    bad = sorted({p.name for lst in index.values() for p, _ in lst if "bad" in p.behaviour})
    return _finish(df, plan.cluster.name, ns, bad)


def _finish(df: pl.DataFrame, cluster: str, namespace: str | None, bad: list[str]) -> pl.DataFrame:
    ts = pl.Datetime("us", "UTC")
    err = pl.col("error")
    rollout = (
        err & (pl.col("kind") == "SERVER") & pl.col("pod").is_in(bad) & (pl.col("http_status_code") == 500)
    )
    msg = (pl.when(rollout).then(pl.lit(ROLLOUT_ERROR)).when(err & (pl.col("http_status_code") == 503)).then(pl.lit("upstream connect error or disconnect/reset "
           "before headers. reset reason: connection failure")).when(err & pl.col("db_system").is_not_null())
           .then(pl.lit("context deadline exceeded")).when(err & pl.col("peer_service").eq("payment-gateway"))
           .then(pl.lit("gateway timeout from api.paygate.example.com")).when(err)
           .then(pl.format("HTTP {}", pl.col("http_status_code"))).otherwise(None))  # fmt: skip
    attrs = pl.struct(
        pl.col("service").alias("service.name"),
        pl.lit(namespace).alias("k8s.namespace.name"),
        pl.col("pod").alias("k8s.pod.name"),
        pl.col("node").alias("k8s.node.name"),
        pl.when(pl.col("kind") == "SERVER").then(pl.col("http_route").str.replace(r"\{id\}", "1042")).alias("url.path"),
        pl.when(pl.col("peer_service") == "payment-gateway").then(pl.lit("api.paygate.example.com"))
        .when(pl.col("kind") == "CLIENT").then(pl.col("peer_service")).alias("server.address"),
    ).struct.json_encode()  # fmt: skip
    return df.select(
        pl.lit(cluster).alias("cluster"), "trace_id", "span_id", "parent_id", "service", "operation",
        pl.col("kind").cast(SCHEMAS["spans"]["kind"]),
        pl.col("start_us").cast(ts).alias("start"),
        (pl.col("start_us") + pl.col("duration_us")).cast(ts).alias("end"),
        "duration_us",
        pl.when(err).then(pl.lit("ERROR")).otherwise(pl.lit("UNSET")).cast(SCHEMAS["spans"]["status"]).alias("status"),
        "error", msg.alias("status_message"), "http_method", "http_route", "http_status_code", "peer_service",
        "db_system", pl.lit(namespace).alias("namespace"), "pod", "node", attrs.alias("attributes"),
    )  # fmt: skip
