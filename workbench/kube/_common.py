"""Small helpers shared by the normaliser modules: timestamps, JSON text, owners, selectors.

JSON text is written with ``orjson`` (ten times faster than :mod:`json` on manifests) in the same
compact form :func:`json.dumps` gives with ``separators=(",", ":"), ensure_ascii=False``: same
escapes, same key order, same numbers except that a float with a negative exponent is written
``1e-7`` (not ``1e-07``) and NaN/Infinity, which JSON has no words for, as ``null``. Values
``orjson`` refuses (integers beyond 64 bits, non-text keys, lone surrogates, sets, dates) go
through :mod:`json` as before.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import orjson

__all__ = [
    "api_group",
    "controller_owner",
    "gc_paused",
    "json_text",
    "manifest_text",
    "newest_timestamp",
    "parse_json",
    "parse_time",
]

_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
_dumps = orjson.dumps


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while bulk JSON trees are built or walked.

    Parsed manifests hold no reference cycles, so the collector finds nothing in them, yet with
    millions of new dicts it runs again and again over all of them (half the time of parsing a
    large PodList). Reference counting still frees everything; the collector is switched back
    on afterwards (unless it was already off).
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def parse_json(data: bytes | str) -> Any:
    """Parse one JSON document like :func:`json.loads`, several times faster (``orjson``, with
    the garbage collector paused).

    Input ``orjson`` rejects but :mod:`json` reads (``NaN``, lone surrogate escapes, a byte-order
    mark, UTF-16) goes to :func:`json.loads`, so invalid JSON raises :class:`json.JSONDecodeError`
    with its line and column. One difference: an integer beyond 64 bits becomes a float, as the
    Kubernetes API server itself reads it.
    """
    with gc_paused():
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            return json.loads(data)


def _json_default(value: object) -> object:
    """Make values that YAML loaders produce (datetimes, dates, sets) JSON-serialisable."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    msg = f"value of type {type(value).__name__} is not JSON serialisable"
    raise TypeError(msg)


def json_text(value: Any) -> str | None:
    """Compact JSON text with sorted keys, or ``None`` for ``None`` and empty maps/lists."""
    if value is None or (isinstance(value, (dict, list)) and not value):
        return None
    try:
        return _dumps(value, default=_json_default, option=_SORTED).decode()
    except TypeError:
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
        )


def manifest_text(value: Mapping[str, Any]) -> str:
    """Compact JSON text of a manifest, keys in their original order."""
    try:
        return _dumps(value, default=_json_default, option=orjson.OPT_PASSTHROUGH_DATETIME).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)


@lru_cache(maxsize=65536)
def _parse_time_text(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 timestamp (``2021-07-07T16:14:55Z``, offsets, fractions) as an aware UTC datetime.

    ``None``, empty text and text that is not a timestamp give ``None``. Datetimes (as a YAML loader
    may produce) are converted to UTC; naive ones are taken as UTC.

    >>> parse_time("2022-08-24T11:40:44+02:00").isoformat()
    '2022-08-24T09:40:44+00:00'
    """
    if isinstance(value, str):
        return _parse_time_text(value) if value else None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    return None


def api_group(api_version: str | None) -> str:
    """The API group of an ``apiVersion`` (``""`` for the core group): ``apps/v1`` → ``apps``."""
    if not api_version or "/" not in api_version:
        return ""
    return api_version.split("/", 1)[0]


def _created_by(metadata: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ``kubernetes.io/created-by`` annotation of clusters older than 1.8 (a serialised
    reference to the creating controller), which predates ownerReferences."""
    text = (metadata.get("annotations") or {}).get("kubernetes.io/created-by")
    if not isinstance(text, str):
        return None
    try:
        reference = json.loads(text).get("reference")
    except (ValueError, AttributeError):
        return None
    return reference if isinstance(reference, dict) else None


def controller_owner(metadata: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(kind, name)`` of the controller ownerReference, else of the first ownerReference, else
    of the legacy ``kubernetes.io/created-by`` annotation."""
    refs = metadata.get("ownerReferences") or []
    chosen = None
    for ref in refs:
        if isinstance(ref, dict) and ref.get("controller") is True:
            chosen = ref
            break
    if chosen is None:
        chosen = next((ref for ref in refs if isinstance(ref, dict)), None)
    if chosen is None:
        chosen = _created_by(metadata)
    if chosen is None or not chosen.get("kind") or not chosen.get("name"):
        return None
    return str(chosen["kind"]), str(chosen["name"])


def _times_of(status: Mapping[str, Any]) -> list[object]:
    found: list[object] = [
        status.get(k) for k in ("startTime", "completionTime", "lastScheduleTime", "lastSuccessfulTime")
    ]
    for cond in status.get("conditions") or []:
        if isinstance(cond, dict):
            found.extend(
                cond.get(k)
                for k in ("lastTransitionTime", "lastProbeTime", "lastHeartbeatTime", "lastUpdateTime")
            )
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in status.get(key) or []:
            if not isinstance(cs, dict):
                continue
            for state in (cs.get("state"), cs.get("lastState")):
                if isinstance(state, dict):
                    for detail in state.values():
                        if isinstance(detail, dict):
                            found.append(detail.get("startedAt"))
                            found.append(detail.get("finishedAt"))
    return found


def newest_timestamp(obj: Mapping[str, Any]) -> datetime | None:
    """The newest timestamp an object carries: creation, status condition and container times,
    an event's first/last/series times. ``None`` when it carries none."""
    metadata = obj.get("metadata") or {}
    candidates: list[object] = [metadata.get("creationTimestamp")]
    status = obj.get("status")
    if isinstance(status, dict):
        candidates.extend(_times_of(status))
    for key in (
        "firstTimestamp",
        "lastTimestamp",
        "eventTime",
        "deprecatedFirstTimestamp",
        "deprecatedLastTimestamp",
    ):
        candidates.append(obj.get(key))
    series = obj.get("series")
    if isinstance(series, dict):
        candidates.append(series.get("lastObservedTime"))
    newest = None
    for candidate in candidates:
        parsed = parse_time(candidate)
        if parsed is not None and (newest is None or parsed > newest):
            newest = parsed
    return newest
