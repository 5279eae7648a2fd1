"""The contents of the detail's tabs, built from a :class:`workbench.analyses.browser.Detail`.

Cluster text goes into :func:`~workbench.ui.common.text_table` (escaping formatters) or
:class:`panel.pane.Str`; the only HTML here is fixed headings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import panel as pn
import polars as pl
from bokeh.models.widgets.tables import NumberFormatter

from workbench.analyses import browser
from workbench.store import Dataset
from workbench.ui.common import format_bytes, format_cores, format_time, text_table
from workbench.ui.resources._views import (
    _PCT,
    _TITLES,
    CLUSTER_SCOPED,
    PlainText,
    _usage,
    object_key,
    table_view,
)
from workbench.viz.podview import performance_chart

__all__ = ["detail_pane", "events_pane", "link_rows", "logs_pane", "performance_pane", "services_of"]

#: A link: (text, kind, namespace, name).
Link = tuple[str, str, str | None, str]


def _heading(text: str) -> pn.pane.Markdown:
    return pn.pane.Markdown(f"**{text}**", margin=(10, 10, 0, 10))  # fixed text, never cluster strings


def events_pane(d: browser.Detail) -> pn.viewable.Viewable:
    """The Event tab: events about the object (and what it runs), newest first."""
    key = object_key(d.kind, d.namespace, d.name)
    if d.events.is_empty():
        runs = " or what it runs" if d.kind not in CLUSTER_SCOPED else ""
        return PlainText(
            f"No events about {d.kind} {key}{runs} up to {format_time(d.at)}. Events expire from the API after "
            "about an hour: only a snapshot that watched them keeps them."
        )
    view = d.events.select(
        pl.coalesce("last_time", "first_time", "observed_at").alias("last seen"), "type", "reason",
        pl.format("{}/{}", pl.col("involved_kind").fill_null("?"), "involved_name").alias("object"),
        "message", "count", "source",
    ).sort("last seen", descending=True, nulls_last=True)  # fmt: skip
    return text_table(view, wrap=("message",), widths={"message": 560}, pagination="local", page_size=20,
                      css_classes=["wb-events"])  # fmt: skip


def logs_pane(d: browser.Detail) -> pn.viewable.Viewable:
    """The Log tab: the last lines of its pods, newest first."""
    if d.logs.is_empty():
        key = object_key(d.kind, d.namespace, d.name)
        return PlainText(
            f"No log lines of {key}'s pods up to {format_time(d.at)}: the snapshot holds none for them."
        )
    view = d.logs.select("ts", "pod", "container", "level", "message").sort("ts", descending=True)
    return text_table(view, wrap=("message",), widths={"message": 700}, pagination="local", page_size=25,
                      css_classes=["wb-logs"])  # fmt: skip


def performance_pane(d: browser.Detail) -> list[Any]:
    """The Performance tab: CPU and memory per minute against request and limit."""
    if d.performance.is_empty():
        key = object_key(d.kind, d.namespace, d.name)
        return [PlainText(f"No CPU or memory samples of {key}'s pods in the snapshot.")]
    return [
        PlainText("Usage per minute (sum over its pods) against the request (dashed) and limit (dotted)."),
        pn.pane.HoloViews(performance_chart(d.performance), sizing_mode="stretch_width", linked_axes=False),
    ]


def services_of(ds: Dataset, d: browser.Detail) -> list[str]:
    """The Services that select any pod of a workload."""
    if d.kind not in browser.WORKLOAD_KINDS or d.pods.is_empty():
        return []
    services = ds.services(cluster=d.cluster, namespace=d.namespace)
    names = d.pods["name"].to_list()
    hit = services.filter(pl.col("pods").list.eval(pl.element().is_in(names)).list.any())
    return sorted(hit["name"].to_list())


def link_rows(d: browser.Detail, services: list[str]) -> list[tuple[str, list[Link]]]:
    """The objects this one is tied to, as (label, links): owner chain, pod, node, services,
    workloads, namespace."""
    rows: list[tuple[str, list[Link]]] = []
    chain = d.field("Owner chain")
    if chain:
        owners = [p.partition("/") for p in chain.split(" › ")]
        rows.append(("Owner chain", [(f"{k}/{n}", k, d.namespace, n) for k, _, n in owners
                                     if k in browser.KINDS and (k, n) != (d.kind, d.name)]))  # fmt: skip
    if d.kind == "Container" and d.field("Pod"):
        pod = str(d.field("Pod"))
        rows.append(("Pod", [(pod, "Pod", d.namespace, pod)]))
    if d.kind == "Pod" and d.field("Node"):
        node = str(d.field("Node"))
        rows.append(("Node", [(node, "Node", None, node)]))
    rows.append(("Services", [(s, "Service", d.namespace, s) for s in services if s]))
    if d.kind in ("Service", "Node", "Namespace") and not d.pods.is_empty():
        found = d.pods.filter(pl.col("workload_name").is_not_null()).select(
            "namespace", "workload_kind", "workload_name"
        )
        found = found.unique().sort("workload_kind", "workload_name")
        rows.append(
            ("Workloads", [(f"{k}/{n}", k, ns, n) for ns, k, n in found.iter_rows() if k in browser.KINDS])
        )
    if d.namespace and d.kind != "Namespace":
        rows.append(("Namespace", [(d.namespace, "Namespace", None, d.namespace)]))
    return [(label, items) for label, items in rows if items]


def _containers(d: browser.Detail) -> pn.widgets.Tabulator:
    rows = [
        {"container": ("init:" if r["is_init"] else "") + r["name"], "image": r["image"], "state": r["status"],
         "ready": r["ready"], "restarts": r["restarts"], "age": r["age"],
         "CPU used / req / lim": _usage(r["cpu_usage"], r["cpu_request"], r["cpu_limit"], format_cores),
         "memory used / req / lim": _usage(r["memory_usage"], r["memory_request"], r["memory_limit"], format_bytes),
         "last termination": r["last_reason"], "exit code": r["last_exit_code"], "finished": r["last_finished_at"],
         "message": r["message"]}
        for r in d.containers.iter_rows(named=True)
    ]  # fmt: skip
    return text_table(pl.DataFrame(rows), wrap=("message",), css_classes=["wb-containers"])


def detail_pane(
    d: browser.Detail,
    *,
    links: list[tuple[str, list[Link]]],
    make_link: Callable[[str, str, str | None, str], pn.widgets.Button],
    open_pod: Callable[[str, str], None],
) -> list[Any]:
    """The Detail tab: links, the error reason, the field/value rows, containers, pods, ports.
    ``make_link(text, kind, namespace, name)`` makes a link; ``open_pod(namespace, name)`` is
    what clicking a row of the pod list does."""
    lines = [
        pn.Row(PlainText(f"{label}:", width=110, margin=(6, 5)), *(make_link(*item) for item in items),
               sizing_mode="stretch_width")
        for label, items in links
    ]  # fmt: skip
    out: list[Any] = [pn.Column(*lines, sizing_mode="stretch_width", css_classes=["wb-links"])]
    if d.error:
        out.append(PlainText(f"Error reason: {d.error}", css_classes=["wb-error"],
                               styles={"color": "#c62828", "font-weight": "600", "white-space": "pre-wrap"}))  # fmt: skip
    out.append(text_table(d.info.drop_nulls("value"), wrap=("value",), widths={"field": 170, "value": 900},
                          page_size=50, css_classes=["wb-info"]))  # fmt: skip
    if not d.containers.is_empty():
        out += [_heading("Containers"), _containers(d)]
    if d.kind not in ("Pod", "Container") and not d.pods.is_empty():
        pods = d.pods
        table = text_table(table_view(pods, "Pod", clusters=False), pagination="local", page_size=15,
                           css_classes=["wb-detail-pods"])  # fmt: skip
        table.formatters = {
            **table.formatters,
            **{c: NumberFormatter(format="0", nan_format="") for c in _PCT},
        }
        table.titles = _TITLES

        def clicked(event: Any) -> None:
            if event.row is not None and event.row < pods.height:
                r = pods.row(event.row, named=True)
                open_pod(r["namespace"], r["name"])

        table.on_click(clicked)
        out += [_heading(f"Pods ({pods.height}) · click one to open it"), table]
    if not d.ports.is_empty():
        out += [_heading("Ports"), text_table(d.ports, css_classes=["wb-ports"])]
    return out
