"""Reading Kubernetes manifests from files: ``kubectl get -o json|yaml`` output, dumps, folders.

One call reads a file or walks a folder and yields :class:`Manifest` items, one per object
(Lists are expanded, their items keep their list index). Problems never stop the reading:

>>> stream = read_manifests(Path("pods.yaml"))            # doctest: +SKIP
>>> tables = normalize(stream, cluster="c1")              # doctest: +SKIP
>>> for problem in stream.problems:                       # doctest: +SKIP
...     print(problem)      # pods.yaml: document 3 (line 41), line 44, column 7: mapping values ...

The API: :func:`read_manifests` and :func:`read_manifest_tree` return a :class:`ManifestStream`,
an iterable of :class:`Manifest`. While it is iterated it records each unreadable part as a
:class:`Problem` in ``stream.problems`` (file, position, reason; a truncated JSON file, a bad
YAML document between good ones, binary data, an empty file) and each readable document that
is not a Kubernetes object in ``stream.skipped`` (logged at debug level), and it goes on with the
next document. Iterating again reads the files again and starts fresh lists. Only a path that
does not exist raises (:class:`~workbench.errors.SourceError`).

Formats: ``.json`` (one value, or several concatenated like ``kubectl get -w -o json``, or a
JSON array), ``.yaml``/``.yml`` (multi-document streams, each document parsed on its own so
one bad document does not hide the others; timestamps stay text, as in the API's JSON).
Files without a known extension are read when their content starts with ``{`` or ``[``
(e.g. a kubelet ``/pods`` dump); a folder walk skips everything else (``.log``, ``.txt``…).
Kind-less objects (Insights archives, kubelet PodLists) get their kind inferred, see
:func:`workbench.kube.kinds.infer_kind`. Secrets are dropped here already.

Speed: a JSON file holding one value (``kubectl get -o json`` output, a List) is parsed by
``orjson`` at well over 100 MB/s (see :func:`workbench.kube.parse_json`; what it refuses, such as
several concatenated values or ``NaN``, is read by :mod:`json` as before, at about 50 MB/s);
YAML goes through PyYAML's libyaml loader at well under 1 MB/s (a 30,000-pod YAML list takes
minutes where the same list as JSON takes a second), so prefer ``-o json`` for large dumps.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml

from workbench.errors import SourceError
from workbench.kube._common import gc_paused
from workbench.kube.kinds import expand, is_list, looks_like_object
from workbench.sources.base import Problem

__all__ = ["Manifest", "ManifestStream", "Problem", "Skipped", "read_manifest_tree", "read_manifests"]

logger = logging.getLogger(__name__)

JSON_SUFFIXES = frozenset({".json"})
YAML_SUFFIXES = frozenset({".yaml", ".yml"})


class _Loader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """A safe YAML loader that leaves timestamps as text, like Kubernetes' own YAML → JSON."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True, slots=True)
class Manifest:
    """One Kubernetes object and where it was read from."""

    obj: dict[str, Any]
    file: Path
    #: 0-based index of the YAML document / JSON value in the file.
    document: int
    #: 1-based line where that document starts.
    line: int
    #: Index in the enclosing List's ``items`` (``None`` for a top-level object).
    item: int | None = None

    @property
    def origin(self) -> str:
        """``file: document N (line L), item I`` for messages."""
        text = f"{self.file}: document {self.document + 1} (line {self.line})"
        return text if self.item is None else f"{text}, item {self.item}"


@dataclass(frozen=True, slots=True)
class Skipped:
    """A readable file or document that holds no Kubernetes object."""

    file: Path
    position: str | None
    reason: str


class ManifestStream(Iterable[Manifest]):
    """The manifests of files, read lazily; ``problems`` and ``skipped`` fill while iterating."""

    def __init__(self, files: Callable[[], Iterator[Path]], *, walking: bool) -> None:
        self._files = files
        self._walking = walking
        self.problems: list[Problem] = []
        self.skipped: list[Skipped] = []

    def __iter__(self) -> Iterator[Manifest]:
        self.problems = []
        self.skipped = []
        for path in self._files():
            yield from self._read_file(path)

    def _problem(self, path: Path, position: str | None, reason: str) -> None:
        problem = Problem(path, position, reason)
        logger.warning("%s", problem)
        self.problems.append(problem)

    def _skip(self, path: Path, position: str | None, reason: str) -> None:
        logger.debug("skipped %s%s: %s", path, f" ({position})" if position else "", reason)
        self.skipped.append(Skipped(path, position, reason))

    def _read_file(self, path: Path) -> Iterator[Manifest]:
        suffix = path.suffix.lower()
        known = suffix in JSON_SUFFIXES or suffix in YAML_SUFFIXES
        # In a folder walk a file without a manifest extension is only sniffed: whatever it
        # holds that is not JSON is skipped, not reported.
        sniffing = self._walking and not known
        if sniffing and suffix:
            self._skip(path, None, f"not a manifest file ({suffix})")
            return
        try:
            data = path.read_bytes()
        except OSError as err:
            self._problem(path, None, f"cannot be read ({err.strerror or err}); check its permissions")
            return
        report = self._skip if sniffing else self._problem
        if b"\x00" in data[:8192]:
            report(path, None, "binary data, not JSON or YAML text")
            return
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            report(path, f"byte {err.start}", "not UTF-8 text (a binary or differently encoded file?)")
            return
        stripped = text.lstrip()
        if not stripped:
            report(path, None, "empty file")
            return
        if suffix in JSON_SUFFIXES or (not known and stripped[0] in "{["):
            documents = self._json_documents(path, text, sniffing=sniffing)
        elif not sniffing:
            documents = self._yaml_documents(path, text)
        else:
            self._skip(path, None, "no extension and not JSON")
            return
        for index, line, value in documents:
            yield from self._objects(path, index, line, value)

    def _objects(self, path: Path, index: int, line: int, value: object) -> Iterator[Manifest]:
        position = f"document {index + 1} (line {line})"
        if isinstance(value, list):  # a top-level JSON/YAML array of objects
            value = {"items": value}
        if not looks_like_object(value):
            what = (
                type(value).__name__
                if not isinstance(value, dict)
                else "keys " + ", ".join(sorted(value)[:5])
            )
            self._skip(path, position, f"not a Kubernetes object ({what})")
            return
        assert isinstance(value, dict)
        listed = is_list(value)
        for item_index, obj in expand(value):
            where = f"{position}, item {item_index}" if listed else position
            if not isinstance(obj, dict) or not looks_like_object(obj):
                self._skip(path, where, "not a Kubernetes object")
                continue
            if obj.get("kind") == "Secret" and "/" not in str(obj.get("apiVersion") or "v1"):
                self._skip(path, where, "a Secret (never collected)")
                continue
            yield Manifest(obj, path, index, line, item_index if listed else None)

    def _json_documents(
        self, path: Path, text: str, *, sniffing: bool = False
    ) -> Iterator[tuple[int, int, Any]]:
        ws = re.compile(r"\s*")
        whole = _one_json_value(text)
        if whole is not _NOT_ONE:
            yield 0, 1 + text.count("\n", 0, ws.match(text).end()), whole  # type: ignore[union-attr]
            return
        decoder = json.JSONDecoder()
        pos, line, index, size = 0, 1, 0, len(text)
        while True:
            start = ws.match(text, pos).end()  # type: ignore[union-attr]
            if start >= size:
                return
            line += text.count("\n", pos, start)
            try:
                value, end = decoder.raw_decode(text, start)
            except json.JSONDecodeError as err:
                if sniffing and index == 0:  # e.g. an INI file starting with "[section]"
                    self._skip(path, None, "no extension and not JSON")
                    return
                self._problem(
                    path,
                    f"document {index + 1}, line {err.lineno}, column {err.colno}",
                    f"invalid JSON: {err.msg}",
                )
                resume = re.compile(r"^[{\[]", re.M).search(text, err.pos + 1)
                if resume is None or resume.start() <= start:
                    return
                line += text.count("\n", start, resume.start())
                pos, index = resume.start(), index + 1
                continue
            yield index, line, value
            line += text.count("\n", start, end)
            pos, index = end, index + 1

    def _yaml_documents(self, path: Path, text: str) -> Iterator[tuple[int, int, Any]]:
        index = 0
        for first_line, chunk in _yaml_chunks(text):
            try:
                values = list(yaml.load_all(chunk, Loader=_Loader))  # noqa: S506 - a safe loader
            except yaml.YAMLError as err:
                mark = getattr(err, "problem_mark", None)
                where = f"document {index + 1} (line {first_line})"
                if mark is not None:
                    where += f", line {first_line + mark.line}, column {mark.column + 1}"
                problem = getattr(err, "problem", None) or str(err).splitlines()[0]
                self._problem(path, where, f"invalid YAML: {problem}")
                index += 1
                continue
            for value in values:
                if value is not None:
                    yield index, first_line, value
                    index += 1


_NOT_ONE = object()


def _one_json_value(text: str) -> Any:
    """The single JSON value ``text`` holds, parsed with ``orjson`` (the garbage collector
    paused), or ``_NOT_ONE`` when ``orjson`` refuses it: several values, invalid JSON, ``NaN``,
    lone surrogates… which the :mod:`json` loop then reads or reports exactly as before."""
    with gc_paused():
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return _NOT_ONE


def _yaml_chunks(text: str) -> Iterator[tuple[int, str]]:
    """Split a YAML stream at ``---`` lines: ``(first line, text)`` per document."""
    start, buffer = 1, []
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        if line.startswith("---") and (len(line.rstrip("\r\n")) == 3 or line[3] in " \t"):
            if "".join(buffer).strip():
                yield start, "".join(buffer)
            start, buffer = number, [line]
        else:
            buffer.append(line)
    if "".join(buffer).strip():
        yield start, "".join(buffer)


def read_manifests(path: Path | str) -> ManifestStream:
    """The Kubernetes objects in one file (any extension; content decides JSON or YAML)."""
    path = Path(path)
    if not path.is_file():
        hint = "; to read a folder use read_manifest_tree" if path.is_dir() else ""
        msg = f"manifest file {path} does not exist{hint}"
        raise SourceError(msg)
    return ManifestStream(lambda: iter([path]), walking=False)


def read_manifest_tree(root: Path | str) -> ManifestStream:
    """The Kubernetes objects in every file under ``root`` (sorted, hidden entries skipped).

    ``.json``, ``.yaml`` and ``.yml`` files are read, and files without an extension whose
    content is JSON; everything else, and JSON that is not a Kubernetes object (e.g. kubelet
    ``/stats/summary``), is skipped with a debug log and listed in ``stream.skipped``.
    """
    root = Path(root)
    if not root.exists():
        msg = f"folder {root} does not exist; give the folder of a dump (kubectl cluster-info dump, must-gather…)"
        raise SourceError(msg)
    if root.is_file():
        return read_manifests(root)

    def files() -> Iterator[Path]:
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root).parts
            if any(part.startswith(".") for part in relative) or not path.is_file():
                continue
            yield path

    return ManifestStream(files, walking=True)
