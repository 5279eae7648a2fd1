"""Container log files → :class:`Raw` lines, with problems for what cannot be read as text.

``cri``          ``2023-10-06T00:17:09.669794202Z stdout F message`` (containerd, CRI-O; ``P``
                 partial lines are joined up to the next ``F`` of the same stream)
``docker``       docker's json-file driver: ``{"log": "…\\n", "stream": "stderr", "time": "…"}``
                 (entries without a final newline are partial and joined the same way)
``timestamped``  each line starts with an RFC 3339 timestamp and a space (``kubectl logs
                 --timestamps``, must-gather ``current.log``)
``plain``        anything else (``kubectl logs``, journal exports); lines parsed as they are

Lines are read with bounded memory: at most ``cap`` bytes of a line are kept, the rest is counted
and reported as truncated. NUL runs are removed; lines that are mostly control bytes are binary
garbage and skipped; invalid UTF-8 becomes U+FFFD. Each of these is reported as a problem with
its line numbers, never dropped silently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from workbench.sources.logs._join import Raw
from workbench.sources.logs._text import parse_ts
from workbench.sources.traces import Problem

__all__ = ["LOG_FORMATS", "Issues", "detect", "physical_lines", "read_raw"]

LOG_FORMATS: tuple[str, ...] = ("cri", "docker", "timestamped", "plain")

_CRI = re.compile(r"(\S+) (stdout|stderr) ([FP])(?: (.*))?", re.S)
_TS_LINE = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?)(?: (.*))?", re.S)
_CTRL = bytes(b for b in range(32) if b not in (9, 10, 13, 27)) + b"\x7f"


class Issues:
    """Collects line numbers per kind of problem and reports each kind once, as ranges."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: dict[str, list[int]] = {}

    def add(self, reason: str, line: int) -> None:
        self.lines.setdefault(reason, []).append(line)

    def problems(self) -> list[Problem]:
        out = []
        for reason, nums in self.lines.items():
            ranges: list[list[int]] = []
            for n in nums:
                if ranges and n == ranges[-1][1] + 1:
                    ranges[-1][1] = n
                else:
                    ranges.append([n, n])
            parts = [str(a) if a == b else f"{a}-{b}" for a, b in ranges[:5]]
            more = f" and {len(ranges) - 5} more ranges" if len(ranges) > 5 else ""
            where = ("line " if len(nums) == 1 else "lines ") + ", ".join(parts) + more
            out.append(
                Problem(self.file, where, f"{reason} ({len(nums)} line{'s' if len(nums) > 1 else ''})")
            )
        return out


def physical_lines(fh: BinaryIO, cap: int) -> Iterator[tuple[int, bytes, int]]:
    """(line number, first ``cap`` bytes without the newline, full length without the newline)."""
    n = 0
    while True:
        chunk = fh.readline(cap)
        if not chunk:
            return
        n += 1
        total, ended = len(chunk), chunk.endswith(b"\n")
        while not ended:
            more = fh.readline(1 << 20)
            if not more:
                break
            total += len(more)
            ended = more.endswith(b"\n")
        if ended:
            total -= 1
            chunk = chunk.removesuffix(b"\n")
        if chunk.endswith(b"\r"):
            chunk, total = chunk[:-1], total - 1
        yield n, chunk, total


def _trim_partial(data: bytes) -> bytes:
    """``data`` without a UTF-8 character cut in two at its end."""
    i = len(data) - 1
    while i >= 0 and i >= len(data) - 4 and (data[i] & 0xC0) == 0x80:
        i -= 1
    if i < 0 or data[i] < 0x80:
        return data
    lead = data[i]
    need = 2 if lead >> 5 == 0b110 else 3 if lead >> 4 == 0b1110 else 4 if lead >> 3 == 0b11110 else 1
    return data if len(data) - i >= need else data[:i]


def _decode(n: int, data: bytes, issues: Issues) -> str | None:
    """The text of one line, or ``None`` for binary garbage."""
    if b"\x00" in data:
        data = data.replace(b"\x00", b"")
        if not data.strip():
            issues.add("binary data (NUL bytes) skipped", n)
            return None
        issues.add("NUL bytes removed, the rest of the line kept", n)
    ctrl = len(data) - len(data.translate(None, _CTRL))
    if ctrl and ctrl > 0.1 * len(data):
        issues.add("binary data (control bytes) skipped", n)
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", "replace")
        if text.count("\ufffd") > 0.3 * len(text):
            issues.add("binary data (not UTF-8) skipped", n)
            return None
        issues.add("invalid UTF-8 replaced by U+FFFD", n)
        return text


def detect(sample: list[str]) -> str:
    """The file format that most of the sample lines have (``plain`` when none stands out)."""
    counts = dict.fromkeys(("cri", "docker", "timestamped"), 0)
    for line in sample:
        if _CRI.fullmatch(line) and parse_ts(line.split(" ", 1)[0]):
            counts["cri"] += 1
        elif line.startswith("{") and '"log"' in line and '"stream"' in line:
            counts["docker"] += 1
        elif _TS_LINE.fullmatch(line):
            counts["timestamped"] += 1
    best = max(counts, key=lambda k: counts[k])
    return best if sample and counts[best] >= max(1, len(sample) // 2) else "plain"


@dataclass(slots=True)
class _Held:
    ts: datetime | None
    stream: str | None
    parts: list[str] = field(default_factory=list)
    size: int = 0
    lost: int = 0


class _Pending:
    """Partial lines (CRI ``P``, docker entries without newline) waiting for their end."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.held: dict[str | None, _Held] = {}

    def add(self, raw: Raw, *, final: bool) -> Raw | None:
        """The whole line once ``raw`` ends it (``final``), else ``None`` (kept until then)."""
        held = self.held.pop(raw.stream, None)
        if held is None:
            if final:
                return raw
            held = _Held(raw.ts, raw.stream)
        size = len(raw.text.encode("utf-8", "replace"))
        if held.size + size <= self.cap:
            held.parts.append(raw.text)
            held.size += size
        else:
            held.lost += size
        held.lost += raw.lost
        if final:
            return Raw(held.ts, "".join(held.parts), held.stream, held.lost)
        self.held[raw.stream] = held
        return None

    def flush(self) -> list[Raw]:
        """Partial lines never ended (the file stops in the middle of one): kept as they are."""
        out = [Raw(h.ts, "".join(h.parts), h.stream, h.lost) for h in self.held.values()]
        self.held.clear()
        return out


def read_raw(fh: BinaryIO, fmt: str, *, cap: int, issues: Issues) -> tuple[list[Raw], int]:
    """The :class:`Raw` lines of an open log file in format ``fmt``, and the physical line count."""
    out: list[Raw] = []
    pending = _Pending(cap)
    count = 0
    for n, data, total in physical_lines(fh, cap):
        count = n
        if total > len(data):
            data = _trim_partial(data)
        cut = total - len(data)
        text = _decode(n, data, issues)
        if text is None:
            continue
        if fmt == "cri":
            m = _CRI.fullmatch(text)
            ts = parse_ts(m.group(1)) if m else None
            if m is None or ts is None:
                issues.add("not in CRI log format (kept as plain text)", n)
                out.append(Raw(None, text, None, cut))
                continue
            done = pending.add(Raw(ts, m.group(4) or "", m.group(2), cut), final=m.group(3) == "F")
            if done is not None:
                out.append(done)
        elif fmt == "docker":
            try:
                doc = json.loads(text)
                log_text, stream = doc["log"], doc.get("stream")
                ts = parse_ts(doc["time"]) if doc.get("time") else None
            except (ValueError, KeyError, TypeError, AttributeError):
                issues.add("not a docker json-file entry (kept as plain text)", n)
                out.append(Raw(None, text, None, cut))
                continue
            final = log_text.endswith("\n")
            raw = Raw(
                ts,
                log_text.removesuffix("\n").removesuffix("\r"),
                stream if stream in ("stdout", "stderr") else None,
            )
            done = pending.add(raw, final=final)
            if done is not None:
                out.append(done)
        elif fmt == "timestamped":
            m = _TS_LINE.fullmatch(text)
            ts = parse_ts(m.group(1)) if m else None
            if m is not None and ts is not None:
                out.append(Raw(ts, m.group(2) or "", None, cut))
            else:
                out.append(Raw(None, text, None, cut))
        else:
            out.append(Raw(None, text, None, cut))
    out.extend(pending.flush())
    return out, count
