"""The service map as an ``hv.Graph`` with a deterministic layered layout (bokeh; no widgets).

Layers follow call depth: entry services (no caller) on the left, each callee one layer right
of its deepest caller (edges that close a cycle are ignored for the layering), nodes sorted by
name within a layer. The same map always gets the same picture, so two windows can be compared
side by side. Nodes are coloured by kind (service, database, external) and edges by error
rate; hovering an edge shows calls, errors, error rate and latency, and each edge is labelled
``calls · error % · p99``.
"""

from __future__ import annotations

from collections.abc import Iterable

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh options used below)
import polars as pl

from workbench.analyses.servicemap import ServiceMap

__all__ = ["KIND_COLORS", "layers", "layout", "service_graph"]

KIND_COLORS = {"service": "#1565c0", "database": "#6a1b9a", "external": "#ef6c00"}


def layers(nodes: Iterable[str], edges: Iterable[tuple[str, str]], *, entries: Iterable[str] = ()) -> dict[str, int]:
    """Each node's layer: the longest call path to it from an entry node, after dropping the
    edges that close a cycle, found by a depth-first search from the nodes nobody calls, then
    from ``entries`` (nodes called from outside, most important first), then in name order."""
    names = sorted(set(nodes))
    out_edges: dict[str, list[str]] = {n: [] for n in names}
    indeg = dict.fromkeys(names, 0)
    for a, b in sorted(set(edges)):
        if a == b or a not in out_edges or b not in out_edges:
            continue
        out_edges[a].append(b)
        indeg[b] += 1
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    keep: dict[str, list[str]] = {n: [] for n in names}
    roots = [n for n in names if indeg[n] == 0] + [n for n in entries if n in out_edges] + names
    for root in roots:
        if root in state:
            continue
        stack = [(root, iter(out_edges[root]))]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                continue  # a back edge: it closes a cycle
            else:
                keep[node].append(nxt)
                if nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, iter(out_edges[nxt])))
    depth = dict.fromkeys(names, 0)
    order: list[str] = []  # topological order of the acyclic part
    seen: set[str] = set()
    for n in names:
        if n in seen:
            continue
        post, stack2 = [], [(n, iter(keep[n]))]
        seen.add(n)
        while stack2:
            node, it = stack2[-1]
            nxt = next(it, None)
            if nxt is None:
                post.append(node)
                stack2.pop()
            elif nxt not in seen:
                seen.add(nxt)
                stack2.append((nxt, iter(keep[nxt])))
        order.extend(post)
    for node in reversed(order):
        for nxt in keep[node]:
            depth[nxt] = max(depth[nxt], depth[node] + 1)
    return depth


def layout(sm: ServiceMap) -> pl.DataFrame:
    """Node positions: ``service, x, y`` (x = layer, y spread evenly, centred on 0)."""
    names = (
        set(sm.services["service"].to_list())
        | set(sm.edges["caller"].to_list())
        | set(sm.edges["callee"].to_list())
    )
    pairs = list(zip(sm.edges["caller"].to_list(), sm.edges["callee"].to_list(), strict=True))
    # calls a node took from outside the map (root spans): where a cyclic graph should start
    inbound = sm.edges.filter(pl.col("caller") != pl.col("callee")).group_by("callee").agg(pl.col("calls").sum())
    outside = (sm.services.join(inbound, left_on="service", right_on="callee", how="left", suffix="_in")
               .with_columns((pl.col("calls") - pl.col("calls_in").fill_null(0)).alias("_out"))
               .filter(pl.col("_out") > 0).sort(["_out", "service"], descending=[True, False]))
    depth = layers(names, pairs, entries=outside["service"].to_list())
    callers: dict[str, list[str]] = {}
    for a, b in pairs:
        if a != b:
            callers.setdefault(b, []).append(a)
    rank: dict[str, float] = {}
    rows = []
    for layer in sorted(set(depth.values())):
        members = sorted(n for n in depth if depth[n] == layer)
        # barycentre ordering: a node sits near the mean rank of its callers (fewer crossings)
        members.sort(key=lambda n: (_mean([rank[c] for c in callers.get(n, []) if c in rank]), n))
        for i, n in enumerate(members):
            rank[n] = float(i)
            rows.append({"service": n, "x": float(layer), "y": (len(members) - 1) / 2.0 - i})
    return pl.DataFrame(rows, schema={"service": pl.String, "x": pl.Float64, "y": pl.Float64})


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else -1.0


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _ms(x: float | None) -> str:
    return "-" if x is None else (f"{x / 1000:.2f}s" if x >= 1000 else f"{x:.1f}ms")


def service_graph(sm: ServiceMap, *, title: str = "Service map", edge_labels: bool | None = None,
                  height: int = 480) -> hv.Overlay:  # fmt: skip
    """The call graph: ``hv.Graph`` (nodes and edges with hover) plus node name labels and,
    with ``edge_labels`` (by default when there are at most 20 edges), ``calls · error % · p99``
    at each edge's middle."""
    if edge_labels is None:
        edge_labels = sm.edges.height <= 20
    pos = layout(sm)
    nodes = pos.join(sm.services, on="service", how="left").with_columns(
        pl.col("node_kind").fill_null("service"),
        pl.col("calls").fill_null(0),
        pl.col("error_rate").fill_null(0.0),
    )
    nodes = nodes.with_columns(
        pl.col("node_kind").replace_strict(KIND_COLORS, default="#546e7a").alias("color")
    )
    node_vdims = ["node_kind", "calls", "error_rate", "latency_p99_ms", "self_ratio", "color"]
    hv_nodes = hv.Nodes(
        nodes.select("x", "y", "service", *node_vdims).to_pandas(),
        kdims=["x", "y", "service"],
        vdims=node_vdims,
    )
    edges = sm.edges.with_columns(
        pl.col("error_rate").fill_null(0.0),
        (1.0 + pl.col("calls").cast(pl.Float64).log10().clip(lower_bound=0)).alias("width"),
        pl.struct("calls", "error_rate", "latency_p99_ms")
        .map_elements(
            lambda r: f"{r['calls']} · {_pct(r['error_rate'])} · p99 {_ms(r['latency_p99_ms'])}",
            return_dtype=pl.String,
        )
        .alias("text"),
    )
    edge_vdims = ["calls", "errors", "error_rate", "latency_p50_ms", "latency_p99_ms", "width", "text"]
    graph = hv.Graph((edges.select("caller", "callee", *edge_vdims).to_pandas(), hv_nodes), vdims=edge_vdims)
    graph = graph.opts(
        backend="bokeh",
        node_color="color",
        node_size=22,
        edge_color="error_rate",
        edge_cmap="RdYlGn_r",
        edge_line_width="width",
        edge_alpha=0.8,
        clim=(0.0, max(0.05, float(edges["error_rate"].max() or 0.0))),
        inspection_policy="edges",
        tools=["hover", "tap"],
        directed=True,
        arrowhead_length=0.02,
        xaxis=None,
        yaxis=None,
        responsive=True,
        min_width=400,
        height=height,
    )
    labels = hv.Labels(
        nodes.select("x", "y", "service").to_pandas(), kdims=["x", "y"], vdims=["service"]
    ).opts(backend="bokeh", text_font_size="9pt", yoffset=-0.22, text_color="#263238")
    parts = [graph, labels]
    if edge_labels and edges.height:
        xy = {r[0]: (r[1], r[2]) for r in pos.rows()}
        mid = [
            ((xy[a][0] + xy[b][0]) / 2, (xy[a][1] + xy[b][1]) / 2, t)
            for a, b, t in edges.select("caller", "callee", "text").rows()
            if a != b
        ]
        if mid:
            parts.append(
                hv.Labels(mid, kdims=["x", "y"], vdims=["text"]).opts(
                    backend="bokeh", text_font_size="7pt", text_color="#455a64", yoffset=0.08
                )
            )
    xs = pos["x"].to_list() or [0.0]
    ys = pos["y"].to_list() or [0.0]
    return hv.Overlay(parts).opts(
        backend="bokeh", title=title, xlim=(min(xs) - 0.5, max(xs) + 0.5), ylim=(min(ys) - 0.7, max(ys) + 0.7)
    )
