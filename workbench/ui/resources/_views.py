"""Naming objects in URLs and the browser's table columns (used by the other pages too)."""

from __future__ import annotations

import datetime as dt
import logging
import weakref
from collections.abc import Iterable
from typing import Any

import panel as pn
import param
import polars as pl

from workbench.errors import WorkbenchError
from workbench.store import to_utc
from workbench.ui.common import PlainText as PlainText  # re-exported for the pages
from workbench.ui.common import format_bytes, format_cores, table_frame, text_table, url_values_refused
from workbench.ui.scope import scope_query

__all__ = [
    "CLUSTER_SCOPED",
    "TABS",
    "URL_PARAMS",
    "object_key",
    "object_link",
    "parse_key",
    "rows_table",
    "set_rows",
    "sync_params",
    "table_view",
]

log = logging.getLogger(__name__)


#: Tab value (as in the URL) → title.
TABS: dict[str, str] = {
    "detail": "Detail",
    "yaml": "YAML",
    "events": "Event",
    "logs": "Log",
    "performance": "Performance",
}
#: Page state kept in the URL besides the scope: parameter → query name.
URL_PARAMS = {"kind": "kind", "selected": "name", "in_cluster": "in_cluster", "tab": "tab", "at": "at"}
CLUSTER_SCOPED = frozenset({"Node", "Namespace"})

_EXTRA: dict[str, list[str]] = {
    "Pod": ["node", "qos_class", "workload", "reason"],
    "Container": ["pod", "image", "last_reason"],
    "Node": ["roles", "internal_ip", "pods", "cpu_pct_allocatable", "memory_pct_allocatable", "taints"],
    "Namespace": ["pods", "problem_pods"],
    **{
        k: ["desired", "available", "updated", "strategy", "images"]
        for k in ("Deployment", "DaemonSet", "StatefulSet")
    },
    "ReplicaSet": ["desired", "available", "owner_name", "images"],
    "Job": ["desired", "succeeded", "failed", "owner_name"],
    "CronJob": ["schedule", "suspend", "current"],
    "Service": ["type", "cluster_ip", "ports", "load_balancer", "pods"],
}
_PCT = ("cpu_pct_request", "cpu_pct_limit", "memory_pct_request", "memory_pct_limit", "cpu_pct_allocatable",
        "memory_pct_allocatable")  # fmt: skip
_TITLES = {"cpu": "CPU used", "memory": "memory used", "cpu_pct_request": "CPU % req", "cpu_pct_limit": "CPU % lim",
           "memory_pct_request": "mem % req", "memory_pct_limit": "mem % lim", "cpu_pct_allocatable": "CPU % alloc",
           "memory_pct_allocatable": "mem % alloc", "owner_name": "owner", "last_reason": "last termination",
           "qos_class": "QoS", "problem_pods": "problem pods"}  # fmt: skip
_LINK_CSS = """
.bk-btn { background: none !important; border: none !important; box-shadow: none !important; color: #326ce5 !important;
          text-decoration: underline; padding: 0 4px !important; font-family: monospace; }
.bk-btn:hover { color: #1a4fb8 !important; }
"""
_MONO = "pre { font-family: 'DejaVu Sans Mono', monospace; font-size: 12px; }"


def object_key(kind: str, namespace: str | None, name: str) -> str:
    """How the page names an object in the URL: ``namespace/name``, or ``name`` for Nodes and
    Namespaces (a container's ``name`` is ``pod/container``)."""
    return name if kind in CLUSTER_SCOPED or not namespace else f"{namespace}/{name}"


def parse_key(kind: str, key: str) -> tuple[str | None, str]:
    """``(namespace, name)`` from :func:`object_key`'s text.

    >>> parse_key("Pod", "shop/cart-0"), parse_key("Node", "n1"), parse_key("Container", "shop/cart-0/cart")
    (('shop', 'cart-0'), (None, 'n1'), ('shop', 'cart-0/cart'))
    """
    if kind in CLUSTER_SCOPED or "/" not in key or (kind == "Container" and key.count("/") < 2):
        return None, key
    namespace, name = key.split("/", 1)
    return namespace, name


def object_link(
    state: param.Parameterized | None, *, kind: str, namespace: str | None, name: str, cluster: str = "",
    tab: str = "detail",
) -> str:  # fmt: skip
    """A relative link to an object's detail on the resource browser, carrying the scope of
    ``state`` (e.g. ``./resources?namespace=shop&kind=Pod&name=shop%2Fcart-0&tab=detail``)."""
    extra = {"kind": kind, "name": object_key(kind, namespace, name), "in_cluster": cluster, "tab": tab}
    return "./resources" + scope_query(state, **extra)


def sync_params(obj: param.Parameterized, mapping: dict[str, str]) -> bool:
    """Like :func:`workbench.ui.common.sync_to_url`, with query names that differ from the
    parameter names (``selected`` → ``name``: ``name`` is every Parameterized's own)."""
    location = pn.state.location
    if location is None or pn.state.curdoc is None or pn.state.curdoc.session_context is None:
        return False
    location.sync(obj, mapping, on_error=url_values_refused(obj, mapping, location))
    return True


_WRAP: weakref.WeakKeyDictionary[pn.widgets.Tabulator, frozenset[str]] = weakref.WeakKeyDictionary()


def rows_table(*, wrap: Iterable[str] = (), **params: Any) -> pn.widgets.Tabulator:
    """An empty :func:`~workbench.ui.common.text_table` to fill later with :func:`set_rows`."""
    table = text_table(pl.DataFrame(), wrap=wrap, **params)
    _WRAP[table] = frozenset(wrap)
    return table


def set_rows(table: pn.widgets.Tabulator, frame: pl.DataFrame) -> None:
    """Show ``frame`` in a table made by :func:`rows_table` (or ``text_table``): the rows and, for
    every text column, the escaping formatter (``plaintext``; ``textarea`` for its wrapped
    columns). Setting ``value`` alone would leave new columns without one."""
    shown = table_frame(frame)
    wrap = _WRAP.get(table, frozenset())
    text = {
        c: ("textarea" if c in wrap else "plaintext")
        for c, dtype in shown.schema.items()
        if dtype == pl.String
    }
    kept = {c: f for c, f in table.formatters.items() if c in shown.columns and c not in text}
    table.param.update(formatters={**kept, **text}, value=shown.to_pandas())


def _pct(frame: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    return frame.with_columns(pl.col(c).round(0) for c in names if c in frame.columns)


def table_view(frame: pl.DataFrame, kind: str, *, clusters: bool) -> pl.DataFrame:
    """The columns the browser shows for ``kind`` (a :func:`workbench.analyses.browser.table` result):
    usage as text with units, percentages rounded."""
    f = frame
    if kind == "Pod":
        f = f.with_columns(
            pl.when(pl.col("workload_name").is_not_null())
            .then(pl.format("{}/{}", "workload_kind", "workload_name"))
            .alias("workload")
        )
    f = f.with_columns(
        pl.Series("cpu", [format_cores(v) if v is not None else "" for v in f["cpu_usage"].to_list()], dtype=pl.String),
        pl.Series("memory", [format_bytes(v) if v is not None else "" for v in f["memory_usage"].to_list()], dtype=pl.String),
    )  # fmt: skip
    cols = ["name", "namespace", "status", "ready", "restarts", "age", "cpu", "cpu_pct_request", "cpu_pct_limit",
            "memory", "memory_pct_request", "memory_pct_limit", *_EXTRA[kind]]  # fmt: skip
    if kind in CLUSTER_SCOPED:
        cols.remove("namespace")
    if clusters:
        cols.insert(0, "cluster")
    return _pct(f.select(cols), list(_PCT))


def _time(text: str) -> dt.datetime | None:
    """``text`` as a UTC time; None when empty or unreadable (a bad ``at`` in a URL)."""
    try:
        return to_utc(text or None)
    except WorkbenchError:
        return None


def _usage(use: float | None, req: float | None, lim: float | None, fmt: Any) -> str:
    return " / ".join(fmt(v) if v is not None else "–" for v in (use, req, lim))
