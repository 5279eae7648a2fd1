"""Shared pieces of every analysis: typed parameter objects, findings, name suggestions.

An analysis takes one parameters object. Its fields carry a description and bounds, and the
same fields feed the notebook's parameters cell, the CLI's ``--help`` and the app's widgets::

    @dataclass(frozen=True, kw_only=True)
    class PendingParams(Params):
        cluster: str | None = field(None, "cluster to analyse (all when empty)")
        percentile: float = field(95.0, "percentile of usage to size for", ge=50, le=100)

    PendingParams(percentile=120)   # ParameterError: percentile must be ≤ 100 (got 120)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, TypeVar

from workbench.errors import ParameterError

__all__ = ["Finding", "Params", "closest", "field", "parse_duration", "require_one_of", "resolve_params"]


def field(
    default: Any,
    doc: str,
    *,
    ge: float | None = None,
    le: float | None = None,
    choices: Sequence[Any] | None = None,
) -> Any:
    """A parameter field with a description and optional bounds or choices."""
    meta = {"doc": doc, "ge": ge, "le": le, "choices": tuple(choices) if choices is not None else None}
    if isinstance(default, list | dict | set):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Params:
    """Base class of analysis parameters: checks bounds and choices when constructed."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            meta = f.metadata
            if value is None:
                continue
            if meta.get("ge") is not None and value < meta["ge"]:
                msg = f"{f.name} must be ≥ {meta['ge']} (got {value}): {meta['doc']}"
                raise ParameterError(msg)
            if meta.get("le") is not None and value > meta["le"]:
                msg = f"{f.name} must be ≤ {meta['le']} (got {value}): {meta['doc']}"
                raise ParameterError(msg)
            if meta.get("choices") is not None and value not in meta["choices"]:
                msg = f"{f.name} must be one of {', '.join(map(str, meta['choices']))} (got {value!r})"
                raise ParameterError(msg)

    @classmethod
    def describe(cls) -> list[dict[str, Any]]:
        """Name, type, default, description and bounds of every field (for CLI help and widgets)."""
        out = []
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            out.append({"name": f.name, "type": str(f.type), "default": default, **f.metadata})
        return out

    def replace(self, **changes: Any) -> Params:
        return dataclasses.replace(self, **changes)


Severity = Literal["info", "warning", "critical"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Finding:
    """Something an analysis found that a person should read: what, where, when, and why."""

    severity: Severity
    title: str
    detail: str = ""
    cluster: str | None = None
    namespace: str | None = None
    kind: str | None = None
    name: str | None = None
    time: dt.datetime | None = None
    evidence: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def closest(name: str, candidates: Iterable[str], *, n: int = 5) -> list[str]:
    """The candidates that look most like ``name`` (for "did you mean" messages).

    >>> closest("checkot", ["checkout", "cart", "catalogue"])
    ['checkout']
    """
    pool = sorted(set(candidates))
    hits = difflib.get_close_matches(name, pool, n=n, cutoff=0.5)
    return hits or [c for c in pool if name.lower() in c.lower()][:n]


def require_one_of(what: str, name: str, candidates: Iterable[str]) -> None:
    """Raise :class:`ParameterError` unless ``name`` is a candidate; the message lists the
    closest matches.

    >>> require_one_of("pod", "cart-1", ["cart-0", "cart-2"])
    Traceback (most recent call last):
    ...
    workbench.errors.ParameterError: no pod named 'cart-1'; closest: cart-2, cart-0
    """
    pool = list(candidates)
    if name in pool:
        return
    near = closest(name, pool)
    hint = f"; closest: {', '.join(near)}" if near else f"; there are {len(set(pool))} to choose from"
    msg = f"no {what} named {name!r}{hint}"
    raise ParameterError(msg)


P = TypeVar("P", bound=Params)


def resolve_params(cls: type[P], params: P | None, changes: Mapping[str, Any]) -> P:
    """``params`` (or the defaults) with ``changes`` applied; an unknown name lists the closest.

    Every analysis takes ``(data, params=None, **changes)`` and starts with this."""
    if params is None:
        params = cls()
    elif not isinstance(params, cls):
        msg = f"expected {cls.__name__} parameters, got {type(params).__name__}"
        raise ParameterError(msg)
    if changes:
        names = [f.name for f in dataclasses.fields(cls)]
        for key in changes:
            if key not in names:
                near = closest(key, names)
                hint = f"; closest: {', '.join(near)}" if near else f"; the parameters are {', '.join(names)}"
                msg = f"{cls.__name__} has no parameter {key!r}{hint}"
                raise ParameterError(msg)
        params = dataclasses.replace(params, **changes)
    return params


#: The scan filters analyses over logs and spans take beside their parameters.
SCAN_FILTERS = ("cluster", "namespace", "pod", "container", "start", "end")


def split_options(
    cls: type[P],
    params: P | None,
    options: Mapping[str, Any],
    *,
    what: str,
    filters: Iterable[str] = SCAN_FILTERS,
) -> tuple[P, dict[str, Any]]:
    """Keyword options → (``params`` or the defaults with the parameter options applied, the
    scan filters); an unknown name lists the closest parameters and filters."""
    filters = tuple(filters)
    known = [f.name for f in dataclasses.fields(cls)]
    opts, where = {}, {}
    for k, v in options.items():
        if k in filters:
            where[k] = v
        elif k in known:
            opts[k] = v
        else:
            near = closest(k, [*known, *filters])
            msg = f"unknown {what} option {k!r}" + (f"; did you mean {', '.join(near)}?" if near else "")
            raise ParameterError(msg)
    return (dataclasses.replace(params, **opts) if params is not None else cls(**opts)), where


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: str | dt.timedelta | float, *, what: str = "duration") -> dt.timedelta:
    """``"7d"``, ``"90m"``, ``"1h30m"``, ``"500ms"`` or a number of seconds as a timedelta.

    >>> parse_duration("1h30m")
    datetime.timedelta(seconds=5400)
    """
    if isinstance(value, dt.timedelta):
        result = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        result = dt.timedelta(seconds=float(value))
    else:
        text = str(value).strip()
        parts = _DURATION.findall(text)
        if not text or "".join(f"{n}{u}" for n, u in parts) != text.replace(" ", ""):
            msg = f"{what} {value!r} is not a duration; use e.g. 30s, 15m, 6h, 7d or 1h30m"
            raise ParameterError(msg)
        result = dt.timedelta(seconds=sum(float(n) * _UNIT[u] for n, u in parts))
    if result <= dt.timedelta(0):
        msg = f"{what} must be positive (got {value!r})"
        raise ParameterError(msg)
    return result
