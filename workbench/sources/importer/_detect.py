"""Telling a file's format from its content (the file name never decides, except that a
plain-text file is only taken for a log when it ends in ``.log`` or sits where a dump keeps logs).

The order: empty → binary → the cluster-info dump's log markers → JSON (a trace format, a
docker json-file or JSON-lines log, else Kubernetes objects) → Prometheus/OpenMetrics exposition
→ YAML → timestamped, CRI, klog, syslog or logfmt log lines → a ``.log`` file read as plain text.
"""

from __future__ import annotations

import gzip
import json
import mmap
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from workbench.sources.logs import parse_line
from workbench.sources.traces import detect_format

__all__ = ["CLAIMED_SUFFIXES", "HEAD_BYTES", "Detected", "detect", "read_head"]

#: Bytes read from the start of a file to tell its format.
HEAD_BYTES = 65536
#: Suffixes that claim a format the import reads: an empty file with one is reported even when
#: found by walking a folder (other empty files are listed as skipped).
CLAIMED_SUFFIXES = frozenset({".json", ".yaml", ".yml", ".log", ".txt", ".prom", ".metrics", ".gz", ""})
START_MARKER = "==== START logs for container "

_TRACE_KEYS = ('"resourceSpans"', '"resource_spans"', '"traceID"', '"traceId"', '"spans"')
_K8S_KEYS = frozenset({"apiVersion", "kind", "metadata", "items"})
_METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*[a-zA-Z0-9_]"
_SAMPLE = re.compile(
    rf"(?:{_METRIC_NAME}(?:\{{.*\}})?|\{{\".*\}})\s+[+-]?(?:\d[\d.eE+_-]*|\.\d+|Inf|inf|NaN|nan)(?:\s+-?\d+(?:\.\d+)?)?"
    r"(?:\s+#\s+\{.*)?"
)
_FAMILY = re.compile(rf"#\s+(?:HELP|TYPE|UNIT)\s+{_METRIC_NAME}(?:\s|$)")
_YAML_KEY = re.compile(r"""(?:[A-Za-z_][\w.\-/]*|"[^"]*"|'[^']*')\s*:(?:\s|$)""")
_CRI = re.compile(r"\d{4}-\d\d-\d\dT\S+ (?:stdout|stderr) [FP](?: |$)")
_SAMPLE_LINES = 50


@dataclass(frozen=True, slots=True)
class Detected:
    """What a file holds. ``format`` is ``None`` when it is not read: then ``problem`` says why
    when that deserves a warning, else ``skip`` says why it was passed over."""

    format: str | None
    position: str | None = None
    problem: str | None = None
    skip: str | None = None
    gzip: bool = False
    #: The file is empty: a problem only where a format is expected (see :data:`CLAIMED_SUFFIXES`).
    empty: bool = False


def read_head(path: Path) -> tuple[bytes, int, bool]:
    """The first :data:`HEAD_BYTES` of a file (decompressed when gzip), its size on disk and
    whether it is gzip."""
    with path.open("rb") as fh:
        raw = fh.read(HEAD_BYTES)
        size = path.stat().st_size
    if raw[:2] != b"\x1f\x8b":
        return raw, size, False
    try:
        head = zlib.decompressobj(wbits=31).decompress(raw, HEAD_BYTES)
    except zlib.error:
        head = b""
    return head, size, True


def _binary(head: bytes) -> str | None:
    """Why ``head`` is not text (with the byte offset), or ``None`` for text."""
    nul = head.find(b"\x00")
    if nul >= 0:
        return f"byte {nul}: binary data (NUL bytes), not a text format the import reads"
    text = head.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    controls = sum(1 for ch in text[:4096] if ord(ch) < 32 and ch not in "\t\n\r\x1b\x0c")
    if bad > 0.1 * max(len(text), 1) or controls > 0.1 * max(len(text[:4096]), 1):
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as err:
            return f"byte {err.start}: binary data (not UTF-8 text)"
        return "byte 0: binary data (control characters), not a text format the import reads"
    return None


def _significant(lines: list[str]) -> list[str]:
    return [line.strip() for line in lines if line.strip()][:_SAMPLE_LINES]


def _json_starts(text: str) -> bool:
    """The text starts like a JSON object or array (not an INI ``[section]``)."""
    stripped = text.lstrip()
    if not stripped or stripped[0] not in "{[":
        return False
    rest = stripped[1:].lstrip()
    if not rest:
        return True
    return rest[0] in ('"', "}") if stripped[0] == "{" else rest[0] in '{["]-0123456789tfn'


def _json_lines_log(lines: list[str]) -> bool:
    """Docker json-file lines, or JSON log records one per line (not Kubernetes objects)."""
    docs = []
    for line in lines[:5]:
        try:
            doc = json.loads(line)
        except ValueError:
            return False
        if not isinstance(doc, dict):
            return False
        docs.append(doc)
    if not docs:
        return False
    if all("log" in d and "stream" in d for d in docs):
        return True
    return len(docs) >= 2 and not any(_K8S_KEYS & d.keys() for d in docs)


def _exposition(lines: list[str]) -> bool:
    families = sum(1 for line in lines if _FAMILY.match(line))
    samples = sum(1 for line in lines if not line.startswith("#") and _SAMPLE.fullmatch(line))
    others = sum(1 for line in lines if not line.startswith("#")) - samples
    if samples and samples >= 4 * others:
        return True
    return families > 0 and samples >= others


def _yaml(lines: list[str]) -> bool:
    for line in lines:
        if line.startswith("#") or line.startswith("%"):
            continue
        return (
            line == "---" or line.startswith("--- ") or bool(_YAML_KEY.match(line)) or line.startswith("- ")
        )
    return False


def _log_lines(lines: list[str]) -> bool:
    hits = 0
    for line in lines:
        if _CRI.match(line):
            hits += 1
            continue
        parsed = parse_line(line)
        if parsed.ts is not None or parsed.format in ("klog", "capnslog", "syslog"):
            hits += 1
        elif parsed.format in ("logfmt", "json") and parsed.level != "UNKNOWN":
            hits += 1
    return bool(lines) and hits >= max(1, len(lines) // 2)


def detect(path: Path, *, log_place: bool) -> Detected:
    """The format of ``path``: ``kubernetes``, ``exposition``, ``otlp``/``zipkin``/``jaeger``,
    ``log``, ``cluster-info-logs`` (a dump's ``logs.txt``) or ``cluster-info-dump`` (the single
    file ``kubectl cluster-info dump`` prints), else why not."""
    head, size, gz = read_head(path)
    if not head.strip() and size <= HEAD_BYTES:
        if log_place:
            return Detected("log")
        return Detected(None, problem="empty file (nothing to import)", empty=True)
    if gz and not head:
        return Detected(None, position="byte 0", problem="damaged gzip data", gzip=True)
    binary = _binary(head)
    if binary is not None:
        where, _, reason = binary.partition(": ")
        if log_place and not gz and "NUL" not in binary:
            return Detected("log")  # the log reader replaces and reports bad bytes line by line
        return Detected(None, position=where, problem=reason, gzip=gz)
    text = head.decode("utf-8", "replace").removeprefix("\ufeff")
    if len(head) == HEAD_BYTES and "\n" in text:
        text = text[: text.rindex("\n")]  # the last line may be cut
    lines = _significant(text.splitlines())
    if any(line.startswith(START_MARKER) for line in lines) or START_MARKER in text:
        fmt = "cluster-info-dump" if text.lstrip()[:1] in "{[" else "cluster-info-logs"
        return Detected(fmt, gzip=gz)
    if log_place:
        return Detected("log", gzip=gz)
    if _json_starts(text) and not gz and size > HEAD_BYTES and _has_marker(path):
        return Detected("cluster-info-dump")
    if _json_starts(text):
        if any(key in text for key in _TRACE_KEYS):
            full = text if size <= HEAD_BYTES and not gz else _full_text(path, gz=gz)
            trace = detect_format(full)
            if trace is not None:
                return Detected(trace, gzip=gz)
        if _json_lines_log(lines):
            return Detected("log", gzip=gz)
        return Detected("kubernetes", gzip=gz)
    if _exposition(lines):
        return Detected("exposition", gzip=gz)
    if _yaml(lines):
        return Detected("kubernetes", gzip=gz)
    if _log_lines(lines) or path.suffix.lower() == ".log":
        return Detected("log", gzip=gz)
    return Detected(
        None, skip="not a format the import reads (Kubernetes JSON/YAML, exposition, traces, logs)"
    )


def _has_marker(path: Path) -> bool:
    """Whether a log block of ``kubectl cluster-info dump`` starts anywhere in the file."""
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        return mm.find(b"\n" + START_MARKER.encode()) >= 0


def _full_text(path: Path, *, gz: bool) -> str:
    data = path.read_bytes()
    if gz:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError):
            data = zlib.decompressobj(wbits=31).decompress(data)
    return data.decode("utf-8", "replace").removeprefix("\ufeff")
