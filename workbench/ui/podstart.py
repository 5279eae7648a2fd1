"""The pod start page: the pods created in the window (name, QoS, restarts, requests and limits,
start time, time to Running, Ready and Stable) and, for the selected pod, its start split into
Pending → Running → Stable Running with the CPU and memory of each phase against its requests and
limits, the start-up advice, and its start compared with the other starts of its workload.

In JupyterLab::

    import workbench as wb, workbench.ui
    wb.ui.podstart.PodStartPage(wb.open("data/demo"), namespace="shop", pod="recommendation-…")

Served (``apps/pod_start.py``): the scope and the selected pod (``?pod=…``, with ``in_cluster``
when several clusters have a pod of that name) live in the URL. Everything is computed by
:func:`workbench.analyses.podstart.analyse`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import panel as pn
import param
import polars as pl

from workbench.analyses import podstart
from workbench.errors import WorkbenchError
from workbench.ui._refresh import Drawn, Recent, batched, update_cards
from workbench.ui.common import busy, format_bytes, format_cores, format_time, stat, table_frame, text_table
from workbench.ui.live import LivePage, plain_text, snapshot_version
from workbench.viz import podstart as pv

__all__ = ["PodStartPage", "phases_view", "starts_view"]


def _cores(values: list[Any]) -> list[str]:
    return [format_cores(v) if v is not None else "" for v in values]


def _bytes(values: list[Any]) -> list[str]:
    return [format_bytes(v) if v is not None else "" for v in values]


def _pair(a: list[Any], b: list[Any], fmt: Any) -> list[str]:
    return [
        f"{fmt(x) if x is not None else '–'} / {fmt(y) if y is not None else '–'}"
        for x, y in zip(a, b, strict=True)
    ]


def starts_view(starts: pl.DataFrame, *, clusters: bool) -> pl.DataFrame:
    """The list of starts as shown (a :data:`podstart.START_COLUMNS` frame): requests/limits with
    units, times from creation in seconds (one decimal)."""
    to_stable = ((pl.col("stable") - pl.col("created")).dt.total_milliseconds() / 1000.0).round(1)
    view = starts.select(
        "pod", "namespace",
        pl.when(pl.col("workload_name").is_not_null()).then(pl.format("{}/{}", "workload_kind", "workload_name")).alias("workload"),
        pl.col("qos_class").alias("QoS"), "status", "restarts",
        pl.Series("CPU request / limit", _pair(starts["cpu_request"].to_list(), starts["cpu_limit"].to_list(), format_cores)),
        pl.Series("memory request / limit", _pair(starts["memory_request"].to_list(), starts["memory_limit"].to_list(), format_bytes)),
        pl.col("created").alias("created (UTC)"),
        pl.col("pending_s").round(1).alias("to Running (s)"), pl.col("ready_s").round(1).alias("to Ready (s)"),
        to_stable.alias("to Stable (s)"), pl.col("warmup_s").round(1).alias("warm-up (s)"),
        pl.Series("CPU peak", _cores(starts["cpu_peak_cores"].to_list()), dtype=pl.String),
        pl.col("cpu_peak_pct").round(0).alias("CPU peak % of basis"), pl.col("cpu_basis").alias("basis"),
        pl.Series("memory peak", _bytes(starts["memory_peak_bytes"].to_list()), dtype=pl.String),
        "node", "cluster",
    )  # fmt: skip
    return view if clusters else view.drop("cluster")


def phases_view(phases: pl.DataFrame) -> pl.DataFrame:
    """One pod's phases (:data:`podstart.PHASE_COLUMNS`) as shown: CPU and memory with units
    and the peak as % of request and limit."""
    return phases.select(
        "phase", pl.col("start").alias("from (UTC)"), pl.col("end").alias("to (UTC)"), pl.col("duration_s").round(1).alias("duration (s)"),
        "samples",
        *[pl.Series(f"CPU {s}", _cores(phases[f"cpu_{s}"].to_list()), dtype=pl.String) for s in ("mean", "p95", "max")],
        pl.col("cpu_max_pct_request").round(0).alias("CPU max % of request"), pl.col("cpu_max_pct_limit").round(0).alias("CPU max % of limit"),
        *[pl.Series(f"memory {s}", _bytes(phases[f"memory_{s}"].to_list()), dtype=pl.String) for s in ("mean", "p95", "max")],
        pl.col("memory_max_pct_request").round(0).alias("memory max % of request"),
        pl.col("memory_max_pct_limit").round(0).alias("memory max % of limit"),
    )  # fmt: skip


class PodStartPage(LivePage):
    """Pod start analysis within a scope: the list of starts and the selected pod's phases."""

    slug: ClassVar[str] = "pod_start"
    url_params: ClassVar[dict[str, str]] = {"pod": "pod", "in_cluster": "in_cluster"}
    scope_options: ClassVar[dict[str, bool]] = {"traced": False}

    pod = param.String(default="", doc="Selected pod ('' = the slowest start in the list).")
    in_cluster = param.String(default="", doc="Cluster of the selected pod ('' = the first that has it).")

    def _build(self) -> None:
        self.result: podstart.PodStarts | None = None
        self.detail: podstart.PodStarts | None = None
        self._recent: Recent[podstart.PodStarts] = Recent()
        self._whole: Recent[podstart.PodStarts] = Recent(size=1)  # the whole snapshot's, per version
        self._drawn = Drawn()
        self._cards = pn.FlexBox(sizing_mode="stretch_width")
        self._note = plain_text("", sizing_mode="stretch_width")
        self._list = text_table(pl.DataFrame(), pagination="local", page_size=15, frozen_columns=["pod"],
                                css_classes=["wb-starts"])  # fmt: skip
        self._list.on_click(self._clicked)
        self._timeline = pv.Timeline()
        self._timeline_pane = pn.pane.Bokeh(self._timeline.figure, sizing_mode="stretch_width")
        self._title = plain_text("", styles={"font-weight": "600"}, margin=(0, 10),
                                  css_classes=["wb-selected-pod"])  # fmt: skip
        self._phases = text_table(pl.DataFrame(), css_classes=["wb-phases"])
        # the selected pod's charts: Bokeh figures built once, redrawn in place for every pod
        self._curves = pv.StartCurves()
        self._curves_panes = [pn.pane.Bokeh(f, sizing_mode="stretch_width") for f in self._curves.figures]
        self._curves_box = pn.Column(
            *self._curves_panes, sizing_mode="stretch_width", margin=0, visible=False
        )
        self._advice = text_table(
            pl.DataFrame(), wrap=("message",), widths={"message": 620}, css_classes=["wb-start-advice"]
        )
        self._compare_title = plain_text("", margin=(0, 10))
        self._compare = pv.WorkloadCurves()
        self._compare_pane = pn.pane.Bokeh(self._compare.figure, sizing_mode="stretch_width")
        # shown and hidden by its box (a Bokeh pane's own visibility is taken from its figure)
        self._compare_box = pn.Column(
            self._compare_pane, sizing_mode="stretch_width", margin=0, visible=False
        )
        self._compare_table = text_table(pl.DataFrame(), css_classes=["wb-workload-starts"])
        self._detail_card = pn.Card(self._title, self._phases, self._curves_box, self._advice, title="Selected pod: phases",
                                    collapsible=False, sizing_mode="stretch_width")  # fmt: skip

    def sections(self) -> list[pn.viewable.Viewable]:
        card = {"collapsible": False, "sizing_mode": "stretch_width"}
        return [
            self._cards,
            pn.Card(self._note, self._list, title="Pods created in the window (click one)", **card),
            self._detail_card,
            pn.Card(self._compare_title, self._compare_box, self._compare_table, title="Compared with its workload's starts", **card),
            pn.Card(self._timeline_pane, title="All starts: Pending and warm-up", **card),
        ]  # fmt: skip

    # -- data -----------------------------------------------------------------------------------
    def params(self, **changes: Any) -> podstart.PodStartParams:
        """The analysis parameters of the current scope (``changes`` applied)."""
        s = self.scope
        p = podstart.PodStartParams(cluster=s.cluster or None, namespace=s.namespace or None,
                                    workload=s.workload or None, start=s.start or None, end=s.end or None)  # fmt: skip
        return p.replace(**changes)  # type: ignore[return-value]

    def refresh(self) -> None:
        """Re-run the analysis for the scope, then redraw the selected pod."""
        with busy(self._list, self._detail_card), batched():
            try:
                p = self.params()
                version = snapshot_version(self.dataset)
                result = self._recent.get(
                    (p, version), lambda: podstart.analyse(self.dataset, p, base=self._base(version))
                )
            except WorkbenchError as err:
                self.result = None
                self._note.object = f"Cannot analyse this scope: {err}"
                self._list.value = table_frame(pl.DataFrame()).to_pandas()
                return
            self.result = result
            pods = result.pods
            multi = pods["cluster"].n_unique() > 1
            self._list.value = table_frame(starts_view(pods, clusters=multi)).to_pandas()
            started = pods.filter(pl.col("running").is_not_null())
            start, end = self.scope.window()
            self._note.object = (
                f"{pods.height} pod(s) created {format_time(start)} → {format_time(end)}; {started.height} reached "
                f"Running, {int(pods['settled'].sum() or 0)} settled (CPU fell below its average of the first "
                f"{self.params().stable_window} after Running). Times are seconds after creation."
                if pods.height else f"No pod was created {format_time(start)} → {format_time(end)} in {self._where()}: widen the "
                "window or pick another namespace."
            )  # fmt: skip
            # (the timeline shows the pods that reached Running)
            self._drawn.draw("timeline", lambda: self._draw_timeline(started), started)
            update_cards(self._cards, [
                stat("Starts", pods.height, detail="pods created in the window"),
                stat("Reached Running", started.height),
                stat("Settled", int(pods["settled"].sum() or 0)),
                stat("Slowest to Running", f"{pods['pending_s'].max():.0f} s" if started.height else "–"),
                stat("Longest warm-up", f"{pods['warmup_s'].max():.0f} s" if pods["warmup_s"].drop_nulls().len() else "–"),
                stat("Advice", result.advice.height, detail=f"{len(result.findings)} warning(s) or worse",
                     tone="bad" if result.findings else "neutral"),
            ])  # fmt: skip
            self._draw_selected()

    def _base(self, version: Any) -> podstart.PodStarts:
        """The analysis of every pod of the snapshot (of this ``version``), which each scope's
        pods are taken from (:func:`podstart.analyse`'s ``base``): computed once per version."""
        whole = self.params(cluster=None, namespace=None, workload=None, start=None, end=None)
        return self._whole.get((whole, version), lambda: podstart.analyse(self.dataset, whole))

    def _where(self) -> str:
        """The scope in words: ``namespace shop, workload Deployment/checkout`` (``any namespace``)."""
        s = self.scope
        parts = [
            f"{k} {v}"
            for k, v in (("cluster", s.cluster), ("namespace", s.namespace), ("workload", s.workload))
            if v
        ]
        return ", ".join(parts) or "any namespace"

    def _clicked(self, event: Any) -> None:
        result = self.result
        if result is None or event.row is None or event.row >= result.pods.height:
            return
        row = result.pods.row(event.row, named=True)
        multi = result.pods["cluster"].n_unique() > 1
        self.param.update(pod=row["pod"], in_cluster=row["cluster"] if multi else "")

    def selected(self) -> tuple[podstart.PodStarts, str] | None:
        """The analysis holding the selected pod, and its name: the slowest start of the list
        when none is chosen; a pod created outside the window is analysed on its own."""
        result = self.result
        if result is None:
            return None
        pods = result.pods
        if not self.pod:
            slow = (
                pods.filter(pl.col("running").is_not_null())
                .with_columns((pl.col("stable").fill_null(pl.col("running")) - pl.col("created")).alias("_t"))
                .sort("_t", descending=True, nulls_last=True)
            )
            return (result, slow["pod"][0]) if slow.height else None
        mine = pods.filter(pl.col("pod") == self.pod)
        if self.in_cluster:
            mine = mine.filter(pl.col("cluster") == self.in_cluster)
        if mine.height:
            return result, self.pod
        changes: dict[str, Any] = {"pod": self.pod, "workload": None, "start": None, "end": None}
        if self.in_cluster:
            changes["cluster"] = self.in_cluster
        try:
            alone = podstart.analyse(
                self.dataset, self.params(**changes), base=self._base(snapshot_version(self.dataset))
            )
        except WorkbenchError:
            return None
        return (alone, self.pod) if alone.pods.height else None

    @param.depends("pod", "in_cluster", watch=True)
    def _draw_selected(self) -> None:
        if not self.started:
            return
        with busy(self._detail_card), batched():
            found = self.selected()
            if found is None:
                why = (
                    f"No pod named {self.pod} in this scope."
                    if self.pod
                    else "No pod in the list reached Running."
                )
                self._title.object = why
                for t in (self._phases, self._advice, self._compare_table):
                    _clear(t)
                _show(self._curves_box, visible=False)
                _show(self._compare_box, visible=False)
                self._compare_title.object = ""
                self._drawn.forget()
                return
            result, name = found
            self.detail = result
            cluster = self.in_cluster or result.pods.filter(pl.col("pod") == name)["cluster"][0]
            key = (pl.col("cluster") == cluster) & (pl.col("pod") == name)
            meta = result.pods.filter(key).row(0, named=True)
            chosen = "" if self.pod else " (the slowest start; click another)"
            self._title.object = (
                f"{meta['namespace']}/{name} ({cluster}) · {meta['qos_class'] or 'QoS unknown'} · node {meta['node'] or '–'}{chosen}\n"
                f"created {format_time(meta['created'])}; Running after {_secs(meta['pending_s'])}, Ready after "
                f"{_secs(meta['ready_s'])}, stable {_secs(meta['warmup_s'])} after Running"
                + ("" if meta["settled"] else " (never settled in the data)")
            )  # fmt: skip
            draw = self._drawn.draw  # what did not change is not drawn again
            phases = result.phases.filter(key)
            draw(
                "phases",
                lambda: setattr(self._phases, "value", table_frame(phases_view(phases)).to_pandas()),
                phases,
            )
            series, row = result.series.filter(pl.col("cluster") == cluster), result.pods.filter(key)
            draw("curves", lambda: self._draw_curves(series, row, name), series, row, name)
            _show(self._curves_box, visible=True)
            tips = result.advice.filter(key).select(
                "severity", "resource", pl.col("issue").str.replace_all("_", " "), "message"
            )
            if tips.is_empty():
                tips = pl.DataFrame({"severity": ["ok"], "resource": [""], "issue": [""],
                                     "message": ["Nothing to change: the start stayed within its requests and limits."]})  # fmt: skip
            draw("advice", lambda: setattr(self._advice, "value", table_frame(tips).to_pandas()), tips)
            self._draw_workload(meta)

    def _draw_workload(self, meta: dict[str, Any]) -> None:
        result = self.result
        wl = meta["workload_name"]
        if result is None or wl is None:
            self._compare_title.object = "This pod has no workload: nothing to compare with."
            _show(self._compare_box, visible=False)
            _clear(self._compare_table)
            self._drawn.forget("compare")
            return
        same = result.pods.filter(pl.col("cluster") == meta["cluster"], pl.col("namespace") == meta["namespace"],
                                  pl.col("workload_name") == wl)  # fmt: skip
        if same.filter(pl.col("pod") == meta["pod"]).is_empty() and self.detail is not None:
            same = pl.concat(
                [same, self.detail.pods.filter(pl.col("pod") == meta["pod"])], how="diagonal_relaxed"
            )
        series = (
            result.series
            if self.detail is result
            else pl.concat([result.series, self.detail.series], how="diagonal_relaxed")
        )  # type: ignore[union-attr]
        series = series.filter(pl.col("cluster") == meta["cluster"], pl.col("namespace") == meta["namespace"])
        self._compare_title.object = f"{same.height} start(s) of {meta['workload_kind']}/{wl} in the window"
        self._drawn.draw("compare", lambda: self._show_compare(series, same, wl), series, same, wl)

    def _draw_timeline(self, started: pl.DataFrame) -> None:
        self._timeline.draw(started)
        pn.io.push_notebook(self._timeline_pane)  # served pages send the changed models themselves

    def _draw_curves(self, series: pl.DataFrame, row: pl.DataFrame, name: str) -> None:
        self._curves.draw(series, row, pod=name)
        pn.io.push_notebook(*self._curves_panes)  # served pages send the changed models themselves

    def _show_compare(self, series: pl.DataFrame, same: pl.DataFrame, wl: str) -> None:
        self._compare.draw(series, same, workload=wl)
        pn.io.push_notebook(self._compare_pane)
        _show(self._compare_box, visible=True)
        self._compare_table.value = table_frame(
            starts_view(same, clusters=False).drop("namespace", "workload")
        ).to_pandas()


def _clear(table: pn.widgets.Tabulator) -> None:
    """Show no rows in ``table``, its columns kept (new columns would be new models in a served page)."""
    if table.value is not None and len(table.value):
        table.value = table.value.iloc[:0]


def _show(part: pn.viewable.Viewable, *, visible: bool) -> None:
    """Show or hide ``part`` (unchanged when it already is: no update sent)."""
    if part.visible != visible:
        part.visible = visible


def _secs(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} s"
