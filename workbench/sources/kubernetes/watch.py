"""``watch``: a long-running collector that keeps appending object revisions and events.

Events expire from the API after about an hour; a watch keeps their history. Each kind is
listed once (the resourceVersion is recorded), then watched in its own thread (see
:mod:`.watcher`). Every ``flush_interval`` seconds what arrived is appended to the snapshot
(created on the first flush if absent), so a crash loses at most one interval. SIGINT/SIGTERM
(when run from the main thread) or ``stop_event`` end it cleanly with a final flush.

>>> watch_kubernetes("snap", context="prod", flush_interval=30)     # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from workbench.errors import ParameterError, SnapshotError, SourceError
from workbench.kube import Normalizer
from workbench.sources.kubernetes.api import PAGE_SIZE, RetryPolicy, describe_error, list_pages, preflight
from workbench.sources.kubernetes.config import ClusterTarget, resolve_targets
from workbench.sources.kubernetes.kinds import KindSpec, names, resolve_kinds
from workbench.sources.kubernetes.watcher import Revision, Watcher, WatchOptions, WatchStats
from workbench.store import SnapshotWriter
from workbench.store.manifest import MANIFEST

__all__ = ["WatchProgress", "WatchSummary", "watch_kubernetes"]

log = logging.getLogger(__name__)

SOURCE = "kubernetes-watch"


@dataclass(frozen=True)
class WatchProgress:
    """Reported after each flush."""

    flushes: int
    #: Revisions written by this flush, and since the start.
    written: int
    total: int
    deletions: int
    relists: int
    warnings: int


@dataclass
class WatchSummary:
    """What a watch run wrote."""

    path: Path
    flushes: int = 0
    #: Revisions written per (cluster, kind).
    revisions: dict[tuple[str, str], int] = field(default_factory=dict)
    deletions: int = 0
    relists: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.revisions.values())


class _Run:
    def __init__(
        self,
        path: Path,
        targets: list[ClusterTarget],
        specs: list[KindSpec],
        namespaces: list[str] | None,
        options: WatchOptions,
        progress: Callable[[WatchProgress], None] | None,
    ) -> None:
        self.path = path
        self.targets = targets
        self.specs = specs
        self.namespaces = namespaces
        self.options = options
        self.progress = progress
        self.queue: queue.Queue[Revision] = queue.Queue()
        self.stop = threading.Event()
        self.stats = WatchStats()
        self.watchers: list[Watcher] = []
        self.lock = threading.Lock()
        self.pending_warnings: list[tuple[str, str | None]] = []
        self.held: list[Revision] = []
        self.summary = WatchSummary(path)
        self.sources_recorded = False

    # -- threads ----------------------------------------------------------------------------------
    def warn(self, message: str, what: str | None) -> None:
        log.warning("%s", message)
        with self.lock:
            self.pending_warnings.append((message, what))

    def start_watcher(self, target: ClusterTarget, spec: KindSpec, namespace: str | None) -> None:
        watcher = Watcher(
            target,
            spec,
            namespace,
            out=self.queue,
            stop=self.stop,
            options=self.options,
            warn=self._warn_for(target),
            on_forbidden_all=self.forbidden_all,
            stats=self.stats,
        )
        with self.lock:
            if self.stop.is_set():
                return
            self.watchers.append(watcher)
        watcher.start()

    def _warn_for(self, target: ClusterTarget) -> Callable[[str, str | None], None]:
        suffix = f" (cluster {target.cluster})" if len(self.targets) > 1 else ""
        return lambda message, what: self.warn(f"{message}{suffix}", what)

    def forbidden_all(self, target: ClusterTarget, spec: KindSpec) -> None:
        """403 on an all-namespaces watch: watch namespace by namespace instead."""
        found: list[str] = []
        ns_spec = resolve_kinds(["namespaces"])[0]
        try:
            for items, _rv in list_pages(
                ns_spec.list_all(target.api_client()), retry=self.options.retry, what="namespaces"
            ):
                found.extend(str((i.get("metadata") or {}).get("name")) for i in items)
        except Exception as err:
            log.info("cannot list namespaces (%s)", describe_error(err))
        if not found and target.namespace:
            found = [target.namespace]
        warn = self._warn_for(target)
        if not found:
            warn(
                f"403 Forbidden watching {spec.plural} in all namespaces, and no namespace is known to watch "
                f"one by one — grant list and watch on {spec.plural} or pass the namespaces (see docs/collecting.md)",
                spec.name,
            )
            return
        warn(
            f"403 Forbidden watching {spec.plural} in all namespaces — watching the {len(found)} namespace(s) "
            f"one by one (see docs/collecting.md)",
            spec.name,
        )
        for ns in found:
            self.start_watcher(target, spec, ns)

    def start(self) -> None:
        for target in self.targets:
            for spec in self.specs:
                if spec.namespaced and self.namespaces is not None:
                    for ns in self.namespaces:
                        self.start_watcher(target, spec, ns)
                else:
                    self.start_watcher(target, spec, None)

    def shutdown(self, timeout: float = 10.0) -> None:
        self.stop.set()
        with self.lock:
            watchers = list(self.watchers)
        for w in watchers:
            w.stop()
        deadline = time.monotonic() + timeout
        for w in watchers:
            w.join(max(0.0, deadline - time.monotonic()))
            if w.is_alive():
                log.warning("watch thread %s did not stop in time; leaving it (daemon)", w.name)

    # -- flushing -----------------------------------------------------------------------------------
    def drain(self) -> list[Revision]:
        got = self.held
        self.held = []
        while True:
            try:
                got.append(self.queue.get_nowait())
            except queue.Empty:
                return got

    def flush(self) -> None:
        revisions = self.drain()
        with self.lock:
            warnings, self.pending_warnings = self.pending_warnings, []
        exists = (self.path / MANIFEST).is_file()
        if exists and not revisions and not warnings and self.sources_recorded:
            return
        try:
            with SnapshotWriter(self.path, mode="append" if exists else "create") as writer:
                if not self.sources_recorded:
                    for target in self.targets:
                        writer.add_source(
                            SOURCE,
                            context=target.context,
                            cluster=target.cluster,
                            server=target.server,
                            namespaces=self.namespaces if self.namespaces is not None else "all",
                            kinds=[s.name for s in self.specs],
                        )
                for message, what in warnings:
                    writer.warn("kubernetes", message, what=what)
                by_cluster: dict[str, Normalizer] = {}
                for rev in revisions:
                    n = by_cluster.setdefault(rev.cluster, Normalizer(cluster=rev.cluster))
                    n.add(rev.obj, observed_at=rev.observed_at, deleted=rev.deleted)
                for normalizer in by_cluster.values():
                    for table, frame in normalizer.tables().items():
                        writer.write(table, frame)
                    for problem in normalizer.warnings:
                        writer.warn("kubernetes", problem, what=None)
        except Exception:
            # Keep what arrived for the next flush; the snapshot is unchanged.
            self.held = revisions + self.held
            with self.lock:
                self.pending_warnings = warnings + self.pending_warnings
            raise
        self.sources_recorded = True
        s = self.summary
        s.flushes += 1
        for rev in revisions:
            key = (rev.cluster, rev.kind)
            s.revisions[key] = s.revisions.get(key, 0) + 1
            s.deletions += rev.deleted
        s.warnings.extend(m for m, _ in warnings)
        s.relists = self.stats.get("relists")
        log.info("flushed %d revision(s) to %s", len(revisions), self.path)
        if self.progress is not None:
            self.progress(
                WatchProgress(s.flushes, len(revisions), s.total, s.deletions, s.relists, len(s.warnings))
            )


def _check_path(path: Path) -> None:
    if path.exists() and not path.is_dir():
        msg = f"{path} is a file, not a snapshot folder; choose another output"
        raise SnapshotError(msg)
    if path.is_dir() and any(path.iterdir()) and not (path / MANIFEST).is_file():
        msg = f"{path} exists and is not a snapshot (no {MANIFEST}); choose an empty or new folder"
        raise SnapshotError(msg)


def watch_kubernetes(
    path: str | os.PathLike[str],
    *,
    kubeconfig: str | None = None,
    context: str | Sequence[str] | None = None,
    all_contexts: bool = False,
    cluster: str | Mapping[str, str] | None = None,
    namespaces: str | Sequence[str] | None = None,
    kinds: Iterable[str] | None = None,
    flush_interval: float = 30.0,
    stop_event: threading.Event | None = None,
    max_duration: float | None = None,
    redact_env: bool = False,
    progress: Callable[[WatchProgress], None] | None = None,
    retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen dataclass
    page_size: int = PAGE_SIZE,
    server_timeout: int = 300,
    backoff_max: float = 30.0,
) -> WatchSummary:
    """List then watch the clusters' objects and append their revisions to the snapshot at
    ``path`` every ``flush_interval`` seconds, until ``stop_event`` is set, SIGINT/SIGTERM
    arrives (main thread only) or ``max_duration`` seconds have passed; then flush a last time.

    ``kinds``: resource names to watch (default: every kind ``collect`` lists). Other options
    as for :func:`~workbench.sources.kubernetes.collect.collect_kubernetes`.
    Raises :class:`SourceError` when a cluster's configuration cannot be loaded or its API does
    not answer at the start (later outages are retried with backoff), and
    :class:`SnapshotError` when ``path`` is a folder that is not a snapshot.
    """
    out = Path(path)
    _check_path(out)
    if flush_interval <= 0:
        msg = f"flush_interval must be positive seconds, not {flush_interval}"
        raise ParameterError(msg)
    specs = resolve_kinds(kinds)
    targets = resolve_targets(
        kubeconfig=kubeconfig, context=context, all_contexts=all_contexts, cluster=cluster
    )
    for target in targets:
        problem = preflight(target.api_client(), target.server, retry=retry)
        if problem is not None:
            msg = f"context {target.context!r}: {problem}; check --context/--kubeconfig; is the cluster reachable? `kubectl get ns` should work"
            raise SourceError(msg)
    options = WatchOptions(
        server_timeout=server_timeout,
        backoff_max=backoff_max,
        redact_env=redact_env,
        page_size=page_size,
        retry=retry,
    )
    run = _Run(out, targets, specs, names(namespaces), options, progress)
    external = stop_event or threading.Event()

    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %d received; stopping the watch after a last flush", signum)
            external.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)

    started = time.monotonic()
    deadline = None if max_duration is None else started + max_duration
    try:
        run.start()
        next_flush = started + flush_interval
        while not external.is_set():
            now = time.monotonic()
            wake = next_flush if deadline is None else min(next_flush, deadline)
            external.wait(max(0.0, wake - now))
            now = time.monotonic()
            if now >= next_flush and not external.is_set():
                _flush(run)
                next_flush = now + flush_interval
            if deadline is not None and now >= deadline:
                break
    finally:
        run.shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    run.flush()
    return run.summary


def _flush(run: _Run) -> None:
    """A periodic flush: a failure (disk full, a bad object) keeps the revisions for the next one."""
    try:
        run.flush()
    except Exception as err:  # the watch goes on; the final flush raises
        log.error("could not write to %s (%s); keeping the revisions for the next flush", run.path, err)
