"""The log explorer: search (text or regular expression), filter by level, pod, container,
category (log pattern) and parsed-field tags, with counts that filter when clicked, chosen
field columns, expandable rows (the full message, as text), the volume by level with error
bursts, and the patterns that are new or rising compared with a baseline window.

In JupyterLab::

    import workbench as wb, workbench.ui
    wb.ui.logs.LogsPage(wb.open("data/demo"), namespace="shop", q="timeout", levels="ERROR")

Served (``apps/logs.py``): the scope and the whole query (``q``, ``regex``, ``levels``, ``pod``,
``container``, ``category``, ``where``, ``columns``) live in the URL, so a link reopens it.
Log lines come from the cluster and are only ever shown as text.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Any

import panel as pn
import param
import polars as pl

import workbench
from workbench.analyses import logs as analysis
from workbench.analyses import patterns
from workbench.errors import WorkbenchError
from workbench.store import Dataset
from workbench.ui._refresh import Drawn, batched, watch_scope
from workbench.ui.application.transaction import note
from workbench.ui.common import (
    PlainText,
    busy,
    format_count,
    format_range,
    page,
    sync_to_url,
    table_frame,
    text_table,
)
from workbench.ui.live import LiveControls, take_live
from workbench.ui.scope import PAGES, SCOPE_PARAMS, Scope, nav
from workbench.ui.servicemap import baseline_window
from workbench.viz.logs import VolumeChart

__all__ = ["QUERY_PARAMS", "LogsPage"]

log = logging.getLogger(__name__)

#: Field and tag counts cover this many of the newest matching lines.
FIELD_SAMPLE = 5000
#: The query, kept in the URL besides the scope.
QUERY_PARAMS = ("q", "regex", "levels", "pod", "container", "category", "where", "columns")
_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "UNKNOWN")
_FACETS = {"level": "Levels", "pod": "Pods", "container": "Containers", "category": "Categories (patterns)",
           "field": f"Fields (newest {FIELD_SAMPLE:,} lines; click: column)",
           "tag": f"Tags (newest {FIELD_SAMPLE:,} lines)"}  # fmt: skip
_FACET_SCHEMA = {"count": pl.Int64(), "value": pl.String(), "label": pl.String()}
_BURSTS = ("namespace", "pod", "container", "start", "end", "count", "peak", "baseline", "z", "top_template")
_NEW = (
    "status",
    "template",
    "current_count",
    "baseline_count",
    "ratio",
    "top_level",
    "first_seen",
    "pattern_id",
)
_STEPS = (("1m", 60), ("5m", 300), ("15m", 900), ("1h", 3600), ("6h", 21600))


def _split(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _toggle(items: list[str], item: str) -> str:
    return ",".join([i for i in items if i != item] if item in items else [*items, item])


class LogsPage(pn.viewable.Viewer):
    """The log explorer of one snapshot for a :class:`Scope` (see the module docstring)."""

    q = param.String(default="", doc="Text (or regular expression) the message must contain.")
    regex = param.Boolean(default=False, doc="Read the search as a regular expression.")
    levels = param.String(default="", doc="Levels to keep, comma separated ('' = all).")
    pod = param.String(default="", doc="Pod ('' = every pod in scope).")
    container = param.String(default="", doc="Container ('' = all).")
    category = param.String(default="", doc="Log pattern id ('' = all).")
    where = param.Dict(default={}, doc="Parsed fields that must have these values ({key: value}).")
    columns = param.String(default="", doc="Parsed fields shown as columns, comma separated.")
    limit = param.Integer(default=500, bounds=(1, 100_000), doc="Most lines listed (newest first).")

    def __init__(
        self, dataset: Dataset | str | os.PathLike[str], *, scope: Scope | None = None, **params: Any
    ) -> None:
        self.dataset = dataset if isinstance(dataset, Dataset) else workbench.open(dataset)
        scoped = {k: params.pop(k) for k in SCOPE_PARAMS if k in params}
        self.scope = scope if scope is not None else Scope(self.dataset, **scoped)
        live = take_live(params)
        super().__init__(**params)
        self.live = LiveControls(self.dataset, self.snapshot_changed, scope=self.scope, **live)
        self.results = pl.DataFrame(schema=analysis.SEARCH_COLUMNS)
        self.facets = pl.DataFrame(schema=analysis.FACET_COLUMNS)
        self._drawn = Drawn()
        self._masks = patterns.MaskMemo()  # each refresh mines lines the last ones mined too
        self._build()
        watch_scope(self.scope, SCOPE_PARAMS, self.refresh)
        self.refresh()

    # -- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        self._search = pn.widgets.TextInput.from_param(
            self.param.q, label="Search messages", placeholder="text…"
        )
        self._regex = pn.widgets.Checkbox.from_param(self.param.regex, label="regular expression")
        self._levels = pn.widgets.MultiChoice(
            label="Levels", options=list(_LEVELS), value=_split(self.levels)
        )
        self._levels.param.watch(lambda e: setattr(self, "levels", ",".join(e.new)), "value")
        self._columns = pn.widgets.MultiChoice(label="Field columns", options=_split(self.columns))
        self._columns.param.watch(lambda e: setattr(self, "columns", ",".join(e.new)), "value")
        self._clear = pn.widgets.Button(label="Clear the query")
        self._clear.on_click(lambda *_: self.param.update(**{k: self.param[k].default for k in QUERY_PARAMS}))
        self._active = note("", css="wb-active-filters")
        self._note = note("", css="wb-logs-note")
        self._chart = VolumeChart()  # a Bokeh figure drawn once, redrawn in place (workbench.viz._figures)
        self._chart_pane = pn.pane.Bokeh(self._chart.figure, sizing_mode="stretch_width")
        # what shows the loading indicator (a Bokeh pane's own cannot: Panel fails to copy its styles)
        self._chart_box = pn.Column(self._chart_pane, sizing_mode="stretch_width", margin=0)
        self._table = text_table(self._view(self.results), wrap=("preview",), css_classes=["wb-log-lines"],
                                 pagination="local", page_size=25, widths={"preview": 600}, row_content=self._expand,
                                 hidden_columns=["message", "fields", "cluster", "trace_id", "span_id", "stream"])  # fmt: skip
        self._facet_tables: dict[str, pn.widgets.Tabulator] = {}
        for facet in _FACETS:
            hidden = {"category": ["value"], "tag": []}.get(facet, ["label"])
            table = text_table(pl.DataFrame(schema=_FACET_SCHEMA), page_size=10, pagination="local",
                               hidden_columns=hidden, titles={"label": "field" if facet == "tag" else "pattern"},
                               css_classes=["wb-facet", f"wb-facet-{facet}"], wrap=("label",))  # fmt: skip
            table.on_click(lambda e, f=facet: self._facet_clicked(f, e))
            self._facet_tables[facet] = table
        self._bursts = text_table(pl.DataFrame(schema={c: pl.String() for c in _BURSTS}), wrap=("top_template",),
                                  css_classes=["wb-bursts"])  # fmt: skip
        self._new = text_table(pl.DataFrame(schema={c: pl.String() for c in _NEW}), wrap=("template",),
                               hidden_columns=["pattern_id"], css_classes=["wb-new-patterns"],
                               widths={"template": 560})  # fmt: skip
        self._new.on_click(lambda e: self._facet_clicked("category", e, table=self._new, key="pattern_id"))
        self._new_note = note("")
        self._bursts_note = note("")
        for name, widget in (("levels", self._levels), ("columns", self._columns)):
            self.param.watch(lambda e, w=widget: setattr(w, "value", _split(e.new)), name)

    def controls(self) -> pn.Column:
        """Search box, regex toggle, level and column choosers, the active filters."""
        return pn.Column(self._search, self._regex, self._levels, self._columns, self._active, self._clear,
                         sizing_mode="stretch_width")  # fmt: skip

    def sections(self) -> list[pn.viewable.Viewable]:
        """The page's sections, top to bottom."""
        card = {"collapsible": False, "sizing_mode": "stretch_width"}
        facets = pn.FlexBox(*[pn.Card(t, title=_FACETS[f], collapsible=False, width=360, margin=5)
                              for f, t in self._facet_tables.items()], sizing_mode="stretch_width")  # fmt: skip
        return [
            self._note,
            pn.Card(self._chart_box, title="Volume by level (error bursts shaded)", **card),
            pn.Card(facets, title="Counts (click one to filter)", **card),
            pn.Card(self._table, title="Log lines (newest first; expand a row for the full message)", **card),
            pn.Card(self._new_note, self._new, title="New and rising patterns vs baseline", **card),
            pn.Card(self._bursts_note, self._bursts, title="Error bursts", **card),
        ]

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            pn.Row(self.scope.widgets(), self.live),
            self.controls(),
            *self.sections(),
            sizing_mode="stretch_width",
        )

    def page(self) -> pn.template.BaseTemplate:
        """The served page: scope, query and live mode synced to the URL."""
        self.scope.sync()
        sync_to_url(self, QUERY_PARAMS)
        self.live.sync()
        sidebar = [self.controls(), pn.layout.Divider(), self.scope.widgets(), pn.layout.Divider(), self.live,
                   pn.layout.Divider(), nav(self.scope, current="logs")]  # fmt: skip
        return page(PAGES["logs"], snapshot=self.dataset.path, sidebar=sidebar, main=self.sections())

    # -- the query ------------------------------------------------------------------------------
    def search_options(self) -> dict[str, Any]:
        """The scope and query as :func:`workbench.analyses.logs.search` options."""
        start, end = self.scope.window()
        opts: dict[str, Any] = {k: v for k, v in self.scope.filters().items() if k != "workload"}
        if self.scope.workload:
            opts["pod"] = self.scope.pods()["name"].to_list()
        if self.pod:
            opts["pod"] = [self.pod] if "pod" not in opts or self.pod in opts["pod"] else []
        opts.update(start=start, end=end + dt.timedelta(microseconds=1) if end else None)
        if self.q:
            opts["regex" if self.regex else "text"] = self.q
        if self.levels:
            opts["levels"] = _split(self.levels)
        for name in ("container", "category"):
            if getattr(self, name):
                opts[name] = getattr(self, name)
        if self.where:
            opts["where"] = {str(k): str(v) for k, v in self.where.items()}
        return opts

    @param.depends(*QUERY_PARAMS, "limit", watch=True)
    def refresh(self) -> None:
        """Run the query and show lines, counts, volume, patterns and bursts."""
        opts = self.search_options()
        self._active.object = self._describe()
        # not the tables: see workbench.ui.application
        with busy(self._chart_box), batched(), patterns.kept_masks(self._masks):
            try:
                self.results = analysis.search(
                    self.dataset, **opts, columns=_split(self.columns), limit=self.limit
                )
                self.facets = self._facets(opts)
            except WorkbenchError as err:
                self._note.object = f"This query cannot run: {err}"
                return
            total = int(self.facets.filter(pl.col("facet") == "level")["count"].sum())
            shown = f"the newest {self.results.height} shown" if total > self.results.height else "all shown"
            start, end = self.scope.window()
            self._note.object = (f"{format_count(total)} matching log lines in {format_range(start, end)} "
                                 f"({shown})." if total else self._empty_reason())  # fmt: skip
            self._drawn.draw("lines", lambda: setattr(self._table, "value", table_frame(
                self._view(self.results)).to_pandas()), self.results)  # fmt: skip
            self._show_facets()
            span = (end - start).total_seconds() if start and end else 3600
            step = next((s for s, n in _STEPS if span / n <= 200), "1d")
            bursts = analysis.error_bursts(self.dataset, **{k: v for k, v in opts.items() if k in _SCOPED})
            volume = analysis.volume(self.dataset, **opts, step=step)
            draw = self._drawn.draw  # what did not change is not drawn again
            draw("chart", lambda: self._chart.draw(volume, bursts=bursts), volume, bursts)
            draw("bursts", lambda: setattr(self._bursts, "value", table_frame(bursts.select(_BURSTS)).to_pandas()),
                 bursts)  # fmt: skip
            self._bursts_note.object = (
                f"{bursts.height} container(s) logged far more errors than usual."
                if bursts.height
                else "No error bursts in this scope: no container logged far more errors than it usually does."
            )
            self._show_new_patterns(opts)

    def snapshot_changed(self) -> None:
        """Show what the snapshot now holds (live mode), with the same scope and query."""
        self.refresh()

    def _facets(self, opts: dict[str, Any]) -> pl.DataFrame:
        """Counts of every matching line per level, pod, container and pattern; field and tag
        counts over the newest :data:`FIELD_SAMPLE` matching lines (parsing every line's fields
        takes seconds)."""
        got = analysis.facets(self.dataset, **opts, field_sample=FIELD_SAMPLE)
        is_field = pl.col("facet").str.starts_with("field")
        fields = got.filter(is_field)
        tags = fields.filter((pl.col("facet") == "field") & pl.col("tag"))["value"].to_list()
        keep = (pl.col("facet") == "field") | pl.col("facet").str.strip_prefix("field:").is_in(tags)
        return pl.concat([got.filter(~is_field), fields.filter(keep)])

    def _empty_reason(self) -> str:
        if self.q or self.levels or self.pod or self.container or self.category or self.where:
            return "No log line matches this query in the scope: clear some filters (sidebar)."
        return "No log lines in this scope: no logs were collected for its pods in this window."

    def _describe(self) -> str:
        parts = [f"{k}: {getattr(self, k)}" for k in ("levels", "pod", "container", "category", "where")
                 if getattr(self, k)]  # fmt: skip
        if self.q:
            parts.insert(0, f"{'regex' if self.regex else 'text'}: {self.q}")
        return "Filters: " + ("; ".join(parts) if parts else "none")

    def _view(self, lines: pl.DataFrame) -> pl.DataFrame:
        extra = [c for c in lines.columns if c not in analysis.SEARCH_COLUMNS]
        return lines.select("ts", "level", "namespace", "pod", "container", *extra, "preview", "message", "fields",
                            "cluster", "trace_id", "span_id", "stream")  # fmt: skip

    @staticmethod
    def _expand(row: Any) -> PlainText:
        """An expanded row: the whole message, then the other fields, as text."""
        lines = [str(row["message"]), ""]
        lines += [
            f"{k}: {row[k]}" for k in ("fields", "trace_id", "span_id", "stream", "cluster") if row.get(k)
        ]
        return PlainText(
            "\n".join(lines), sizing_mode="stretch_width", margin=(4, 12), css_classes=["wb-log-message"]
        )

    def _show_facets(self) -> None:
        f = self.facets
        frames = {
            name: f.filter(pl.col("facet") == name)
            for name in ("level", "pod", "container", "category", "field")
        }
        frames["tag"] = f.filter(pl.col("facet").str.starts_with("field:")).with_columns(
            pl.col("facet").str.strip_prefix("field:").alias("label")
        )
        for name, frame in frames.items():
            table = self._facet_tables[name]
            self._drawn.draw(f"facet {name}", lambda t=table, f=frame: setattr(
                t, "value", table_frame(f.select(list(_FACET_SCHEMA))).to_pandas()), frame)  # fmt: skip
        keys = f.filter(pl.col("facet") == "field")["value"].to_list()
        self._columns.options = sorted({*keys, *_split(self.columns)})

    def _facet_clicked(self, facet: str, event: Any, *, table: Any = None, key: str = "value") -> None:
        row = (table or self._facet_tables[facet]).value.iloc[event.row]
        value = str(row[key])
        if facet == "level":
            self.levels = _toggle(_split(self.levels), value)
        elif facet in ("pod", "container", "category"):
            setattr(self, facet, "" if getattr(self, facet) == value else value)
        elif facet == "field":
            self.columns = _toggle(_split(self.columns), value)
        elif facet == "tag":
            key, where = str(row["label"]), dict(self.where)
            self.where = (
                {k: v for k, v in where.items() if k != key}
                if where.get(key) == value
                else {**where, key: value}
            )

    def _show_new_patterns(self, opts: dict[str, Any]) -> None:
        """Patterns new or rising in the window vs the same length before it; when nothing was
        collected before the window, its second half vs its first half."""
        start, end = self.scope.window()
        if start is None or end is None:
            return
        (b0, b1), current = baseline_window(start, end), (start, end)
        lo = self.dataset.window[0]
        text = f"Window {format_range(start, end)} vs the same length before it ({format_range(b0, b1)})."
        if lo is not None and b0 < lo:
            mid = start + (end - start) / 2
            (b0, b1), current = (start, mid), (mid, end)
            text = (f"Nothing was collected before the window, so its second half ({format_range(*current)}) "
                    f"is compared with its first half ({format_range(b0, b1)}).")  # fmt: skip
        where = {k: v for k, v in opts.items() if k in _SCOPED and k not in ("start", "end")}
        new = patterns.new_patterns(self.dataset, baseline=(b0, b1), current=current, **where)
        self._drawn.draw("new", lambda: setattr(self._new, "value", table_frame(
            new.select(_NEW).with_columns(pl.col("ratio").round(2))).to_pandas()), new)  # fmt: skip
        self._new_note.object = text + ("" if new.height else " No pattern is new or rising.")

    def __repr__(self) -> str:
        return f"LogsPage({str(self.dataset.path)!r}, q={self.q!r})"


_SCOPED = ("cluster", "namespace", "pod", "container", "start", "end")
