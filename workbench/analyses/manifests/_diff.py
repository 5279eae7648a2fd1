"""Comparing two revisions of a manifest: noise paths, field-level changes and YAML diffs.

Paths are written like ``spec.template.spec.containers[*].image`` or
``metadata.annotations["deployment.kubernetes.io/revision"]``: dotted keys, ``[*]`` for any
list item (or any map key), ``[3]`` for one list index and ``["…"]`` for a key that holds dots.

Change paths (what :func:`field_changes` reports) name list items by their identity where the
items have one, so a change reads the same however the list is ordered:
``spec.template.spec.containers[checkout].image``, ``spec.taints[maintenance]``,
``status.conditions[Ready].status`` (items keyed by ``name``, ``type`` or ``key``).
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

import yaml

from workbench.errors import ParameterError

__all__ = [
    "CATEGORIES",
    "NOISE",
    "Change",
    "category_of",
    "field_changes",
    "parse_path",
    "strip_noise",
    "to_yaml",
    "unified_diff",
]

#: Fields that change without anyone changing the object; left out of diffs unless asked.
NOISE: tuple[str, ...] = (
    "metadata.resourceVersion",
    "metadata.managedFields",
    "metadata.generation",
    "metadata.selfLink",
    'metadata.annotations["deployment.kubernetes.io/revision"]',
    'metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]',
    "status.observedGeneration",
    "status.conditions[*].lastHeartbeatTime",
    "status.conditions[*].lastProbeTime",
    "status.images",
)

#: What a change is about, from its path (first match wins; see :func:`category_of`).
CATEGORIES: tuple[str, ...] = (
    "created", "deleted", "image", "replicas", "resources", "taints", "labels", "annotations",
    "config", "spec", "metadata", "status",
)  # fmt: skip

_TOKEN = re.compile(r'\["((?:[^"\\]|\\.)*)"\]|\[(\*|\d+)\]|\.?([^.\[\]]+)')
_ITEM_KEYS = ("name", "type", "key")
_CONFIG_KINDS = frozenset({"ConfigMap"})
_CONFIG_FIELDS = frozenset({"env", "envFrom", "args", "command"})

Segment = str | int


def parse_path(path: str) -> tuple[Segment, ...]:
    """A path pattern as segments: keys (str), list indexes (int) and ``"*"``.

    >>> parse_path('metadata.annotations["a.b/c"]')
    ('metadata', 'annotations', 'a.b/c')
    >>> parse_path("status.conditions[*].lastProbeTime")
    ('status', 'conditions', '*', 'lastProbeTime')
    """
    segments: list[Segment] = []
    pos = 0
    text = path.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            msg = f'cannot read path {path!r} at position {pos}; write e.g. spec.containers[*].image or metadata.annotations["a/b"]'
            raise ParameterError(msg)
        quoted, index, key = m.groups()
        if quoted is not None:
            segments.append(quoted.replace('\\"', '"'))
        elif index is not None:
            segments.append("*" if index == "*" else int(index))
        else:
            segments.append(key)
        pos = m.end()
    if not segments:
        msg = "an empty path cannot name a field"
        raise ParameterError(msg)
    return tuple(segments)


def _matches(pattern: Segment, key: Segment) -> bool:
    return pattern == "*" or pattern == key


def strip_noise(obj: Any, patterns: Iterable[str | Sequence[Segment]]) -> Any:
    """A copy of ``obj`` without the fields the path patterns name."""
    if isinstance(patterns, tuple) and all(isinstance(p, str) for p in patterns):
        parsed = list(_parsed(patterns))  # (a tuple of texts, as ChangeParams.noise: parsed once)
    else:
        parsed = [parse_path(p) if isinstance(p, str) else tuple(p) for p in patterns]
    return _strip(obj, parsed)


@functools.lru_cache(maxsize=32)
def _parsed(patterns: tuple[str, ...]) -> tuple[tuple[Segment, ...], ...]:
    """:func:`parse_path` of each of ``patterns``."""
    return tuple(parse_path(p) for p in patterns)


def _strip(obj: Any, patterns: list[tuple[Segment, ...]]) -> Any:
    if not patterns:
        return obj
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            rest = [p[1:] for p in patterns if _matches(p[0], key)]
            if any(not r for r in rest):
                continue
            out[key] = _strip(value, rest)
        return out
    if isinstance(obj, list):
        out_list = []
        for i, value in enumerate(obj):
            rest = [p[1:] for p in patterns if _matches(p[0], i)]
            if any(not r for r in rest):
                continue
            out_list.append(_strip(value, rest))
        return out_list
    return obj


def to_yaml(obj: Any) -> str:
    """YAML text of a manifest, keys in their stored order (as ``kubectl get -o yaml``)."""
    if obj is None:
        return ""
    return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False, allow_unicode=True, width=120)


def unified_diff(before: str, after: str, *, before_name: str, after_name: str, context: int = 3) -> str:
    """A unified diff of two texts (empty when they are equal)."""
    lines = difflib.unified_diff(
        before.splitlines(),
        after.splitlines(),
        fromfile=before_name,
        tofile=after_name,
        lineterm="",
        n=context,
    )
    return "\n".join(lines)


Change = tuple[str, Any, Any]  # (path, old value, new value); a missing side is None


def _ident(item: dict[str, Any], key: str) -> str | None:
    if key == "key+effect":
        k, e = item.get("key"), item.get("effect")
        return f"{k}:{e}" if isinstance(k, str) and k and isinstance(e, str) else None
    value = item.get(key)
    return value if isinstance(value, str) and value else None


def _item_key(old: list[Any], new: list[Any]) -> str | None:
    """What identifies the items of two lists of maps (``name``, ``type``, ``key``, or a taint's
    key and effect), if every item of each list has a unique one."""
    if not (old or new) or not all(isinstance(i, dict) for i in old + new):
        return None
    for key in (*_ITEM_KEYS, "key+effect"):
        if all(_unique([_ident(i, key) for i in side]) for side in (old, new)):
            return key
    return None


def _unique(values: list[str | None]) -> bool:
    return all(values) and len(set(values)) == len(values)


def _key_text(key: str) -> str:
    return f'["{key}"]' if any(c in key for c in '.[]"') or not key else f".{key}"


def field_changes(old: Any, new: Any, *, path: str = "") -> list[Change]:
    """The leaf-level differences between two manifests (or parts of them), in document order.

    Maps are compared key by key; lists of maps with a unique ``name``, ``type`` or ``key``
    are compared item by item under ``[<that value>]``; other lists index by index when their
    lengths agree, else as a whole. An added or removed part is one change whose other side
    is ``None``.
    """
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[Change] = []
        for key in list(old) + [k for k in new if k not in old]:
            sub = f"{path}{_key_text(str(key))}" if path else str(key)
            if key not in new:
                out.append((sub, old[key], None))
            elif key not in old:
                out.append((sub, None, new[key]))
            else:
                out.extend(field_changes(old[key], new[key], path=sub))
        return out
    if isinstance(old, list) and isinstance(new, list):
        key = _item_key(old, new)
        if key is not None:
            before = {_ident(i, key): i for i in old}
            after = {_ident(i, key): i for i in new}
            out = []
            for ident in list(before) + [k for k in after if k not in before]:
                sub = f"{path}[{ident}]"
                out.extend(field_changes(before.get(ident), after.get(ident), path=sub))
            return out
        if len(old) == len(new) and all(isinstance(i, dict | list) for i in old + new):
            out = []
            for i, (a, b) in enumerate(zip(old, new, strict=True)):
                out.extend(field_changes(a, b, path=f"{path}[{i}]"))
            return out
    return [(path, old, new)]


def category_of(kind: str, path: str) -> str:
    """What a change at ``path`` of a ``kind`` object is about: image, replicas, resources,
    taints, labels, annotations, config (env, args, command, ConfigMap data), spec, metadata or
    status."""
    if path.startswith("status"):
        return "status"
    if path.startswith("metadata.labels"):
        return "labels"
    if path.startswith("metadata.annotations"):
        return "annotations"
    if path.startswith("metadata"):
        return "metadata"
    if path.startswith("spec.taints"):
        return "taints"
    if re.search(r"[Cc]ontainers\[[^\]]*\]\.image$", path) or path.endswith(".image"):
        return "image"
    if path == "spec.replicas":
        return "replicas"
    if ".resources" in path or path.startswith("spec.resources"):
        return "resources"
    if kind in _CONFIG_KINDS and (path.startswith("data") or path.startswith("binaryData")):
        return "config"
    parts = set(re.split(r"[.\[\]]", path))
    if parts & _CONFIG_FIELDS:
        return "config"
    return "spec"


def value_text(value: Any, *, width: int = 200) -> str | None:
    """A change's value as short text: scalars as they are, maps and lists as compact JSON; a
    long text keeps its start and its end (an image keeps its tag).

    >>> value_text("registry.example.com/team/app:1.2.3", width=20)
    'registry.e…app:1.2.3'
    """
    if value is None:
        return None
    text = (
        value
        if isinstance(value, str)
        else json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    )
    if len(text) <= width:
        return text
    keep = width - 1
    return text[: keep - keep // 2] + "…" + text[-(keep // 2) :]
