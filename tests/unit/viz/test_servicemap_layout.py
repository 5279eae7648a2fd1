"""The service map's picture: edges that skip layers bend around the nodes in between, and
the layout avoids crossings a reader would otherwise have to untangle."""

from __future__ import annotations

import math

import holoviews as hv
import polars as pl
import pytest

from workbench.analyses.servicemap import ServiceMap
from workbench.viz import servicemap as sm_viz


def _map(edges: list[tuple[str, str]]) -> ServiceMap:
    names = sorted({n for e in edges for n in e})
    services = pl.DataFrame(
        {
            "service": names,
            "node_kind": ["service"] * len(names),
            "calls": [100] * len(names),
            "errors": [0] * len(names),
            "error_rate": [0.0] * len(names),
            "latency_p50_ms": [1.0] * len(names),
            "latency_p99_ms": [2.0] * len(names),
            "self_ratio": [1.0] * len(names),
        }
    )
    frame = pl.DataFrame(
        {
            "caller": [a for a, _ in edges],
            "callee": [b for _, b in edges],
            "calls": [10] * len(edges),
            "errors": [0] * len(edges),
            "error_rate": [0.0] * len(edges),
            "latency_p50_ms": [1.0] * len(edges),
            "latency_p99_ms": [2.0] * len(edges),
        }
    )
    return ServiceMap(services=services, edges=frame)


# the demo shop's calls: two edges skip a layer (checkout → orders-db, catalogue → orders-db)
SHOP = [
    ("frontend", "catalogue"), ("frontend", "cart"), ("frontend", "checkout"), ("frontend", "recommendation"),
    ("checkout", "cart"), ("checkout", "payment"), ("checkout", "shipping"), ("checkout", "orders-db"),
    ("catalogue", "orders-db"), ("cart", "redis"), ("payment", "payment-gateway"), ("shipping", "orders-db"),
]  # fmt: skip


def _through(path: list[tuple[float, float]], point: tuple[float, float]) -> bool:
    """Whether a straight piece of the path passes within 0.2 of the point (not at its ends)."""
    for (x0, y0), (x1, y1) in zip(path, path[1:], strict=False):
        px, py = point
        if x0 != x1 and min(x0, x1) < px < max(x0, x1):
            y = y0 + (px - x0) / (x1 - x0) * (y1 - y0)
            if abs(y - py) < 0.2:
                return True
    return False


def test_no_edge_is_drawn_through_a_node_it_does_not_touch() -> None:
    sm = _map(SHOP)
    pos, paths = sm_viz._layout(sm)
    xy = {s: (x, y) for s, x, y in pos.rows()}
    for (a, b), path in paths.items():
        assert path[0] == xy[a] and path[-1] == xy[b]
        for n, point in xy.items():
            if n not in (a, b):
                assert not _through(path, point), f"{a} → {b} runs through {n}"


def test_a_chain_with_a_shortcut_has_no_crossings_and_bends_the_shortcut() -> None:
    sm = _map([("a", "b"), ("b", "c"), ("a", "c"), ("a", "d"), ("d", "c")])
    pos, paths = sm_viz._layout(sm)
    assert len(paths[("a", "c")]) == 3  # a bend in the middle layer
    depth = {s: int(x) for s, x, _ in pos.rows()}
    assert (depth["a"], depth["b"], depth["c"]) == (0, 1, 2)


def test_edges_keep_their_arrowheads_and_render() -> None:
    graph = sm_viz.service_graph(_map(SHOP))
    g = graph.get(0)
    assert isinstance(g, hv.Graph)
    for path in g.edgepaths.split(datatype="array"):
        assert any(math.isnan(v) for v in path[:, 0]), "every edge ends in an arrowhead"
    assert hv.render(graph, backend="bokeh") is not None


@pytest.mark.parametrize("n", [3, 8])
def test_edge_labels_do_not_print_over_each_other(n: int) -> None:
    edges = [("root", f"s{i}") for i in range(n)] + [(f"s{i}", "db") for i in range(n)]
    _, paths = sm_viz._layout(_map(edges))
    spots = sm_viz._label_spots([(p, f"{a}-{b}") for (a, b), p in paths.items()])
    for i, (x0, y0, _) in enumerate(spots):
        for x1, y1, _ in spots[i + 1 :]:
            assert abs(x0 - x1) > 0.8 or abs(y0 - y1) > 0.2
