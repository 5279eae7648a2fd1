"""Import what people already have — dumps, ``kubectl get`` files, scrapes, traces, logs — into a
snapshot.

>>> from pathlib import Path
>>> summary = import_paths([Path("must-gather.local.123")], out=Path("data/mg"))   # doctest: +SKIP
>>> summary.rows("pods"), summary.clusters                                        # doctest: +SKIP
(212, ['prod-eu-x7k2q'])
>>> print("\\n".join(summary.lines()))                                            # doctest: +SKIP

Files and folders are walked (hidden entries left out) and each file's format is told from its
content (``format=`` forces one for every file), see :mod:`._detect`:

* **Kubernetes objects**: JSON or YAML, single objects, Lists, multi-document YAML,
  ``kubectl get -o json|yaml``, kind-less Insights/kubelet objects. Secrets are never stored.
  They are observed at ``at``, else at the newest time each object carries. A JSON PodList or
  EventList is read by the normaliser's compiled bulk path (the same rows, 2–4× faster).
* **Dumps** (recognised by their folders, see :mod:`._layout`): ``kubectl cluster-info dump``
  folders (``<ns>/<pod>/logs.txt`` hold every container's log), OpenShift must-gather folders
  and Insights archives. Container logs get their namespace, pod and container from the path.
  The single file ``kubectl cluster-info dump > dump.txt`` prints is read too.
* **Prometheus/OpenMetrics exposition** files: samples at their own timestamps, else at ``at``,
  else at the file's modification time (with a warning).
* **Traces**: OTLP JSON, Zipkin v2, Jaeger JSON; spans without Kubernetes attributes find their
  pod by IP among the imported pods of the same cluster.
* **Logs**: CRI, docker json-file, timestamped or plain lines (plain text is only taken for a log
  in a ``.log`` file or where a dump keeps logs). A line without a timestamp gets the time of the
  line before it (or after it), else ``at``, else the file's modification time (with a warning).

Clusters: ``cluster=`` names the cluster of everything imported. Without it a dump's cluster is
its infrastructure name, else its cluster id (``clusterID`` of the ClusterVersion, an Insights
archive's ``config/id``), else its folder's name (for must-gather's image-named data folder, the
folder around it); values an Insights archive obfuscated (``xxxx-xx``) count as absent. Other
files go to a cluster named after the folder given on the command line (for a file: the folder
holding it). All the Kubernetes objects of one cluster go through one
:class:`~workbench.kube.Normalizer`, so pods resolve to their workloads across files.

Problems never stop an import: a bad file or document (damaged JSON or YAML, a bad line,
binary data, an empty ``.json``/``.yaml``/``.log`` file, a gzip file of a format read only
uncompressed) becomes a warning in the snapshot's manifest (source ``import``,
``<file>:<position>: <reason>``, ``what`` = the file) and everything else is imported. Text files
that hold nothing the import reads (READMEs, certificates, JSON that is no Kubernetes object)
are listed in ``summary.skipped`` without a warning, unless they were named explicitly. Only
when nothing at all could be imported does :func:`import_paths` raise
:class:`~workbench.errors.InputError` (naming the files), and no snapshot is written.
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from workbench.errors import InputError, ParameterError, WorkbenchError
from workbench.sources.importer._detect import CLAIMED_SUFFIXES, detect
from workbench.sources.importer._layout import DumpFinder, Place, log_owner, walk
from workbench.sources.importer._readers import SOURCE, ImportRun
from workbench.sources.importer._summary import FormatSummary, ImportProgress, ImportSummary, Progress
from workbench.sources.logs import LOG_FORMATS
from workbench.sources.traces import TRACE_FORMATS
from workbench.store import SnapshotWriter, open_snapshot
from workbench.store.writer import Mode

__all__ = ["FORMATS", "FormatSummary", "ImportProgress", "ImportSummary", "import_paths"]

log = logging.getLogger(__name__)

#: What ``format=`` accepts: a format, ``traces`` (any trace format, told by content) or
#: ``log`` (any log file format), or one log file format (``cri``, ``docker``…).
FORMATS: tuple[str, ...] = (
    "kubernetes",
    "exposition",
    *TRACE_FORMATS,
    "traces",
    "log",
    *LOG_FORMATS,
    "cluster-info-logs",
    "cluster-info-dump",
)
_FIRST = ("kubernetes", "cluster-info-dump")
_COMPRESSED_UNREAD = ("kubernetes", "log", "cluster-info-logs", "cluster-info-dump")


def _check(
    paths: Sequence[str | os.PathLike[str]], fmt: str | None, at: dt.datetime | None, cluster: str | None
) -> list[Path]:
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if not paths:
        msg = "give at least one file or folder to import"
        raise ParameterError(msg)
    if fmt is not None and fmt not in FORMATS:
        near = difflib.get_close_matches(fmt, FORMATS, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        msg = (
            f"unknown format {fmt!r}{hint} The formats are: {', '.join(FORMATS)} (or leave it out to detect)"
        )
        raise ParameterError(msg)
    if at is not None and (not isinstance(at, dt.datetime) or at.tzinfo is None):
        msg = f"at must be a timezone-aware datetime (e.g. 2024-05-01T12:00:00+00:00), got {at!r}"
        raise ParameterError(msg)
    if cluster is not None and (not isinstance(cluster, str) or not cluster.strip()):
        msg = "cluster must be a non-empty name, or None to infer it"
        raise ParameterError(msg)
    resolved = [Path(p) for p in paths]
    missing = [str(p) for p in resolved if not p.exists()]
    if missing:
        msg = f"nothing to import at {', '.join(missing)}: no such file or folder; check the path(s)"
        raise InputError(msg)
    return resolved


class _Plan:
    """Each file with the format it will be read as (or why it is not read)."""

    def __init__(self, run: ImportRun, forced: str | None) -> None:
        self.run = run
        self.forced = forced
        self.items: list[tuple[Place, str, tuple[str | None, str | None, str | None]]] = []

    def add(self, place: Place) -> None:
        summary = self.run.summary
        is_log, *owner = log_owner(place.path, place.dump)
        who = (owner[0], owner[1], owner[2])
        if self.forced is not None:
            self.items.append((place, self.forced, who))
            return
        try:
            found = detect(place.path, log_place=is_log)
        except OSError as err:
            self._unreadable(place, None, f"cannot be read ({err.strerror or err}); check its permissions")
            return
        if found.format is None:
            claimed = place.explicit or place.path.suffix.lower() in CLAIMED_SUFFIXES
            if found.problem and (claimed or not found.empty):
                self._unreadable(place, found.position, found.problem)
            elif place.explicit:
                self._unreadable(place, None, f"{found.skip}; use format= (--format) to force one")
            else:
                summary.skipped.append((place.path, found.problem or found.skip or "not read"))
                log.debug("skipped %s: %s", place.path, found.problem or found.skip)
            return
        if found.gzip and found.format in _COMPRESSED_UNREAD:
            self._unreadable(
                place, None, f"gzip-compressed {found.format} file: decompress it (gunzip) to import it"
            )
            return
        self.items.append((place, found.format, who))

    def _unreadable(self, place: Place, position: str | None, reason: str) -> None:
        self.run.warn("unreadable", place.path, position, reason)
        self.run.summary.format("unreadable").files += 1


def _read(
    run: ImportRun, place: Place, fmt: str, who: tuple[str | None, str | None, str | None]
) -> tuple[int, str]:
    """Read one file; returns the rows it gave and the format it counts under in the summary."""
    if fmt == "kubernetes":
        return run.kubernetes(place), fmt
    if fmt == "cluster-info-dump":
        return run.cluster_info_dump(place), fmt
    if fmt == "cluster-info-logs":
        return run.cluster_info_logs(place), fmt
    if fmt == "exposition":
        return run.exposition(place), fmt
    if fmt in TRACE_FORMATS or fmt == "traces":
        return run.traces(place, None if fmt == "traces" else fmt)
    return run.log_file(place, who, log_format=fmt if fmt in LOG_FORMATS else None), "log"


def import_paths(
    paths: Sequence[str | os.PathLike[str]],
    *,
    out: str | os.PathLike[str],
    cluster: str | None = None,
    format: str | None = None,  # noqa: A002 - the name users know from the CLI
    at: dt.datetime | None = None,
    mode: Mode = "create",
    progress: Progress | None = None,
) -> ImportSummary:
    """Import files and folders into the snapshot at ``out`` and say what was imported.

    ``cluster`` names the cluster (default: inferred, see the module docs); ``format`` forces one
    of :data:`FORMATS` for every file; ``at`` (timezone-aware) is the time of samples, objects and
    log lines that carry none; ``mode`` is the :class:`~workbench.store.SnapshotWriter` mode
    (``"create"``, ``"overwrite"``, ``"append"``); ``progress`` is called after each file.

    Raises :class:`~workbench.errors.InputError` when a path does not exist or nothing at all
    could be imported, :class:`~workbench.errors.ParameterError` for a bad option, and
    :class:`~workbench.errors.SnapshotError` when ``out`` exists and ``mode="create"``.
    """
    roots = _check(paths, format, at, cluster)
    finder = DumpFinder(cluster=cluster)
    seen: set[Path] = set()
    places: list[Place] = []
    for root in roots:
        for place in walk(root, cluster=cluster, finder=finder):
            key = place.path.resolve()
            if key not in seen:
                seen.add(key)
                places.append(place)
    summary = ImportSummary(out=Path(out))
    with SnapshotWriter(out, mode=mode) as writer:
        run = ImportRun(writer, summary, at=at)
        if mode == "append":  # spans without k8s attributes find their pods among those already there
            run.remember_pod_ips(open_snapshot(out).pods())
        plan = _Plan(run, format)
        for place in places:
            plan.add(place)
        ordered = [i for i in plan.items if i[1] in _FIRST] + [i for i in plan.items if i[1] not in _FIRST]
        total, done = len(ordered), 0
        clusters: set[str] = set()
        finished = False
        for place, fmt, who in ordered:
            if not finished and fmt not in _FIRST:
                run.finish_kubernetes()
                finished = True
            skipped = len(summary.skipped)
            key = "log" if fmt in LOG_FORMATS else fmt
            try:
                rows, key = _read(run, place, fmt, who)
            except (OSError, WorkbenchError) as err:
                run.warn(key, place.path, None, f"could not be imported: {err}")
                rows = 0
            if len(summary.skipped) == skipped:  # not passed over as holding nothing to import
                summary.format(key).files += 1
                clusters.add(place.cluster)
            done += 1
            if progress is not None:
                progress(ImportProgress(done, total, place.path, key, rows))
        if not finished:
            run.finish_kubernetes()
        run.flush()
        written = sum(sum(f.rows.values()) for f in summary.formats.values())
        if written == 0:
            raise InputError(_nothing_message(places, summary))
        summary.clusters = sorted(clusters)
        writer.add_source(
            SOURCE,
            paths=[str(p) for p in roots],
            clusters=summary.clusters,
            format=format,
            at=at.isoformat() if at else None,
            files=summary.files,
            warnings=len(summary.warnings),
        )
    log.info("imported %d file(s) into %s (%d warning(s))", summary.files, out, len(summary.warnings))
    return summary


def _nothing_message(places: list[Place], summary: ImportSummary) -> str:
    names = [str(p.path) for p in places[:5]]
    more = f" and {len(places) - 5} more file(s)" if len(places) > 5 else ""
    reasons = summary.warnings[:3] or [f"{path}: {why}" for path, why in summary.skipped[:3]]
    why = "; ".join(reasons) if reasons else "the files hold no data"
    files = ", ".join(names) or "the given folder(s) (no files in them)"
    return f"nothing could be imported from {files}{more}: {why}. Check the files, or force a format with --format"
