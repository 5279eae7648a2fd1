"""Reading one file of each format into the snapshot, with every problem recorded as a warning.

Kubernetes objects of one cluster all go through one :class:`~workbench.kube.Normalizer`
(written once at the end, so pods resolve to workloads across files); logs, spans and metric
samples are gathered over files and written in batches of :data:`FLUSH_ROWS` rows.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from workbench.errors import InputError, SourceError
from workbench.kube import Normalizer
from workbench.kube.kinds import expand
from workbench.sources.files import YAML_SUFFIXES, read_manifests
from workbench.sources.importer._clusterinfo import JsonPart, LogBlock, decode_lines, json_values, split_dump
from workbench.sources.importer._layout import Place
from workbench.sources.importer._summary import ImportSummary
from workbench.sources.logs import parse_lines, read_log_file
from workbench.sources.prometheus.exposition import read_exposition
from workbench.sources.traces import read_traces
from workbench.store import SnapshotWriter

__all__ = ["ImportRun"]

log = logging.getLogger(__name__)

SOURCE = "import"
#: Problems recorded one by one per file; the rest are counted in one more warning.
WARN_PER_FILE = 20
#: Rows of logs, spans or samples gathered before they are written as one part file (many
#: small files would make every later read slower).
FLUSH_ROWS = 250_000
_ITEM = re.compile(r"item \d+")


class ImportRun:
    """The state of one import: the writer, the normalisers per cluster, the summary."""

    def __init__(self, writer: SnapshotWriter, summary: ImportSummary, *, at: dt.datetime | None) -> None:
        self.writer = writer
        self.summary = summary
        self.at = at
        self.normalizers: dict[str, Normalizer] = {}
        #: cluster → pod IP → (namespace, pod, node), for spans without Kubernetes attributes.
        self.pod_ips: dict[str, dict[str, tuple[str, str, str | None]]] = {}
        self._pending: dict[str, list[pl.DataFrame]] = {}

    def _buffer(self, table: str, frame: pl.DataFrame) -> None:
        """Gather rows of ``logs``, ``spans`` or the wide ``metrics`` form; write them in batches."""
        if frame.is_empty():
            return
        frames = self._pending.setdefault(table, [])
        frames.append(frame)
        if sum(f.height for f in frames) >= FLUSH_ROWS:
            self._flush(table)

    def _flush(self, table: str) -> None:
        frames = self._pending.pop(table, [])
        if not frames:
            return
        frame = pl.concat(frames, how="vertical")
        if table == "metrics":
            self.writer.write_metrics(frame)
        else:
            self.writer.write(table, frame)

    def flush(self) -> None:
        """Write every row still gathered."""
        for table in list(self._pending):
            self._flush(table)

    # -- recording ------------------------------------------------------------------------
    def warn(self, fmt: str, file: Path | str, position: str | None, reason: str) -> None:
        """Record one problem in the manifest: ``file:position: reason``."""
        message = f"{file}:{position}: {reason}" if position else f"{file}: {reason}"
        self.writer.warn(SOURCE, message, what=str(file))
        self.summary.warnings.append(message)
        self.summary.format(fmt).problems += 1

    def _warn_all(self, fmt: str, file: Path, problems: Iterable[tuple[str | None, str]]) -> None:
        problems = list(problems)
        for position, reason in problems[:WARN_PER_FILE]:
            self.warn(fmt, file, position, reason)
        if len(problems) > WARN_PER_FILE:
            self.warn(fmt, file, None, f"{len(problems) - WARN_PER_FILE} more problem(s) not listed")

    def _normalizer(self, cluster: str) -> Normalizer:
        if cluster not in self.normalizers:
            self.normalizers[cluster] = Normalizer(cluster=cluster)
        return self.normalizers[cluster]

    def _add_object(self, fmt: str, file: Path, cluster: str, obj: dict, origin: str) -> None:
        normalizer = self._normalizer(cluster)
        before = len(normalizer.warnings)
        normalizer.add(obj, observed_at=self.at, origin=origin)
        self._relay(fmt, file, normalizer.warnings[before:])

    def _relay(self, fmt: str, file: Path, messages: list[str]) -> None:
        """Record the normaliser's ``messages`` about ``file``'s objects, which start with their
        origin: ``"<file>: document N (line L), item I: reason"`` from a :class:`Manifest`, or
        ``"<file>: document N (line L): item I: reason"`` from the bulk path (a List's item),
        both recorded at ``document N (line L), item I``."""
        for message in messages:
            position, _, reason = message.removeprefix(f"{file}: ").partition(": ")
            item, sep, rest = reason.partition(": ")
            if sep and _ITEM.fullmatch(item):
                position, reason = f"{position}, {item}", rest
            self.warn(fmt, file, position, reason or position)

    def _fallback_time(self, path: Path) -> dt.datetime:
        if self.at is not None:
            return self.at
        return dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)

    def _write_logs(self, fmt: str, path: Path, frame: pl.DataFrame) -> int:
        """Give lines without a time the time of the line before (or after) them, else the
        import time or the file's modification time, and write them."""
        if frame.is_empty():
            return 0
        owner = ["namespace", "pod", "container"]
        frame = frame.with_columns(pl.col("ts").forward_fill().backward_fill().over(owner))
        missing = frame.get_column("ts").null_count()
        if missing:
            when = self._fallback_time(path)
            frame = frame.with_columns(pl.col("ts").fill_null(when))
            what = "the at= time" if self.at else "the file's modification time; pass at= (--at) to set it"
            self.warn(
                fmt,
                path,
                None,
                f"{missing} log line(s) carry no timestamp: stored at {when.isoformat()} ({what})",
            )
        self._buffer("logs", frame)
        self.summary.format(fmt).add_rows("logs", frame.height)
        return frame.height

    # -- formats --------------------------------------------------------------------------
    def kubernetes(self, place: Place) -> int:
        """Objects of a JSON/YAML file (single objects, Lists, multi-document YAML)."""
        listed = self._json_list(place)
        if listed is not None:
            return listed
        stream = read_manifests(place.path)
        count = 0
        for manifest in stream:
            self._add_object("kubernetes", place.path, place.cluster, manifest.obj, manifest.origin)
            count += 1
        for problem in stream.problems:
            self.warn("kubernetes", problem.file, problem.position, problem.reason)
        if count == 0 and stream.skipped and not stream.problems:  # (an empty List is read)
            first = stream.skipped[0]
            if place.explicit:
                self.warn("kubernetes", place.path, first.position, first.reason)
            else:
                self.summary.skipped.append((place.path, first.reason))
        return count

    def _json_list(self, place: Place) -> int | None:
        """A JSON List of Pods or Events (``kubectl get pods -o json``, a dump's ``events.json``)
        read by the normaliser's compiled bulk path, 2–4 times faster than object by object
        with the same rows and warnings; the objects read, or None when that path does not take
        the file (then :func:`read_manifests` reads it)."""
        if place.path.suffix.lower() in YAML_SUFFIXES:
            return None
        try:
            raw = place.path.read_bytes()
        except OSError:
            return None  # read_manifests reports it
        body = raw.lstrip(b" \t\r\n")
        if not body.startswith(b"{"):
            return None
        line = 1 + raw.count(b"\n", 0, len(raw) - len(body))
        origin = f"{place.path}: document 1 (line {line})"
        normalizer = self._normalizer(place.cluster)
        before, warned = normalizer.revisions, len(normalizer.warnings)
        if not normalizer.add_json(raw, observed_at=self.at, origin=origin, fallback=False):
            return None
        self._relay("kubernetes", place.path, normalizer.warnings[warned:])
        count = normalizer.revisions - before
        log.debug("%s: %d object(s) read by the bulk path", place.path, count)
        return count

    def finish_kubernetes(self) -> None:
        """Normalise and write every cluster's objects; remember pod IPs for the traces."""
        entry = self.summary.format("kubernetes")
        for cluster, normalizer in self.normalizers.items():
            before = len(normalizer.warnings)
            tables = normalizer.tables()
            for message in normalizer.warnings[before:]:
                self.warn("kubernetes", f"cluster {cluster}", None, message)
            for table, frame in tables.items():
                self.writer.write(table, frame)
                entry.add_rows(table, frame.height)
            self.remember_pod_ips(tables["pods"])

    def remember_pod_ips(self, pods: pl.DataFrame) -> None:
        """Pod IP → (namespace, pod, node) per cluster, for spans that only carry an IP (host-network
        pods share their node's IP and are left out)."""
        pods = pods.filter(
            pl.col("pod_ip").is_not_null() & (pl.col("pod_ip") != pl.col("host_ip").fill_null(""))
        )
        for cluster, ip, ns, name, node in pods.select(
            "cluster", "pod_ip", "namespace", "name", "node"
        ).iter_rows():
            self.pod_ips.setdefault(cluster, {})[ip] = (ns, name, node)

    def exposition(self, place: Place) -> int:
        """Samples of a Prometheus text or OpenMetrics file (at their own time, else ``at``)."""
        try:
            frame, problems = read_exposition(place.path, cluster=place.cluster, at=self.at)
        except InputError as err:
            self.warn("exposition", place.path, None, str(err).removeprefix(f"{place.path}: "))
            return 0
        self._warn_all(
            "exposition",
            place.path,
            (
                (
                    f"line {p.line}" if p.line is not None else None,
                    p.reason + (f" in {p.text[:120]!r}" if p.text else ""),
                )
                for p in problems
            ),
        )
        self._buffer("metrics", frame)
        self.summary.format("exposition").add_rows("metrics", frame.height)
        return frame.height

    def traces(self, place: Place, fmt: str | None) -> tuple[int, str]:
        """Spans of an OTLP JSON, Zipkin v2 or Jaeger file (``fmt=None``: told by content);
        returns the spans read and the format they were read as."""
        try:
            result = read_traces(
                place.path, cluster=place.cluster, format=fmt, pod_ips=self.pod_ips.get(place.cluster)
            )
        except SourceError as err:
            self.warn(fmt or "traces", place.path, None, str(err))
            return 0, fmt or "traces"
        key = result.format or "traces"
        self._warn_all(key, place.path, ((p.position, p.reason) for p in result.problems))
        spans = result.spans
        self._buffer("spans", spans)
        self.summary.format(key).add_rows("spans", spans.height)
        return spans.height, key

    def log_file(
        self,
        place: Place,
        owner: tuple[str | None, str | None, str | None],
        *,
        log_format: str | None,
    ) -> int:
        """A container or node log file; ``owner`` is (namespace, pod, container) from its path."""
        namespace, pod, container = owner
        try:
            result = read_log_file(
                place.path,
                cluster=place.cluster,
                namespace=namespace,
                pod=pod,
                container=container,
                format=log_format,
                year=self.at.year if self.at else None,
            )
        except SourceError as err:
            self.warn("log", place.path, None, str(err))
            return 0
        self._warn_all("log", place.path, ((p.position, p.reason) for p in result.problems))
        return self._write_logs("log", place.path, result.logs)

    def _blocks(self, fmt: str, place: Place, blocks: list[LogBlock], bad_lines: list[int]) -> int:
        if bad_lines:
            where = f"line {bad_lines[0]}" if len(bad_lines) == 1 else f"lines {bad_lines[0]}-{bad_lines[-1]}"
            self.warn(
                fmt, place.path, where, f"invalid UTF-8 or NUL bytes replaced ({len(bad_lines)} line(s))"
            )
        frames = []
        for block in blocks:
            who = f"container {block.container} of pod {block.namespace}/{block.pod}"
            if not block.ended:
                self.warn(
                    fmt,
                    place.path,
                    f"line {block.line}",
                    f"the log of {who} has no END marker (truncated file?)",
                )
            if block.fetch_error:
                self.warn(
                    fmt,
                    place.path,
                    f"line {block.lines[0][0]}",
                    f"kubectl could not read the log of {who}: {block.fetch_error}",
                )
                continue
            if not block.lines:
                continue
            frames.append(
                parse_lines(
                    ((None, text, None) for _, text in block.lines),
                    cluster=place.cluster,
                    namespace=block.namespace,
                    pod=block.pod,
                    container=block.container,
                    year=self.at.year if self.at else None,
                )
            )
        return self._write_logs(fmt, place.path, pl.concat(frames)) if frames else 0

    def cluster_info_logs(self, place: Place) -> int:
        """A cluster-info dump's ``<ns>/<pod>/logs.txt``: one block per container."""
        lines, bad = decode_lines(place.path.read_bytes())
        blocks: list[LogBlock] = []
        for part in split_dump(lines):
            if isinstance(part, LogBlock):
                blocks.append(part)
            else:
                self.warn(
                    "cluster-info-logs",
                    place.path,
                    f"line {part.line}",
                    "text outside the START/END markers of a container's log; left out",
                )
        return self._blocks("cluster-info-logs", place, blocks, bad)

    def cluster_info_dump(self, place: Place) -> int:
        """The single file ``kubectl cluster-info dump`` prints: JSON Lists and log blocks."""
        lines, bad = decode_lines(place.path.read_bytes())
        blocks: list[LogBlock] = []
        objects = 0
        for part in split_dump(lines):
            if isinstance(part, LogBlock):
                blocks.append(part)
                continue
            assert isinstance(part, JsonPart)
            for index, (position, value, reason) in enumerate(json_values(part)):
                if reason is not None:
                    self.warn("cluster-info-dump", place.path, position, reason)
                elif isinstance(value, dict):
                    self._add_object(
                        "cluster-info-dump",
                        place.path,
                        place.cluster,
                        value,
                        f"{place.path}: {position}, value {index + 1}",
                    )
                    objects += sum(1 for _ in expand(value))
                else:
                    self.warn("cluster-info-dump", place.path, position, "not a Kubernetes object or List")
        return objects + self._blocks("cluster-info-dump", place, blocks, bad)
