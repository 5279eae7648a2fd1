"""``kubectl cluster-info dump`` output: its ``logs.txt`` files and its single-file form.

kubectl writes each container's log between two marker lines::

    ==== START logs for container etcd of pod kube-system/etcd-node-1 ====
    …the log, as ``kubectl logs`` prints it (no timestamps added)…
    ==== END logs for container etcd of pod kube-system/etcd-node-1 ====

in ``<ns>/<pod>/logs.txt`` with ``--output-directory``, or inline between the JSON Lists
(NodeList, EventList, PodList…) when it prints everything to stdout. A log that does not end
with a newline has the END marker glued to its last line. When kubectl could not read a log it
writes ``Create log request error: …`` or ``Request log error: …`` as the block's only line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["JsonPart", "LogBlock", "decode_lines", "json_values", "split_dump"]

_START = re.compile(
    r"==== START logs for container (?P<container>\S+) of pod (?P<ns>[^/\s]+)/(?P<pod>\S+) ===="
)
_END = "==== END logs for container "
_FETCH_ERRORS = ("Create log request error: ", "Request log error: ")


@dataclass(slots=True)
class LogBlock:
    """One container's log: where it starts, whose it is, its lines with their line numbers."""

    line: int
    namespace: str
    pod: str
    container: str
    lines: list[tuple[int, str]] = field(default_factory=list)
    ended: bool = False

    @property
    def fetch_error(self) -> str | None:
        """kubectl's message when it could not read this log, else ``None``."""
        if len(self.lines) == 1 and self.lines[0][1].startswith(_FETCH_ERRORS):
            return self.lines[0][1]
        return None


@dataclass(slots=True)
class JsonPart:
    """Text outside the log blocks (JSON Lists in the single-file form), from line ``line``."""

    line: int
    text: str


def decode_lines(data: bytes) -> tuple[list[str], list[int]]:
    """The lines of ``data`` as text, and the numbers of the lines whose invalid UTF-8 (or NUL
    bytes) had to be replaced."""
    lines, bad = [], []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        raw = raw.removesuffix(b"\r")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("utf-8", "replace")
            bad.append(number)
        if "\x00" in text:
            text = text.replace("\x00", "")
            if not bad or bad[-1] != number:
                bad.append(number)
        lines.append(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines, bad


def split_dump(lines: list[str]) -> Iterator[LogBlock | JsonPart]:
    """The log blocks and the text between them, in file order."""
    buffer: list[str] = []
    start = 1
    block: LogBlock | None = None
    for number, line in enumerate(lines, start=1):
        if block is not None:
            cut = line.find(_END)
            if cut < 0:
                block.lines.append((number, line))
                continue
            if cut > 0:
                block.lines.append((number, line[:cut]))
            block.ended = True
            yield block
            block = None
            continue
        match = _START.fullmatch(line.strip())
        if match is not None:
            if any(b.strip() for b in buffer):
                yield JsonPart(start, "\n".join(buffer))
            buffer = []
            block = LogBlock(number, match["ns"], match["pod"], match["container"])
            continue
        if not buffer:
            start = number
        buffer.append(line)
    if block is not None:
        yield block
    if any(b.strip() for b in buffer):
        yield JsonPart(start, "\n".join(buffer))


def json_values(part: JsonPart) -> Iterator[tuple[str, object | None, str | None]]:
    """``(position, value, None)`` for each JSON value in ``part``, or ``(position, None, reason)``
    where the text is not JSON; reading resumes at the next line starting with ``{`` or ``[``."""
    decoder = json.JSONDecoder()
    text, pos = part.text, 0
    space = re.compile(r"\s*")
    resume = re.compile(r"^[{\[]", re.M)
    while True:
        pos = space.match(text, pos).end()  # type: ignore[union-attr]
        if pos >= len(text):
            return
        line = part.line + text.count("\n", 0, pos)
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as err:
            yield f"line {part.line + err.lineno - 1}, column {err.colno}", None, f"invalid JSON: {err.msg}"
            found = resume.search(text, max(err.pos, pos) + 1)
            if found is None:
                return
            pos = found.start()
            continue
        yield f"line {line}", value, None
        pos = end
