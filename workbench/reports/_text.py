"""Text and tables for reports, built from data and always escaped.

Cluster-sourced text (object names, event messages, log lines, annotations) may hold anything,
``<script>`` included. :class:`Prose` and :class:`Table` are shown by Jupyter through
``_repr_html_`` (every piece of text through :func:`html.escape`, never Markdown) and carry a
plain-text form (``text/plain``) for terminals and tests.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
from collections.abc import Sequence
from typing import Any

import polars as pl

__all__ = ["Prose", "Strong", "Table", "fmt_time", "fmt_value", "strong", "table"]


def fmt_time(t: Any, *, short: bool = False) -> str:
    """``2026-11-02 08:42:00 UTC`` (``08:42:00`` with ``short``); text is returned as is."""
    if isinstance(t, dt.datetime):
        t = t.astimezone(dt.UTC) if t.tzinfo else t.replace(tzinfo=dt.UTC)
        return t.strftime("%H:%M:%S") if short else t.strftime("%Y-%m-%d %H:%M:%S UTC")
    return "" if t is None else str(t)


def _fmt_duration(td: dt.timedelta) -> str:
    s = td.total_seconds()
    sign, s = ("-" if s < 0 else ""), abs(s)
    if s < 60:
        return f"{sign}{s:.0f}s" if s >= 1 or s == 0 else f"{sign}{s * 1000:.0f}ms"
    if s < 3600:
        return f"{sign}{int(s // 60)}m {int(s % 60):02d}s"
    return f"{sign}{int(s // 3600)}h {int(s % 3600 // 60):02d}m"


def fmt_value(value: Any) -> str:
    """A cell as a reader wants it: times in UTC to the second, durations short, floats to 4
    significant digits, lists joined with commas, nulls empty."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return fmt_time(value).removesuffix(" UTC")
    if isinstance(value, dt.timedelta):
        return _fmt_duration(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}" if value == value else ""
    if isinstance(value, list | tuple):
        return ", ".join(fmt_value(v) for v in value)
    return str(value)


@dataclasses.dataclass(frozen=True)
class Strong:
    """A piece of :class:`Prose` shown in bold."""

    text: str


def strong(text: Any) -> Strong:
    """Bold text in :class:`Prose`."""
    return Strong(str(text))


class Prose:
    """Paragraphs of text built from data; pieces are ``str`` or :func:`strong`.

    >>> p = Prose().para("Most likely: ", strong("<checkout>"), ".")
    >>> str(p)
    'Most likely: <checkout>.'
    >>> p._repr_html_()
    '<div class="wb-prose"><p>Most likely: <b>&lt;checkout&gt;</b>.</p></div>'
    """

    def __init__(self) -> None:
        self.paragraphs: list[list[str | Strong]] = []

    def para(self, *parts: str | Strong) -> Prose:
        """Start a paragraph with ``parts``."""
        self.paragraphs.append([p for p in parts if p != ""])
        return self

    def add(self, *parts: str | Strong) -> Prose:
        """Append ``parts`` to the last paragraph."""
        if not self.paragraphs:
            self.paragraphs.append([])
        self.paragraphs[-1].extend(p for p in parts if p != "")
        return self

    def __str__(self) -> str:
        return "\n\n".join(
            "".join(p.text if isinstance(p, Strong) else p for p in para) for para in self.paragraphs
        )

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        paras = (
            "<p>"
            + "".join(
                f"<b>{html.escape(p.text)}</b>" if isinstance(p, Strong) else html.escape(p) for p in para
            )
            + "</p>"
            for para in self.paragraphs
        )
        return '<div class="wb-prose">' + "".join(paras) + "</div>"


class Table:
    """A DataFrame shown for reading: escaped HTML cells, readable values, at most ``max_rows``
    rows (with a note of how many were left out)."""

    def __init__(self, frame: pl.DataFrame, *, max_rows: int = 25, caption: str | None = None,
                 empty: str = "(nothing)") -> None:  # fmt: skip
        self.frame = frame
        self.max_rows = max_rows
        self.caption = caption
        self.empty = empty

    @property
    def rows(self) -> list[list[str]]:
        return [[fmt_value(v) for v in row] for row in self.frame.head(self.max_rows).iter_rows()]

    @property
    def hidden(self) -> int:
        return max(0, self.frame.height - self.max_rows)

    def __str__(self) -> str:
        lines = [self.caption] if self.caption else []
        if self.frame.is_empty():
            return "\n".join([*lines, self.empty])
        lines.append(" | ".join(self.frame.columns))
        lines += [" | ".join(r) for r in self.rows]
        if self.hidden:
            lines.append(f"… {self.hidden} more rows")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        esc = html.escape
        cap = f"<caption>{esc(self.caption)}</caption>" if self.caption else ""
        if self.frame.is_empty():
            return f'<p class="wb-note">{cap and esc(self.caption or "") + ": "}{esc(self.empty)}</p>'
        rows = self.rows
        # columns of short values do not wrap (times, names, numbers); long text wraps
        short = [max((len(r[i]) for r in rows), default=0) <= 32 for i in range(self.frame.width)]
        head = "".join(f"<th>{esc(c)}</th>" for c in self.frame.columns)
        body = "".join(
            "<tr>" + "".join(f'<td class="wb-nowrap">{esc(v)}</td>' if short[i] else f"<td>{esc(v)}</td>"
                             for i, v in enumerate(r)) + "</tr>"
            for r in rows
        )  # fmt: skip
        more = f'<p class="wb-note">… {self.hidden} more rows</p>' if self.hidden else ""
        return (
            f'<table class="wb-table">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}'
        )


def table(
    frame: pl.DataFrame,
    columns: Sequence[str] | None = None,
    *,
    max_rows: int = 25,
    caption: str | None = None,
    empty: str = "(nothing)",
) -> Table:
    """``frame`` (only ``columns`` that exist, in that order, when given) as a :class:`Table`."""
    if columns is not None:
        frame = frame.select([c for c in columns if c in frame.columns])
    return Table(frame, max_rows=max_rows, caption=caption, empty=empty)
