"""The service map as an ``hv.Graph`` with a deterministic layered layout (bokeh; no widgets).

Layers follow call depth: entry services (no caller) on the left, each callee one layer right
of its deepest caller (edges that close a cycle are ignored for the layering), nodes sorted by
name within a layer. The same map always gets the same picture, so two windows can be compared
side by side. Nodes are coloured by kind (service, database, external) and edges by error
rate; hovering an edge shows calls, errors, error rate and latency, and each edge is labelled
``calls · error % · p99``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh options used below)
import polars as pl

from workbench.analyses.servicemap import ServiceMap

__all__ = ["KIND_COLORS", "layers", "layout", "service_graph"]

KIND_COLORS = {"service": "#1565c0", "database": "#6a1b9a", "external": "#ef6c00"}


def layers(
    nodes: Iterable[str], edges: Iterable[tuple[str, str]], *, entries: Iterable[str] = ()
) -> dict[str, int]:
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
    return _layout(sm)[0]


def _layout(sm: ServiceMap) -> tuple[pl.DataFrame, dict[tuple[str, str], list[tuple[float, float]]]]:
    """Node positions and each edge's path (its end points and a bend in every layer it skips)."""
    names = (
        set(sm.services["service"].to_list())
        | set(sm.edges["caller"].to_list())
        | set(sm.edges["callee"].to_list())
    )
    pairs = list(zip(sm.edges["caller"].to_list(), sm.edges["callee"].to_list(), strict=True))
    # calls a node took from outside the map (root spans): where a cyclic graph should start
    inbound = (
        sm.edges.filter(pl.col("caller") != pl.col("callee")).group_by("callee").agg(pl.col("calls").sum())
    )
    outside = (
        sm.services.join(inbound, left_on="service", right_on="callee", how="left", suffix="_in")
        .with_columns((pl.col("calls") - pl.col("calls_in").fill_null(0)).alias("_out"))
        .filter(pl.col("_out") > 0)
        .sort(["_out", "service"], descending=[True, False])
    )
    depth = layers(names, pairs, entries=outside["service"].to_list())
    # an edge that skips layers gets a bend point in each layer it crosses (Sugiyama's dummy
    # nodes): the bends take a slot in the ordering, so long edges do not run through nodes
    chains: dict[tuple[str, str], list[str]] = {}
    links: list[tuple[str, str]] = []
    for a, b in pairs:
        if a == b:
            continue
        chain = [a]
        if depth[b] - depth[a] > 1:
            for layer in range(depth[a] + 1, depth[b]):
                bend = f"{_BEND}{a}\x00{b}\x00{layer}"
                depth[bend] = layer
                chain.append(bend)
        chain.append(b)
        chains[(a, b)] = chain
        links.extend(zip(chain, chain[1:], strict=False))
    order = _order_layers(depth, links)
    at = {
        n: (float(layer), (len(members) - 1) / 2.0 - i)
        for layer, members in sorted(order.items())
        for i, n in enumerate(members)
    }
    nodes = pl.DataFrame(
        [{"service": n, "x": xy[0], "y": xy[1]} for n, xy in at.items() if not n.startswith(_BEND)],
        schema={"service": pl.String, "x": pl.Float64, "y": pl.Float64},
    )
    return nodes, {edge: [at[n] for n in chain] for edge, chain in chains.items()}


_BEND = "\x00bend\x00"


def _order_layers(
    depth: dict[str, int], links: list[tuple[str, str]], *, sweeps: int = 6
) -> dict[int, list[str]]:
    """The order of the nodes within each layer that crosses the fewest edges found by
    barycentre sweeps: left to right (a node near the mean rank of its callers), then right to
    left (near its callees), keeping the best order seen; ties keep name order."""
    order = {layer: sorted(n for n in depth if depth[n] == layer) for layer in sorted(set(depth.values()))}
    callers: dict[str, list[str]] = {}
    callees: dict[str, list[str]] = {}
    for a, b in links:
        callers.setdefault(b, []).append(a)
        callees.setdefault(a, []).append(b)

    def ranks(o: dict[int, list[str]]) -> dict[str, float]:
        return {n: (len(m) - 1) / 2.0 - i for m in o.values() for i, n in enumerate(m)}

    best, best_cost = {k: list(v) for k, v in order.items()}, _crossings(depth, ranks(order), links)
    layer_ids = sorted(order)
    for sweep in range(sweeps):
        forward = sweep % 2 == 0
        neighbours = callers if forward else callees
        for layer in layer_ids if forward else reversed(layer_ids):
            rank = ranks(order)
            current = {n: i for i, n in enumerate(order[layer])}
            order[layer].sort(
                key=lambda n: (
                    -_mean([rank[c] for c in neighbours.get(n, []) if c in rank], rank[n]),
                    current[n],
                )
            )
        cost = _crossings(depth, ranks(order), links)
        if cost < best_cost:
            best, best_cost = {k: list(v) for k, v in order.items()}, cost
    # then swap pairs within a layer while that removes crossings (small maps only)
    improved = best_cost > 0 and sum(len(m) for m in best.values()) <= 60
    while improved:
        improved = False
        for layer in layer_ids:
            members = best[layer]
            for i in range(len(members)):
                for j in range(i + 1, len(members)):
                    members[i], members[j] = members[j], members[i]
                    cost = _crossings(depth, ranks(best), links)
                    if cost < best_cost:
                        best_cost, improved = cost, True
                    else:
                        members[i], members[j] = members[j], members[i]
    return best


def _crossings(depth: dict[str, int], y: dict[str, float], links: list[tuple[str, str]]) -> int:
    """How many pairs of edges (straight segments) cross, given the nodes' layers and ranks."""
    segs = [((depth[a], y[a]), (depth[b], y[b])) for a, b in links if a in y and b in y]
    if len(segs) > 300:  # a big map: not worth O(n^2) here
        return 0
    count = 0
    points = {(float(depth[n]), y[n]) for n in y}
    for p1, p2 in segs:  # an edge drawn through a node it does not touch hides that node's edges
        lo, hi = sorted((p1, p2))
        for px, py in points:
            if (
                lo[0] < px < hi[0]
                and abs(lo[1] + (px - lo[0]) / (hi[0] - lo[0]) * (hi[1] - lo[1]) - py) < 0.3
            ):
                count += 3
    for i, (p1, p2) in enumerate(segs):
        for p3, p4 in segs[i + 1 :]:
            if {p1, p2} & {p3, p4}:
                continue  # edges sharing a node do not cross
            if _intersect(p1, p2, p3, p4):
                count += 1
    return count


def _intersect(
    p1: tuple[float, float], p2: tuple[float, float], p3: tuple[float, float], p4: tuple[float, float]
) -> bool:
    def orient(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    d1, d2 = orient(p3, p4, p1), orient(p3, p4, p2)
    d3, d4 = orient(p1, p2, p3), orient(p1, p2, p4)
    return d1 * d2 < 0 and d3 * d4 < 0


def _mean(values: list[float], default: float = 0.0) -> float:
    return sum(values) / len(values) if values else default


def _label_spots(paths: list[tuple[list[tuple[float, float]], str]]) -> list[tuple[float, float, str]]:
    """Where each edge's label goes: the middle of its path, or the first point further along
    it (a fifth to four fifths of the way along a segment) that keeps clear of the labels
    already placed and of the nodes, so labels of crossing or parallel edges do not print over
    each other."""
    placed: list[tuple[float, float]] = []
    nodes = {p for path, _ in paths for p in (path[0], path[-1])}
    out = []
    for path, text in sorted(paths, key=lambda p: (p[0][0], p[0][-1], p[1])):
        segments = list(zip(path, path[1:], strict=False))
        middle = len(segments) // 2
        segments = segments[middle:] + segments[:middle][::-1]  # the middle segment first
        spots = [
            (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))
            for a, b in segments
            for t in (0.5, 0.3, 0.7, 0.2, 0.8)
        ]
        choice = next(
            (
                (x, y)
                for x, y in spots
                if all(abs(x - px) > 0.8 or abs(y - py) > 0.2 for px, py in placed)
                and all(abs(x - nx) > 0.2 or abs(y - ny) > 0.25 for nx, ny in nodes)
            ),
            spots[0],
        )
        placed.append(choice)
        out.append((choice[0], choice[1], text))
    return out


def _with_arrowhead(path: list[tuple[float, float]], length: float) -> list[tuple[float, float]]:
    """The path plus an arrowhead at its end (what ``hv.Graph(directed=True)`` draws for
    straight edges but not for edges given as paths)."""
    (sx, sy), (ex, ey) = path[-2] if len(path) > 1 else path[0], path[-1]
    if (sx, sy) == (ex, ey):
        return path
    rad = math.atan2(ey - sy, ex - sx)
    wing0 = (ex - math.cos(rad + math.pi / 8) * length, ey - math.sin(rad + math.pi / 8) * length)
    wing1 = (ex - math.cos(rad - math.pi / 8) * length, ey - math.sin(rad - math.pi / 8) * length)
    return [*path, (math.nan, math.nan), wing0, (ex, ey), wing1]


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
    pos, paths = _layout(sm)
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
    xy = {r[0]: (r[1], r[2]) for r in pos.rows()}
    xs = pos["x"].to_list() or [0.0]
    ys = pos["y"].to_list() or [0.0]
    arrow = 0.02 * math.hypot(max(xs) - min(xs) + 1.0, max(ys) - min(ys) + 1.4)
    edge_paths = [
        _with_arrowhead(paths.get((a, b), [xy[a], xy[b]]), arrow)
        for a, b in edges.select("caller", "callee").rows()
    ]
    graph = hv.Graph(
        (edges.select("caller", "callee", *edge_vdims).to_pandas(), hv_nodes, edge_paths), vdims=edge_vdims
    )
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
        mid = _label_spots(
            [(paths[(a, b)], t) for a, b, t in edges.select("caller", "callee", "text").rows() if a != b]
        )
        if mid:
            parts.append(
                hv.Labels(mid, kdims=["x", "y"], vdims=["text"]).opts(
                    backend="bokeh", text_font_size="7pt", text_color="#455a64", yoffset=0.08
                )
            )
    return hv.Overlay(parts).opts(
        backend="bokeh", title=title, xlim=(min(xs) - 0.5, max(xs) + 0.5), ylim=(min(ys) - 0.7, max(ys) + 0.7)
    )
