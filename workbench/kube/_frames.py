"""Typed polars frames from the normaliser's rows, built column by column.

:func:`workbench.schema.conform` gives the final shape; this module only hands it columns it can
take without converting Python objects one by one in polars' slow generic path: timestamps go in
as integer microseconds (polars converts an aware ``datetime`` in about 4 µs, the integer in a
tenth of that), every other column as a list of plain values with the column's type.

>>> from datetime import UTC, datetime
>>> frame("events", {"cluster": ["c"], "first_time": [datetime(2024, 1, 1, tzinfo=UTC)]}).row(0)[:1]
('c',)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

import polars as pl

from workbench.errors import SchemaError
from workbench.schema import SCHEMAS, TS, conform, empty

__all__ = ["columns_of", "frame"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class _NotPlain(Exception):
    """A timestamp column holds something other than aware datetimes and ``None``."""


def _micros(values: Sequence[Any]) -> list[int | None]:
    """Aware datetimes as microseconds since the epoch (the same instant polars stores)."""
    if values and len(set(map(id, values))) == 1:  # one value throughout (observed_at)
        return [None if values[0] is None else _micro(values[0])] * len(values)
    out: list[int | None] = []
    append = out.append
    last, last_micros = None, None
    for value in values:
        if value is not last:  # the same datetime object often repeats (cached parses)
            last, last_micros = value, None if value is None else _micro(value)
        append(last_micros)
    return out


def _micro(value: object) -> int:
    if type(value) is not datetime or value.tzinfo is None:
        raise _NotPlain
    return (value - _EPOCH) // _MICROSECOND


def _series(table: str, name: str, values: Sequence[Any], dtype: pl.DataType) -> pl.Series:
    if dtype == TS:
        try:
            return pl.Series(name, _micros(values), dtype=pl.Int64).cast(TS)
        except _NotPlain:
            pass  # polars' own conversion decides (and names the bad value)
    target = pl.String if isinstance(dtype, pl.Enum) else dtype
    try:
        try:
            return pl.Series(name, values, dtype=target, strict=True)
        except UnicodeEncodeError:  # a lone surrogate (JSON "\ud800" reads as one): not UTF-8
            return pl.Series(name, [_replaced(v) for v in values], dtype=target, strict=True)
    except (TypeError, OverflowError, pl.exceptions.PolarsError) as err:
        msg = f"table {table!r}, column {name!r}: a value does not fit {dtype} ({err})"
        raise SchemaError(msg) from err


def _replaced(value: Any) -> Any:
    """``value`` with each lone surrogate in its text replaced by U+FFFD, as a UTF-8 decoder
    replaces a byte it cannot read."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [_replaced(v) for v in value]
    if isinstance(value, dict):
        return {_replaced(k): _replaced(v) for k, v in value.items()}
    return value


def frame(table: str, columns: Mapping[str, Sequence[Any]]) -> pl.DataFrame:
    """The same frame as :func:`workbench.schema.conform` of the rows these columns hold
    (columns of equal length; a missing column is all null), raising :class:`SchemaError` where
    it would."""
    expected = SCHEMAS[table]
    extra = sorted(c for c in columns if c not in expected)
    if extra:
        msg = f"table {table!r}: unexpected column(s) {', '.join(map(repr, extra))}"
        raise SchemaError(msg)
    if not columns or not len(next(iter(columns.values()))):
        return empty(table)
    series = [_series(table, c, columns[c], dtype) for c, dtype in expected.items() if c in columns]
    return conform(table, pl.DataFrame(series))


def columns_of(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Row dicts → one list per key that any row has (``None`` where a row lacks it)."""
    if not rows:
        return {}
    keys = list(rows[0])
    if len(keys) > 1 and all(len(row) == len(keys) for row in rows):
        try:  # the usual case: every row has the first row's keys (and so no others)
            values = list(map(itemgetter(*keys), rows))
        except KeyError:
            pass
        else:
            return dict(zip(keys, map(list, zip(*values, strict=True)), strict=True))
    return {key: [row.get(key) for row in rows] for key in set().union(*rows)}
