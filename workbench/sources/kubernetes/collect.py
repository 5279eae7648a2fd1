"""One collection from live clusters: list every kind, read problem pods' logs, write the tables.

>>> from workbench.store import SnapshotWriter
>>> with SnapshotWriter("snap") as w:                                   # doctest: +SKIP
...     summary = collect_kubernetes(w, context="prod", namespaces=["shop"])
>>> summary.clusters[0].counts["pods"]                                  # doctest: +SKIP
42

Partial failure (a 403 on one namespace or kind, a kind the cluster does not serve, an API that
keeps failing) is recorded as a warning in the snapshot and the rest is collected; only a
cluster that cannot be reached at all raises :class:`~workbench.errors.SourceError`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from kubernetes.client.exceptions import ApiException

from workbench.errors import SourceError
from workbench.kube import Normalizer
from workbench.sources.kubernetes.api import PAGE_SIZE, RetryPolicy, describe_error, list_pages, preflight
from workbench.sources.kubernetes.config import ClusterTarget, resolve_targets
from workbench.sources.kubernetes.kinds import KindSpec, clean_object, names, resolve_kinds
from workbench.sources.kubernetes.logs import LogOptions, collect_pod_logs
from workbench.store import SnapshotWriter, to_utc

__all__ = ["ClusterSummary", "CollectProgress", "CollectSummary", "collect_kubernetes"]

log = logging.getLogger(__name__)

SOURCE = "kubernetes"
DOCS = "see docs/collecting.md"


@dataclass(frozen=True)
class CollectProgress:
    """One progress report: ``done`` of ``total`` steps of one cluster, and what is running."""

    cluster: str
    #: ``"list"``, ``"logs"`` or ``"write"``.
    stage: str
    #: The kind being listed (``"pods"``), or ``"logs"``.
    what: str
    done: int
    total: int
    #: Objects (or log lines) collected so far in this step.
    items: int = 0


Progress = Callable[[CollectProgress], None]


@dataclass
class ClusterSummary:
    """What one cluster gave: objects per kind, log lines, and the warnings recorded."""

    cluster: str
    context: str
    server: str
    counts: dict[str, int] = field(default_factory=dict)
    log_lines: int = 0
    warnings: list[str] = field(default_factory=list)
    reachable: bool = True


@dataclass
class CollectSummary:
    """The result of :func:`collect_kubernetes`, one entry per cluster."""

    clusters: list[ClusterSummary] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return [w for c in self.clusters for w in c.warnings]

    def count(self, kind: str) -> int:
        """Objects of ``kind`` (resource name, e.g. ``"pods"``) over all clusters."""
        return sum(c.counts.get(kind, 0) for c in self.clusters)


class _NotServed(Exception):
    """The cluster does not serve this kind's API (404 on the list)."""


class _Forbidden(Exception):
    """403 on an all-namespaces list: fall back to listing namespace by namespace."""


class _ClusterCollector:
    def __init__(
        self,
        target: ClusterTarget,
        writer: SnapshotWriter,
        *,
        namespaces: list[str] | None,
        kinds: list[KindSpec],
        redact: bool,
        retry: RetryPolicy,
        page_size: int,
        progress: Progress | None,
        suffix: str,
    ) -> None:
        self.target = target
        self.writer = writer
        self.namespaces = namespaces
        self.kinds = kinds
        self.redact = redact
        self.retry = retry
        self.page_size = page_size
        self.progress = progress
        self.suffix = suffix
        self.api = target.api_client()
        self.normalizer = Normalizer(cluster=target.cluster)
        self.summary = ClusterSummary(target.cluster, target.context, target.server)
        self.known_namespaces: list[str] | None = None
        self.listed_namespaces: list[str] = []
        self.pods: list[dict[str, Any]] = []

    # -- reporting ------------------------------------------------------------------------------
    def warn(self, message: str, what: str | None) -> None:
        text = f"{message}{self.suffix}"
        self.summary.warnings.append(text)
        self.writer.warn(SOURCE, text, what=what)

    def report(self, stage: str, what: str, done: int, total: int, items: int = 0) -> None:
        if self.progress is not None:
            self.progress(CollectProgress(self.target.cluster, stage, what, done, total, items))

    # -- reachability -----------------------------------------------------------------------------
    def preflight(self) -> str | None:
        """None when the API answers, else why it cannot be used."""
        return preflight(self.api, self.target.server, retry=self.retry)

    # -- listing ----------------------------------------------------------------------------------
    def scope_text(self, namespace: str | None, spec: KindSpec) -> str:
        if not spec.namespaced:
            return ""
        return f" in namespace '{namespace}'" if namespace else " in all namespaces"

    def list_into(
        self, spec: KindSpec, fn: Callable[..., Any], namespace: str | None, *, fallback: bool
    ) -> int:
        """List one kind in one scope into the normaliser; returns the number of objects."""
        args = (namespace,) if namespace else ()
        what = f"{spec.name}/{namespace}" if namespace else spec.name
        count = 0
        try:
            for items, _rv in list_pages(fn, *args, retry=self.retry, what=what, page_size=self.page_size):
                observed = datetime.now(UTC)
                for item in items:
                    obj = clean_object(item, spec, redact=self.redact)
                    if spec.kind == "Namespace":
                        name = (obj.get("metadata") or {}).get("name")
                        if self.namespaces is not None and name not in self.namespaces:
                            continue
                        self.listed_namespaces.append(str(name))
                    elif spec.kind == "Pod":
                        self.pods.append(obj)
                    self.normalizer.add(obj, observed_at=observed)
                    count += 1
        except ApiException as err:
            scope = self.scope_text(namespace, spec)
            if err.status == 404 and namespace is None:
                raise _NotServed from err
            if err.status == 403:
                if fallback:
                    raise _Forbidden from err
                self.warn(
                    f"403 Forbidden listing {spec.plural}{scope} — grant list on {spec.plural} ({DOCS})", what
                )
            elif err.status == 401:
                self.warn(
                    f"401 Unauthorized listing {spec.plural}{scope}: the credentials were rejected; log in again",
                    what,
                )
            else:
                self.warn(
                    f"listing {spec.plural}{scope} failed ({describe_error(err)}); collected {count} before the error",
                    what,
                )
        except Exception as err:  # network errors that outlived the retries
            scope = self.scope_text(namespace, spec)
            self.warn(
                f"listing {spec.plural}{scope} failed after {self.retry.attempts} attempts ({describe_error(err)}); "
                f"collected {count} before the error",
                what,
            )
        return count

    def collect_kind(self, spec: KindSpec) -> int:
        try:
            if not spec.namespaced:
                return self.list_into(spec, spec.list_all(self.api), None, fallback=False)
            if self.namespaces is not None:
                fn = spec.list_in(self.api)
                return sum(self.list_into(spec, fn, ns, fallback=False) for ns in self.namespaces)
            try:
                return self.list_into(spec, spec.list_all(self.api), None, fallback=True)
            except _Forbidden:
                fallback = self.fallback_namespaces()
                if not fallback:
                    self.warn(
                        f"403 Forbidden listing {spec.plural} in all namespaces, and no namespace is known to "
                        f"list one by one — grant list on {spec.plural} or pass the namespaces ({DOCS})",
                        spec.name,
                    )
                    return 0
                self.warn(
                    f"403 Forbidden listing {spec.plural} in all namespaces — listing the {len(fallback)} "
                    f"namespace(s) one by one; grant list on {spec.plural} cluster-wide to make this faster ({DOCS})",
                    spec.name,
                )
                fn = spec.list_in(self.api)
                return sum(self.list_into(spec, fn, ns, fallback=False) for ns in fallback)
        except _NotServed:
            self.warn(
                f"the cluster does not serve {spec.api_version} {spec.plural} (404); skipped", spec.name
            )
            return 0

    def fallback_namespaces(self) -> list[str]:
        if self.known_namespaces is None:
            self.namespace_names()
        if self.known_namespaces:
            return self.known_namespaces
        return [self.target.namespace] if self.target.namespace else []

    def namespace_names(self) -> None:
        """Learn the namespace names (for the 403 fallback) when Namespaces are not collected."""
        spec = resolve_kinds(["namespaces"])[0]
        found: list[str] = []
        try:
            for items, _rv in list_pages(spec.list_all(self.api), retry=self.retry, what="namespaces"):
                found.extend(str((i.get("metadata") or {}).get("name")) for i in items)
        except Exception as err:
            log.info(
                "cannot list namespaces (%s); the 403 fallback will use the context's namespace",
                describe_error(err),
            )
            found = []
        self.known_namespaces = found

    # -- the whole cluster -----------------------------------------------------------------------
    def run(self, logs: LogOptions) -> None:
        total = len(self.kinds) + (1 if logs.enabled else 0) + 1
        done = 0
        for spec in self.kinds:
            self.report("list", spec.name, done, total)
            n = self.collect_kind(spec)
            if spec.name == "namespaces" and self.namespaces is None and self.listed_namespaces:
                self.known_namespaces = list(self.listed_namespaces)
            self.summary.counts[spec.name] = self.summary.counts.get(spec.name, 0) + n
            done += 1
            self.report("list", spec.name, done, total, n)
        logs_frame = None
        if logs.enabled:
            self.report("logs", "logs", done, total)
            logs_frame = collect_pod_logs(
                self.api,
                self.pods,
                cluster=self.target.cluster,
                options=logs,
                retry=self.retry,
                warn=self.warn,
                on_pod=lambda d, t: self.report("logs", f"logs {d}/{t} pods", done, total),
            )
            self.summary.log_lines = logs_frame.height
            done += 1
            self.report("logs", "logs", done, total, logs_frame.height)
        self.report("write", "tables", done, total)
        for table, frame in self.normalizer.tables().items():
            self.writer.write(table, frame)
        if logs_frame is not None:
            self.writer.write("logs", logs_frame)
        for problem in self.normalizer.warnings:
            self.warn(problem, None)
        self.writer.add_source(
            SOURCE,
            context=self.target.context,
            cluster=self.target.cluster,
            server=self.target.server,
            namespaces=self.namespaces if self.namespaces is not None else "all",
            counts=dict(self.summary.counts),
            log_lines=self.summary.log_lines,
            redact_env=self.redact,
        )
        self.report("write", "tables", total, total)


def _window(
    since: timedelta | None, start: datetime | str | None, end: datetime | str | None
) -> tuple[datetime | None, datetime]:
    hi = to_utc(end) or datetime.now(UTC)
    lo = to_utc(start)
    if lo is None and since is not None:
        lo = hi - since
    return lo, hi


def collect_kubernetes(
    writer: SnapshotWriter,
    *,
    kubeconfig: str | None = None,
    context: str | Sequence[str] | None = None,
    all_contexts: bool = False,
    cluster: str | Mapping[str, str] | None = None,
    namespaces: str | Sequence[str] | None = None,
    kinds: Iterable[str] | None = None,
    since: timedelta | None = None,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    logs: LogOptions = LogOptions(),  # noqa: B008 - frozen dataclass, safe as a default
    redact_env: bool = False,
    progress: Progress | None = None,
    retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen dataclass
    page_size: int = PAGE_SIZE,
) -> CollectSummary:
    """Collect the state of one or more live clusters into ``writer``.

    ``context``: one or several kubeconfig contexts (default: the current one; see
    :func:`~workbench.sources.kubernetes.config.resolve_targets` for discovery). ``cluster``
    renames clusters. ``namespaces``: list only these (default: all). ``kinds``: resource names
    to list (default: every kind in :data:`~workbench.sources.kubernetes.kinds.KINDS`).
    ``since`` or ``start``/``end``: the collection window, recorded in the snapshot and used as
    the pod logs' ``since_seconds`` when that is not set. ``redact_env`` replaces literal env
    values in pod specs and templates. ``progress`` is called with :class:`CollectProgress`.

    Raises :class:`SourceError` when no cluster can be reached at all.
    """
    specs = resolve_kinds(kinds)
    wanted_ns = names(namespaces)
    targets = resolve_targets(
        kubeconfig=kubeconfig, context=context, all_contexts=all_contexts, cluster=cluster
    )
    lo, hi = _window(since, start, end)
    if lo is not None:
        writer.set_window(lo, hi)
        if logs.since_seconds is None:
            logs = replace(logs, since_seconds=max(1, math.ceil((datetime.now(UTC) - lo).total_seconds())))
    summary = CollectSummary()
    failures = []
    for target in targets:
        suffix = f" (cluster {target.cluster})" if len(targets) > 1 else ""
        collector = _ClusterCollector(
            target,
            writer,
            namespaces=wanted_ns,
            kinds=specs,
            redact=redact_env,
            retry=retry,
            page_size=page_size,
            progress=progress,
            suffix=suffix,
        )
        problem = collector.preflight()
        if problem is not None:
            failures.append(f"context {target.context!r}: {problem}")
            collector.summary.reachable = False
            summary.clusters.append(collector.summary)
            continue
        collector.run(logs)
        summary.clusters.append(collector.summary)
    if failures and len(failures) == len(targets):
        msg = (
            "; ".join(failures)
            + "; check --context/--kubeconfig; is the cluster reachable? `kubectl get ns` should work"
        )
        raise SourceError(msg)
    for text in failures:
        writer.warn(SOURCE, f"{text}; skipped this cluster", what=None)
    return summary
