"""Pod logs from the API: the current and the previous container's, for problem pods and for the
pods the user names.

A *problem pod* is one whose kubectl status is neither ``Running`` nor ``Completed``, or one
that restarted. Logs are read with ``timestamps=True`` and the ``tail_lines`` /
``since_seconds`` / ``limit_bytes`` limits, then parsed into the ``logs`` table. A 400 for the
previous logs of a container that never restarted (or a container still waiting to start) is
normal and skipped silently.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl
from kubernetes import client as k8s_client
from kubernetes.client.exceptions import ApiException

from workbench.kube import pod_status
from workbench.schema import empty
from workbench.sources.kubernetes.api import RetryPolicy, call, describe_error
from workbench.sources.logs import parse_lines

__all__ = ["LogOptions", "collect_pod_logs", "is_problem_pod", "parse_pod_log", "select_log_pods"]

log = logging.getLogger(__name__)

Warn = Callable[[str, str], None]


@dataclass(frozen=True)
class LogOptions:
    """Which pod logs to read and how much of each."""

    #: Read pod logs at all.
    enabled: bool = True
    #: Read the logs of problem pods (status not Running/Completed, or restarted).
    problem_pods: bool = True
    #: Pods whose logs are read whatever their state: ``"name"`` (any namespace) or
    #: ``"namespace/name"``.
    pods: tuple[str, ...] = ()
    #: Also read the previous (crashed/restarted) container's logs.
    previous: bool = True
    #: Lines from the end of each log (None: all the server keeps).
    tail_lines: int | None = 1000
    #: Only lines newer than this many seconds (None: no limit; the collection window's start
    #: sets it when not given).
    since_seconds: int | None = None
    #: At most this many bytes per container log.
    limit_bytes: int | None = 4 * 1024 * 1024
    #: At most this many pods (named pods first, then problem pods, most restarts first).
    max_pods: int = 200


def _restarts(pod: Mapping[str, Any]) -> int:
    status = pod.get("status") or {}
    total = 0
    for field in ("containerStatuses", "initContainerStatuses"):
        for cs in status.get(field) or ():
            if isinstance(cs, dict):
                total += int(cs.get("restartCount") or 0)
    return total


def is_problem_pod(pod: Mapping[str, Any]) -> bool:
    """True when kubectl would not show the pod as ``Running``/``Completed``, or it restarted."""
    return pod_status(pod) not in ("Running", "Completed") or _restarts(pod) > 0


def _key(pod: Mapping[str, Any]) -> tuple[str, str]:
    meta = pod.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def select_log_pods(pods: Iterable[Mapping[str, Any]], options: LogOptions) -> list[Mapping[str, Any]]:
    """The pods whose logs are read: named pods first, then problem pods by restarts."""
    named: list[Mapping[str, Any]] = []
    problems: list[Mapping[str, Any]] = []
    wanted = set(options.pods)
    for pod in pods:
        ns, name = _key(pod)
        if name in wanted or f"{ns}/{name}" in wanted:
            named.append(pod)
        elif options.problem_pods and is_problem_pod(pod):
            problems.append(pod)
    problems.sort(key=lambda p: (-_restarts(p), _key(p)))
    chosen = named + problems
    if len(chosen) > options.max_pods:
        log.info("reading the logs of %d of %d pods (max_pods)", options.max_pods, len(chosen))
    return chosen[: options.max_pods]


def _containers(pod: Mapping[str, Any], *, named: bool) -> list[tuple[str, bool, bool]]:
    """(container, read current, read previous) for each container worth reading."""
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    states: dict[str, Mapping[str, Any]] = {}
    for field in ("initContainerStatuses", "containerStatuses"):
        for cs in status.get(field) or ():
            if isinstance(cs, dict) and cs.get("name"):
                states[cs["name"]] = cs
    out = []
    for field in ("initContainers", "containers"):
        for c in spec.get(field) or ():
            name = c.get("name") if isinstance(c, dict) else None
            if not name:
                continue
            cs = states.get(name)
            if cs is None:
                out.append((name, named, False))
                continue
            state = cs.get("state") or {}
            started = "running" in state or "terminated" in state
            restarted = int(cs.get("restartCount") or 0) > 0 or "terminated" in (cs.get("lastState") or {})
            out.append((name, started or named, restarted))
    return out


def _read(
    core: k8s_client.CoreV1Api,
    ns: str,
    pod: str,
    container: str,
    *,
    previous: bool,
    options: LogOptions,
    retry: RetryPolicy,
) -> bytes:
    kwargs: dict[str, Any] = {"container": container, "timestamps": True, "previous": previous}
    if options.tail_lines is not None:
        kwargs["tail_lines"] = options.tail_lines
    if options.since_seconds is not None:
        kwargs["since_seconds"] = max(1, int(options.since_seconds))
    if options.limit_bytes is not None:
        kwargs["limit_bytes"] = options.limit_bytes

    def fetch() -> bytes:
        response = core.read_namespaced_pod_log(
            pod, ns, _preload_content=False, _request_timeout=retry.timeout, **kwargs
        )
        try:
            return response.data
        finally:
            response.release_conn()

    return call(fetch, retry=retry, what=f"logs of {ns}/{pod}/{container}")


def collect_pod_logs(
    api_client: k8s_client.ApiClient,
    pods: Sequence[Mapping[str, Any]],
    *,
    cluster: str,
    options: LogOptions,
    retry: RetryPolicy,
    warn: Warn,
    on_pod: Callable[[int, int], None] | None = None,
) -> pl.DataFrame:
    """Read and parse the logs of the selected pods into one ``logs`` table.

    ``warn(message, what)`` records a partial failure; ``on_pod(done, total)`` reports progress.
    """
    if not options.enabled:
        return empty("logs")
    core = k8s_client.CoreV1Api(api_client)
    chosen = select_log_pods(pods, options)
    wanted = set(options.pods)
    frames: list[pl.DataFrame] = []
    forbidden: set[str] = set()
    for done, pod in enumerate(chosen, 1):
        ns, name = _key(pod)
        named = name in wanted or f"{ns}/{name}" in wanted
        for container, current, previous in _containers(pod, named=named):
            for prev in (True, False):
                if (prev and not (previous and options.previous)) or (not prev and not current):
                    continue
                if ns in forbidden:
                    continue
                try:
                    data = _read(core, ns, name, container, previous=prev, options=options, retry=retry)
                except ApiException as err:
                    if err.status in (400, 404):
                        # No previous container, still waiting to start, or the pod is gone.
                        log.debug(
                            "no %slogs for %s/%s/%s: %s",
                            "previous " if prev else "",
                            ns,
                            name,
                            container,
                            describe_error(err),
                        )
                        continue
                    if err.status == 403:
                        forbidden.add(ns)
                        warn(
                            f"403 Forbidden reading pod logs in namespace '{ns}' — grant get on pods/log "
                            "(see docs/collecting.md)",
                            f"pods/log/{ns}",
                        )
                        continue
                    warn(
                        f"could not read the logs of {ns}/{name} container {container}: {describe_error(err)}",
                        f"pods/log/{ns}/{name}",
                    )
                    continue
                except Exception as err:  # network errors after the retries
                    warn(
                        f"could not read the logs of {ns}/{name} container {container}: {describe_error(err)}",
                        f"pods/log/{ns}/{name}",
                    )
                    continue
                truncated = options.limit_bytes is not None and len(data) >= options.limit_bytes
                text = data.decode("utf-8", errors="replace")
                frames.append(
                    parse_pod_log(
                        text,
                        cluster=cluster,
                        namespace=ns,
                        pod=name,
                        container=container,
                        truncated=truncated,
                    )
                )
        if on_pod is not None:
            on_pod(done, len(chosen))
    if not frames:
        return empty("logs")
    return pl.concat(frames, how="vertical")


# -- parsing ---------------------------------------------------------------------------------

#: The timestamp the API puts before each line with ``timestamps=True`` (RFC 3339, nanoseconds).
_TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d) ")


def _timestamped(text: str) -> Iterator[tuple[datetime | None, str, None]]:
    for line in text.splitlines():
        m = _TS.match(line)
        if m is None:
            yield None, line, None
            continue
        frac = (m.group(2) or "0")[:6].ljust(6, "0")
        zone = "+00:00" if m.group(3) == "Z" else m.group(3)
        ts = datetime.fromisoformat(f"{m.group(1)}.{frac}{zone}").astimezone(UTC)
        yield ts, line[m.end() :], None


def parse_pod_log(
    text: str, *, cluster: str, namespace: str, pod: str, container: str, truncated: bool = False
) -> pl.DataFrame:
    """Parse the text of a pod log read with ``timestamps=True`` into ``logs`` rows
    (:func:`workbench.sources.logs.parse_lines`: JSON, logfmt, klog…; stack traces joined).
    ``truncated`` marks the last entry when the log was cut at ``limit_bytes``.

    >>> df = parse_pod_log("2024-05-01T10:00:00.123456789Z level=error msg=boom\\n",
    ...                    cluster="c", namespace="ns", pod="p", container="app")
    >>> df.select("level", "message").row(0)
    ('ERROR', 'boom')
    """
    frame = parse_lines(
        _timestamped(text), cluster=cluster, namespace=namespace, pod=pod, container=container
    )
    if truncated and frame.height:
        flags = [False] * (frame.height - 1) + [True]
        frame = frame.with_columns(pl.Series("truncated", flags, dtype=pl.Boolean))
    return frame
