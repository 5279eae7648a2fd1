"""The right-sizing page: percentile and headroom settings (widgets made from the fields of
:class:`~workbench.analyses.rightsizing.RightSizingParams`: their bounds, defaults and docs), the
advice per workload container (current vs advised requests and limits, status, flags, notes),
the totals in cores and GiB, the HPAs taken into account, and CSV/JSON downloads made by the
analysis' own exporters.

In JupyterLab::

    import workbench as wb, workbench.ui
    wb.ui.rightsizing.RightSizingPage(wb.open("data/demo"), namespace="shop", cpu_request_percentile=95)

Served (``apps/right_sizing.py``): the scope and every setting live in the URL
(``?namespace=shop&cpu_request_percentile=95``).
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import panel as pn
import param
import polars as pl

from workbench.analyses import rightsizing
from workbench.analyses.params import Params
from workbench.errors import WorkbenchError
from workbench.ui._refresh import Drawn, Recent, batched, update_cards
from workbench.ui.common import busy, format_bytes, format_cores, stat, table_frame, text_table
from workbench.ui.live import LivePage, plain_text, snapshot_version, sync_url
from workbench.viz import rightsizing as rv

__all__ = [
    "MAIN_SETTINGS",
    "MORE_SETTINGS",
    "RightSizingPage",
    "advice_view",
    "settings_class",
    "settings_widgets",
    "totals_view",
]

#: Settings shown first (the percentiles and headrooms); the others are under "More settings".
MAIN_SETTINGS = ("cpu_request_percentile", "cpu_request_headroom", "cpu_limit", "cpu_limit_percentile",
                 "cpu_limit_headroom", "memory_request_percentile", "memory_request_headroom", "memory_limit_headroom")  # fmt: skip
MORE_SETTINGS = ("hpa_aware", "startup_aware", "oom_bump", "throttle_threshold_pct", "throttle_bump", "min_cpu",
                 "min_memory", "min_samples", "tolerance")  # fmt: skip
_STATUS_ORDER = {
    "under-provisioned": 0,
    "over-provisioned": 1,
    "no requests": 2,
    "ok": 3,
    "not enough data": 4,
}


def settings_class(cls: type[Params], names: Iterable[str]) -> type[param.Parameterized]:
    """A Parameterized class with one parameter per named field of the analysis parameters
    ``cls``: same default, bounds (``ge``/``le``), choices and doc."""
    attrs: dict[str, Any] = {}
    wanted = list(names)
    fields = {d["name"]: d for d in cls.describe()}
    for name in wanted:
        d = fields[name]
        default, doc, bounds = d["default"], d["doc"], (d.get("ge"), d.get("le"))
        if d.get("choices"):
            attrs[name] = param.Selector(default=default, objects=list(d["choices"]), doc=doc)
        elif isinstance(default, bool):
            attrs[name] = param.Boolean(default=default, doc=doc)
        elif isinstance(default, int):
            attrs[name] = param.Integer(default=default, bounds=bounds, doc=doc)
        elif isinstance(default, float):
            attrs[name] = param.Number(default=default, bounds=bounds, doc=doc)
        else:
            msg = f"{cls.__name__}.{name} ({type(default).__name__}) has no widget; pick number, bool or choice fields"
            raise TypeError(msg)
    return type(f"{cls.__name__}Settings", (param.Parameterized,), attrs)


def _step(p: param.Parameter) -> float:
    low, high = p.bounds or (None, None)
    if low is not None and high is not None and high - low <= 1:
        return 0.05
    return 1.0 if (high or 100) > 10 or p.default > 10 else 0.05


def settings_widgets(settings: param.Parameterized, names: Iterable[str]) -> list[pn.viewable.Viewable]:
    """Widgets bound to ``settings`` (see :func:`settings_class`): number inputs limited to the
    field's bounds, selects for choices, checkboxes for flags; the field's doc is the tooltip."""
    out: list[pn.viewable.Viewable] = []
    for name in names:
        p = settings.param[name]
        label = name.replace("_", " ").replace(" pct", " %")
        w: pn.widgets.Widget
        common = {"name": label, "description": p.doc, "sizing_mode": "stretch_width"}
        if isinstance(p, param.Selector):
            w = pn.widgets.Select.from_param(p, **common)
        elif isinstance(p, param.Boolean):
            box = pn.widgets.Checkbox.from_param(p, name=label, css_classes=[f"wb-setting-{name}"])
            out.append(pn.Row(box, pn.widgets.TooltipIcon(value=p.doc), margin=(18, 5, 5, 5)))
            continue
        elif isinstance(p, param.Integer):
            w = pn.widgets.IntInput.from_param(p, **common)
        else:
            w = pn.widgets.FloatInput.from_param(p, step=_step(p), format="0.[00]", **common)
        w.css_classes = [f"wb-setting-{name}"]
        out.append(w)
    return out


def _text(values: list[Any], fmt: Any) -> list[str]:
    return [fmt(v) if v is not None else "" for v in values]


def advice_view(advice: pl.DataFrame, *, clusters: bool) -> pl.DataFrame:
    """The advice (:data:`rightsizing.ADVICE_COLUMNS`) as shown: problems first, requests and
    limits as text with units (``250m``, ``512 MiB``), current beside advised."""
    a = advice.sort(pl.col("status").replace_strict(_STATUS_ORDER, default=9, return_dtype=pl.Int8),
                    "namespace", "workload_name", "container")  # fmt: skip
    cols: list[pl.Series] = []
    for res, fmt in (("cpu", format_cores), ("memory", format_bytes)):
        for kind in ("request", "limit"):
            cols.append(pl.Series(f"{res}_{kind}", _text(a[f"{res}_{kind}"].to_list(), fmt), dtype=pl.String))
            cols.append(
                pl.Series(
                    f"{res}_{kind}_advised", _text(a[f"{res}_{kind}_advised"].to_list(), fmt), dtype=pl.String
                )
            )
    view = a.select(
        pl.format("{}/{}", "workload_kind", "workload_name").alias("workload"), "container", "namespace", "cluster", "status",
        "flags", "replicas",
    ).with_columns(cols).with_columns(
        pl.Series("CPU p / max", [f"{format_cores(b) if b is not None else '–'} / {format_cores(m) if m is not None else '–'}"
                                  for b, m in zip(a["cpu_request_basis"].to_list(), a["cpu_max"].to_list(), strict=True)]),
        pl.Series("memory p / max", [f"{format_bytes(b) if b is not None else '–'} / {format_bytes(m) if m is not None else '–'}"
                                     for b, m in zip(a["memory_request_basis"].to_list(), a["memory_max"].to_list(), strict=True)]),
        a["throttled_pct"].round(1).alias("throttled %"), a["notes"],
    )  # fmt: skip
    return view if clusters else view.drop("cluster")


def totals_view(totals: pl.DataFrame) -> pl.DataFrame:
    """The totals (:data:`rightsizing.TOTAL_COLUMNS`) as shown: cores and GiB with two decimals."""
    return totals.with_columns(pl.col(c).round(2) for c in totals.columns if c.endswith(("_cores", "_gib")))


_TITLES = {
    "cpu_request": "CPU request", "cpu_request_advised": "→ advised", "cpu_limit": "CPU limit",
    "cpu_limit_advised": "→ advised", "memory_request": "memory request", "memory_request_advised": "→ advised",
    "memory_limit": "memory limit", "memory_limit_advised": "→ advised",
}  # fmt: skip


_TOTAL_TITLES = {
    f"{r}_{k}_{s}_{unit}": (f"{label} {k}s ({shown})" if s == "current" else s)
    for r, unit, label, shown in (("cpu", "cores", "CPU", "cores"), ("memory", "gib", "memory", "GiB"))
    for k in ("request", "limit") for s in ("current", "advised", "change")
}  # fmt: skip


class RightSizingPage(LivePage):
    """Right-sizing advice within a scope, with its settings as widgets."""

    slug: ClassVar[str] = "right_sizing"
    scope_options: ClassVar[dict[str, bool]] = {"traced": False}

    def __init__(self, dataset: Any, **params: Any) -> None:
        names = (*MAIN_SETTINGS, *MORE_SETTINGS)
        given = {k: params.pop(k) for k in names if k in params}
        self.settings = settings_class(rightsizing.RightSizingParams, names)(**given)
        super().__init__(dataset, **params)
        self.settings.param.watch(lambda *_: self._scope_changed(), list(names))

    def _build(self) -> None:
        self.result: rightsizing.RightSizing | None = None
        self._recent: Recent[rightsizing.RightSizing] = Recent()
        self._shared: tuple[Any, rightsizing.Shared] | None = None  # (snapshot version, what it holds)
        self._drawn = Drawn()
        self._main = settings_widgets(self.settings, MAIN_SETTINGS)
        self._more = settings_widgets(self.settings, MORE_SETTINGS)
        self._cards = pn.FlexBox(sizing_mode="stretch_width")
        self._note = plain_text("", sizing_mode="stretch_width", css_classes=["wb-rs-note"])
        self._advice = text_table(pl.DataFrame(), wrap=("notes",), widths={"notes": 420}, titles=_TITLES, frozen_columns=["workload"],
                                  pagination="local", page_size=20, css_classes=["wb-advice"])  # fmt: skip
        self._totals = text_table(pl.DataFrame(), titles=_TOTAL_TITLES, css_classes=["wb-rs-totals"])
        self._hpas = text_table(pl.DataFrame(), css_classes=["wb-hpas"])
        # Bokeh figures built once and redrawn in place (the notebook draws the same bars with
        # rv.current_vs_advised and rv.totals_bars)
        self._bars = [rv.AdvisedBars(resource=r, kind="request", limit=20) for r in ("cpu", "memory")]
        self._totals_bars = rv.TotalsBars()
        self._bar_panes = [pn.pane.Bokeh(f, sizing_mode="stretch_width")
                           for f in (*(b.figure for b in self._bars), *self._totals_bars.figures)]  # fmt: skip
        self._charts = pn.Row(*self._bar_panes[:2], sizing_mode="stretch_width")
        self._totals_chart = pn.Row(*self._bar_panes[2:], sizing_mode="stretch_width")
        self._csv = pn.widgets.FileDownload(callback=self._csv_file, filename="right-sizing.csv", button_type="primary",
                                            label="Download CSV", embed=False, css_classes=["wb-download-csv"], width=200)  # fmt: skip
        self._json = pn.widgets.FileDownload(callback=self._json_file, filename="right-sizing.json", button_type="light",
                                             label="Download JSON", embed=False, css_classes=["wb-download-json"], width=200)  # fmt: skip

    def sections(self) -> list[pn.viewable.Viewable]:
        card = {"collapsible": False, "sizing_mode": "stretch_width"}
        settings = pn.Card(
            pn.GridBox(*self._main, ncols=4, sizing_mode="stretch_width"),
            pn.Card(pn.GridBox(*self._more, ncols=4, sizing_mode="stretch_width"), title="More settings", collapsed=True,
                    sizing_mode="stretch_width"),
            title="Settings (hover ? for what each does)", **card,
        )  # fmt: skip
        return [
            settings,
            self._cards,
            pn.Card(
                self._note,
                pn.Row(self._csv, self._json),
                self._advice,
                title="Advice per workload container",
                **card,
            ),
            pn.Card(
                self._totals,
                self._totals_chart,
                title="Totals (requests and limits × replicas)",
                **card,
            ),
            pn.Card(self._charts, title="Current vs advised", **card),
            pn.Card(self._hpas, title="HPAs taken into account", **card),
        ]

    def page(self) -> pn.template.BaseTemplate:
        """The served page; the settings are kept in the URL too."""
        sync_url(self.settings, {n: n for n in (*MAIN_SETTINGS, *MORE_SETTINGS)})
        return super().page()

    # -- data -----------------------------------------------------------------------------------
    def params(self) -> rightsizing.RightSizingParams:
        """The analysis parameters: the scope and the settings."""
        s = self.scope
        values = {n: getattr(self.settings, n) for n in (*MAIN_SETTINGS, *MORE_SETTINGS)}
        return rightsizing.RightSizingParams(cluster=s.cluster or None, namespace=s.namespace or None,
                                             workload=s.workload or None, start=s.start or None, end=s.end or None,
                                             **values)  # fmt: skip

    def refresh(self) -> None:
        """Re-run :func:`~workbench.analyses.rightsizing.analyse` and redraw."""
        with busy(self._advice, self._charts), batched(*self._bar_panes):
            try:
                p = self.params()
                version = snapshot_version(self.dataset)
                result = self._recent.get((p, version), lambda: self._analyse(p, version))
            except WorkbenchError as err:
                self.result = None
                self._note.object = f"Cannot advise: {err}"
                self._advice.value = table_frame(pl.DataFrame()).to_pandas()
                self._drawn.forget("advice")
                return
            self.result = result
            a = result.advice
            multi = a["cluster"].n_unique() > 1
            draw = self._drawn.draw  # what did not change is not drawn again
            # the cluster column is hidden rather than dropped with one cluster: columns that come
            # and go make new Bokeh models (the whole page's model graph walked again)
            draw("advice", lambda: self._advice.param.update(
                value=table_frame(advice_view(a, clusters=True)).to_pandas(), hidden_columns=[] if multi else ["cluster"]),
                 a)  # fmt: skip
            counts = dict(a.group_by("status").len().iter_rows()) if a.height else {}
            p = result.params
            self._note.object = (
                f"{a.height} container(s) of {a.select('cluster', 'namespace', 'workload_name').n_unique()} workload(s). "
                f"CPU request = p{p.cpu_request_percentile:g} × {p.cpu_request_headroom:g}; memory request = "
                f"p{p.memory_request_percentile:g} × {p.memory_request_headroom:g}; memory limit = max × "
                f"{p.memory_limit_headroom:g}; CPU limit: {p.cpu_limit}"
                + (f" (p{p.cpu_limit_percentile:g} × {p.cpu_limit_headroom:g})" if p.cpu_limit == "percentile" else "")
                + ". 'CPU p / max' is the percentile the request covers and the highest CPU seen."
                if a.height else "No containers with usage data in this scope and window."
            )  # fmt: skip
            t = result.totals
            draw("totals", lambda: self._show_totals(t), t)
            draw("charts", lambda: [bars.draw(a) for bars in self._bars], a)
            draw(
                "hpas",
                lambda: setattr(self._hpas, "value", table_frame(result.hpas).to_pandas()),
                result.hpas,
            )
            update_cards(self._cards, self._card_list(t, counts))
            scope = "-".join(x for x in (self.scope.cluster, self.scope.namespace) if x) or "all"
            self._csv.filename = f"right-sizing-{scope}.csv"
            self._json.filename = f"right-sizing-{scope}.json"

    def _analyse(self, p: rightsizing.RightSizingParams, version: Any) -> rightsizing.RightSizing:
        """:func:`~workbench.analyses.rightsizing.analyse` with what the page keeps of the whole
        snapshot (:func:`~workbench.analyses.rightsizing.shared`): made when the whole snapshot is
        shown (its analysis reads as much), then each scope only filters it."""
        shared = self._shared[1] if self._shared is not None and self._shared[0] == version else None
        whole = all(v is None for v in (p.cluster, p.namespace, p.workload, p.start, p.end))
        if whole and (shared is None or shared.stats_for(self.dataset, p) is None
                      or (p.startup_aware and shared.pod_peaks is None)):  # fmt: skip
            peaks = shared.pod_peaks if shared is not None else None
            shared = rightsizing.shared(self.dataset, p, pod_peaks=peaks)
            self._shared = (version, shared)
        return rightsizing.analyse(self.dataset, p, shared=shared)

    def _show_totals(self, totals: pl.DataFrame) -> None:
        self._totals.value = table_frame(totals_view(totals)).to_pandas()
        self._totals_bars.draw(totals)

    def _card_list(self, totals: pl.DataFrame, counts: dict[str, int]) -> list[pn.viewable.Viewable]:
        cards = [
            stat("Under-provisioned", counts.get("under-provisioned", 0), tone="bad" if counts.get("under-provisioned") else "good",
                 detail="OOM kills, throttling, usage above requests", width=280),
            stat("Over-provisioned", counts.get("over-provisioned", 0), detail="requests far above use"),
        ]  # fmt: skip
        overall = totals.filter(pl.col("cluster") == "(all)")
        if overall.height:
            r = overall.row(0, named=True)
            cpu_now, cpu_new = r["cpu_request_current_cores"], r["cpu_request_advised_cores"]
            mem_now, mem_new = r["memory_request_current_gib"], r["memory_request_advised_gib"]
            cards += [
                stat("CPU requests (cores)", f"{cpu_now:.2f} → {cpu_new:.2f}", detail=f"change {cpu_new - cpu_now:+.2f} cores",
                     width=250),
                stat("Memory requests (GiB)", f"{mem_now:.1f} → {mem_new:.1f}", detail=f"change {mem_new - mem_now:+.1f} GiB",
                     width=250),
            ]  # fmt: skip
        else:  # hidden, kept: shown again later without new models (update_cards)
            cards += [
                stat("CPU requests (cores)", "–", width=250),
                stat("Memory requests (GiB)", "–", width=250),
            ]
            for card in cards[-2:]:
                card.visible = False
        return cards

    # -- downloads ------------------------------------------------------------------------------
    def _export(self, method: str, suffix: str) -> io.BytesIO:
        result = self.result
        if result is None:
            result = rightsizing.analyse(self.dataset, self.params())
        with tempfile.TemporaryDirectory(prefix="wb-rightsizing-") as tmp:
            path = Path(tmp) / f"advice{suffix}"
            getattr(result, method)(path)
            return io.BytesIO(path.read_bytes())

    def _csv_file(self) -> io.BytesIO:
        return self._export("to_csv", ".csv")

    def _json_file(self) -> io.BytesIO:
        return self._export("to_json", ".json")
