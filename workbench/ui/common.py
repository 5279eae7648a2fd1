"""Building blocks shared by every dashboard page.

- :func:`serve_page`: what every ``apps/<slug>.py`` calls (the snapshot from the URL's
  ``?snapshot=NAME`` or the server's default, the error page on failure); see
  :mod:`workbench.ui.serving`, which also has :func:`snapshot_argument`.
- :func:`page`: the one page template (FastListTemplate with a light/dark toggle, the snapshot
  name in the header, the snapshot menu and the selectors in the sidebar).
- :func:`text_table` and :func:`text`: show cluster-sourced text safely. Event messages, labels
  and names come from the cluster and may contain HTML; they are always shown as text (Tabulator
  ``plaintext``/``textarea`` formatters escape them, :class:`panel.pane.Str` too), never as HTML.
- :func:`sync_to_url`: keep parameters (cluster, namespace…) in the URL query, so a link
  reopens the same view.
- :func:`stat`: a small number card; :func:`busy`: a loading indicator around slow work.
- Number formatting with units: :func:`format_cores`, :func:`format_bytes`,
  :func:`format_count`, :func:`format_age`, :func:`format_time`.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode

import panel as pn
import param
import polars as pl
from panel.theme.fast import Fast as _PanelFast

from workbench.ui.serving import (
    DEFAULT_SNAPSHOT,
    ENV_SNAPSHOT,
    ENV_SNAPSHOTS,
    serve_page,
    served,
    snapshot_argument,
    snapshot_menu,
)

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_SNAPSHOT",
    "ENV_SNAPSHOT",
    "ENV_SNAPSHOTS",
    "PlainText",
    "busy",
    "error_page",
    "format_age",
    "format_bytes",
    "format_cores",
    "format_count",
    "format_duration",
    "format_range",
    "format_time",
    "page",
    "percent_bars",
    "serve_page",
    "snapshot_argument",
    "stat",
    "sync_to_url",
    "url_values_refused",
    "table_frame",
    "text",
    "text_table",
]

ACCENT = "#326ce5"  # the Kubernetes blue

#: Extensions every page loads; ``panel serve`` serves their JavaScript itself (no CDN).
EXTENSIONS = ("tabulator",)


# -- formatting -------------------------------------------------------------------------------
def format_cores(cores: float | None) -> str:
    """CPU in cores as people read it: ``250m`` below one core, ``1.5 cores`` above.

    >>> format_cores(0.25), format_cores(1.0), format_cores(1.5), format_cores(None)
    ('250m', '1 core', '1.5 cores', '–')
    """
    if cores is None:
        return "–"
    if abs(cores) < 1:
        return f"{cores * 1000:.0f}m"
    number = f"{cores:.3g}" if abs(cores) < 1000 else f"{cores:,.0f}"
    return f"{number} core" if number == "1" else f"{number} cores"


def format_bytes(n: float | None) -> str:
    """Bytes in binary units: ``512 B``, ``1.5 KiB``, ``300 MiB``, ``2.0 GiB``.

    >>> format_bytes(314572800), format_bytes(2 * 2**30), format_bytes(512)
    ('300 MiB', '2.0 GiB', '512 B')
    """
    if n is None:
        return "–"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            if unit == "B":
                return f"{value:.0f} B"
            return f"{value:.1f} {unit}" if abs(value) < 10 else f"{value:.0f} {unit}"
        value /= 1024
    raise AssertionError  # pragma: no cover


def format_count(n: float | None) -> str:
    """A count, short: ``987``, ``12.3k``, ``4.56M``.

    >>> format_count(987), format_count(12345), format_count(4_560_000)
    ('987', '12.3k', '4.56M')
    """
    if n is None:
        return "–"
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= size:
            return f"{n / size:.3g}{suffix}"
    return f"{n:.0f}" if float(n).is_integer() else f"{n:.3g}"


def format_age(age: dt.timedelta | None) -> str:
    """A duration the way kubectl's AGE column prints it: ``45s``, ``12m``, ``3h20m``, ``5d``.

    >>> format_age(dt.timedelta(hours=3, minutes=20)), format_age(dt.timedelta(days=2, hours=2))
    ('3h20m', '2d2h')
    """
    if age is None:
        return "–"
    secs = int(age.total_seconds())
    if secs < 0:
        return "–"
    minutes, hours, days = secs // 60, secs // 3600, secs // 86400
    if secs < 120:
        return f"{secs}s"
    if minutes < 10:
        rest = secs % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{days}d{rest}h" if rest else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    return f"{days // 365}y{days % 365}d" if days < 365 * 8 else f"{days // 365}y"


def format_duration(span: dt.timedelta | None) -> str:
    """A duration in at most two units: ``45s``, ``1h30m``, ``2h``, ``3d4h``.

    >>> format_duration(dt.timedelta(hours=2)), format_duration(dt.timedelta(minutes=90))
    ('2h', '1h30m')
    """
    if span is None:
        return "–"
    secs = int(span.total_seconds())
    if secs < 60:
        return f"{secs}s"
    parts = []
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m"), (1, "s")):
        if secs >= size:
            parts.append(f"{secs // size}{unit}")
            secs %= size
        elif parts:
            break
    return "".join(parts[:2])


def format_range(start: dt.datetime | None, end: dt.datetime | None) -> str:
    """A time range, short: ``2026-11-02 10:00–12:00 UTC`` within a day.

    >>> a = dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC)
    >>> format_range(a, a + dt.timedelta(hours=2)), format_range(a, a + dt.timedelta(days=1))
    ('2026-11-02 10:00–12:00 UTC', '2026-11-02 10:00 – 2026-11-03 10:00 UTC')
    """
    if start is None or end is None:
        return "–"
    start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    if start.date() == end.date():
        return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M} UTC"
    return f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC"


def format_time(t: dt.datetime | None) -> str:
    """A timestamp as ``2026-11-02 10:00 UTC``."""
    return "–" if t is None else t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


# -- safe text --------------------------------------------------------------------------------
def table_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every column turned into display text: durations as kubectl ages,
    timestamps as UTC text, lists joined with ``, ``, nulls as empty text; numbers stay numbers."""
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.Duration):
            ages = [format_age(v) if v is not None else "" for v in frame[name].to_list()]
            exprs.append(pl.Series(name, ages, dtype=pl.String).alias(name))
        elif isinstance(dtype, pl.Datetime):
            exprs.append(col.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d %H:%M:%S").fill_null(""))
        elif isinstance(dtype, pl.List):
            exprs.append(col.cast(pl.List(pl.String)).list.join(", ").fill_null(""))
        elif dtype.is_numeric() or dtype == pl.Boolean:
            exprs.append(col)
        else:
            exprs.append(col.cast(pl.String).fill_null(""))
    return frame.select(exprs)


def text_table(
    frame: pl.DataFrame,
    *,
    wrap: Iterable[str] = (),
    titles: Mapping[str, str] | None = None,
    widths: Mapping[str, int | str] | None = None,
    page_size: int = 20,
    max_lines: int = 3,
    **params: Any,
) -> pn.widgets.Tabulator:
    """A read-only Tabulator showing ``frame`` as text. Text cells use Tabulator's ``plaintext``
    formatter (``textarea`` for the ``wrap`` columns: wrapped, cut after ``max_lines`` lines),
    both of which escape HTML, so a cluster string such as ``<script>…`` shows as those
    characters. Pass ``row_content=`` (a function of the row) to let people expand a row to
    its full text. Update it with ``table.value = table_frame(new).to_pandas()``."""
    shown = table_frame(frame)
    wrapped = set(wrap)
    clamp = "".join(
        f'.tabulator-cell[tabulator-field="{c}"] {{ max-height: {1.35 * max_lines + 0.6:.2f}em; overflow: hidden; }}'
        for c in wrapped
    )
    formatters = {
        c: ("textarea" if c in wrapped else "plaintext")
        for c, dtype in shown.schema.items()
        if dtype == pl.String
    }
    options: dict[str, Any] = {
        "disabled": True,
        "show_index": False,
        "selectable": False,
        # static small tables need no pager; pass pagination="local" for tables that may grow
        "pagination": "local" if shown.height > page_size else None,
        "page_size": page_size,
        "layout": "fit_data_stretch",
        "sizing_mode": "stretch_width",
        "formatters": formatters,
        "titles": dict(titles or {}),
        "widths": dict(widths or {}),
        "header_align": "left",
        "stylesheets": [clamp] if clamp else [],
    }
    options.update(params)
    return pn.widgets.Tabulator(shown.to_pandas(), **options)


#: The number on a :func:`percent_bars` cell: the cell's own text colour (dark on the light theme,
#: light on the dark one) with a halo of the page's background, so it reads on the coloured bar
#: and on the empty part of the cell alike.
_BAR_CSS = (
    ".tabulator-cell div[data-max] + div { text-shadow: 0 0 2px var(--background-color, #fff), "
    "0 0 3px var(--background-color, #fff); }"
)
BAR_COLORS = ("#66bb6a", "#ffa726", "#ef5350")


def percent_bars(
    table: pn.widgets.Tabulator, columns: Iterable[str], *, colors: Sequence[str] = BAR_COLORS
) -> None:
    """Show ``columns`` of ``table`` (percentages) as bars from 0 to 100 with the number on them,
    coloured by thirds (``colors``). Tabulator draws the number black by default, unreadable on
    the dark theme; here it takes the cell's text colour (see :data:`_BAR_CSS`)."""
    bar = {"type": "progress", "min": 0, "max": 100, "legend": True, "legendAlign": "center",
           "legendColor": "inherit", "color": list(colors)}  # fmt: skip
    table.formatters = {**table.formatters, **{c: dict(bar) for c in columns}}
    if _BAR_CSS not in table.stylesheets:
        table.stylesheets = [*table.stylesheets, _BAR_CSS]


_TEXT_CSS = "pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; font-family: inherit; }"


class PlainText(pn.pane.Str):
    """A :class:`panel.pane.Str` that shows its text as characters.

    Panel 1.9's ``Str`` wraps the text in ``<pre>`` and the browser parses the result as HTML, so
    a ``<script>`` or ``<img onerror=…>`` in cluster text would run; this pane escapes the text
    first (the browser then shows ``<script>`` as those characters). Long lines wrap; the font
    is the page's unless a stylesheet says otherwise. Use it (or :func:`text`) for anything
    that came from a cluster."""

    def __init__(self, object: Any = None, **params: Any) -> None:  # noqa: A002  (Panel's name)
        params["stylesheets"] = [_TEXT_CSS, *params.get("stylesheets", [])]
        super().__init__(object, **params)

    def _transform_object(self, obj: Any) -> dict[str, Any]:
        return super()._transform_object(None if obj is None else html.escape(str(obj)))


def text(value: object, **params: Any) -> pn.pane.Str:
    """Cluster-sourced text as a plain-text pane (shown as characters, never as HTML)."""
    return PlainText("" if value is None else str(value), **params)


def stat(
    label: str, value: object, *, detail: str = "", tone: str = "neutral", width: int = 190
) -> pn.pane.HTML:
    """A small card: a label, a big value and a detail line. Every part is HTML-escaped, so
    cluster names are safe here. ``tone`` is ``neutral``, ``good`` or ``bad``."""
    colors = {"neutral": "inherit", "good": "#2e7d32", "bad": "#c62828"}
    body = (
        f'<div class="wb-stat"><div class="wb-stat-label">{html.escape(label)}</div>'
        f'<div class="wb-stat-value" style="color:{colors.get(tone, "inherit")}">'
        f"{html.escape(str(value))}</div>"
        f'<div class="wb-stat-detail">{html.escape(detail)}</div></div>'
    )
    return pn.pane.HTML(body, stylesheets=[_STAT_CSS], width=width, margin=(5, 5))


_STAT_CSS = """
.wb-stat { padding: 10px 14px; border: 1px solid rgba(128,128,128,0.35); border-radius: 6px;
           line-height: 1.25; }
.wb-stat-label { font-size: 0.8em; text-transform: uppercase; letter-spacing: 0.04em; opacity: 0.75; }
.wb-stat-value { font-size: 1.6em; font-weight: 600; white-space: nowrap; overflow: hidden;
                 text-overflow: ellipsis; }
.wb-stat-detail { font-size: 0.8em; opacity: 0.75; white-space: nowrap; overflow: hidden;
                  text-overflow: ellipsis; }
"""


# -- state, loading, page -------------------------------------------------------------------
class Fast(_PanelFast):
    """Panel's Fast design without its web font (Open Sans from fonts.googleapis.com): pages
    load nothing from outside the server, so they work offline and leak nothing.

    The class must be called ``Fast``: Panel finds a design's bundled files by the lowercased
    class name (``fast/js/fast_design.js``)."""

    _resources = {**_PanelFast._resources, "font": {}}


FONT = "'DejaVu Sans', 'Open Sans', 'Segoe UI', Helvetica, Arial, sans-serif"


def sync_to_url(obj: param.Parameterized, names: Iterable[str]) -> bool:
    """Keep parameters of ``obj`` in the URL query (``?cluster=…&namespace=…``): opening such
    a link restores them, changing them updates the address bar. Does nothing outside a served
    page (e.g. in JupyterLab); returns whether it synced."""
    location = pn.state.location
    if location is None or pn.state.curdoc is None or pn.state.curdoc.session_context is None:
        return False
    names = list(names)
    mapping = {n: n for n in names}
    location.sync(obj, mapping, on_error=url_values_refused(obj, mapping, location))
    flags = {n for n in names if isinstance(obj.param[n], param.Boolean)}
    if flags:
        location.param.watch(lambda e: _lower_flags(location, flags, e.new), "search")
        _lower_flags(location, flags, location.search)
    return True


def url_values_refused(
    obj: param.Parameterized, mapping: Mapping[str, str], location: Any
) -> Callable[[dict[str, Any]], None]:
    """The ``on_error`` of ``location.sync(obj, mapping)``: Panel reads each URL value as JSON or a
    Python literal first (``?namespace=123`` gives the number 123, which a text parameter
    refuses, so the link's namespace was lost). This sets the refused values one by one, a text
    parameter from the query's own text (a namespace named ``123`` stays ``"123"``), and logs
    the values still refused."""

    def retry(refused: dict[str, Any]) -> None:
        raw = dict(parse_qsl(str(location.search).removeprefix("?"), keep_blank_values=True))
        for name, value in refused.items():
            text = raw.get(mapping.get(name, name))
            tries = (
                [text, value] if isinstance(obj.param[name], param.String) and text is not None else [value]
            )
            for candidate in tries:
                try:
                    obj.param.update(**{name: candidate})
                    break
                except Exception:  # noqa: BLE001, S112 - param says why; the next reading is tried
                    continue
            else:
                log.warning("ignored URL value %s=%r", mapping.get(name, name), value)

    return retry


def _lower_flags(location: Any, flags: set[str], search: str) -> None:
    """Write the ``flags`` (boolean parameters) of the URL query as ``true``/``false``.

    Panel writes a boolean as ``true`` but, rewriting the query for the next change of any
    synced parameter, reads it back as Python's ``True`` and writes ``True``; both spellings
    are read (any case), the documented one is ``true``."""
    pairs = parse_qsl(search.removeprefix("?"), keep_blank_values=True)
    fixed = [(k, v.lower() if k in flags and v in ("True", "False") else v) for k, v in pairs]
    if fixed != pairs:
        location.search = "?" + urlencode(fixed)


@contextmanager
def busy(*components: pn.viewable.Viewable) -> Iterator[None]:
    """Show the loading indicator on ``components`` while the block runs."""
    for c in components:
        c.loading = True
    try:
        yield
    finally:
        for c in components:
            c.loading = False


def page(
    title: str,
    *,
    snapshot: str | os.PathLike[str],
    main: Sequence[Any],
    sidebar: Sequence[Any] = (),
) -> pn.template.FastListTemplate:
    """The page template every dashboard uses: title, the snapshot in the header (its name on a
    served page, where the server's folders stay private; the path elsewhere), the sidebar
    (the snapshot menu when the server offers several, then the page's selectors) and the
    main area; light/dark toggle in the header."""
    current = served()
    shown = current.name if current is not None else str(snapshot)
    header = pn.pane.HTML(
        f'<span class="wb-snapshot-name" style="color:white;font-size:0.95em">snapshot: '
        f"<code>{html.escape(shown)}</code></span>",
        align="center",
        margin=(0, 20),
    )
    menu = snapshot_menu()
    return pn.template.FastListTemplate(
        title=f"workbench · {title}",
        header=[header],
        sidebar=[*([menu] if menu is not None else []), *sidebar],
        main=list(main),
        accent=ACCENT,
        header_background=ACCENT,
        theme_toggle=True,
        sidebar_width=260,
        main_layout=None,
        design=Fast,
        font=FONT,
        font_url="",
    )


def error_page(
    title: str, *, snapshot: str | os.PathLike[str], error: BaseException, hint: str | None = None
) -> pn.template.BaseTemplate:
    """The page shown when the snapshot cannot be opened: the error as text and what to do
    (``hint``; by default how to create the demo or serve another snapshot)."""
    message = PlainText(str(error), sizing_mode="stretch_width")
    advice = PlainText(
        hint
        or "Create the demo snapshot with `workbench demo --out data/demo`, or serve another one with "
        "`workbench serve --snapshot PATH`.",
        sizing_mode="stretch_width",
    )
    card = pn.Card(
        message,
        advice,
        title="This snapshot cannot be shown",
        collapsible=False,
        header_background="#c62828",
        header_color="white",
        sizing_mode="stretch_width",
    )
    return page(title, snapshot=snapshot, main=[card])
