"""One list-and-watch loop for one kind in one scope, run in its own thread.

The loop lists (recording the resourceVersion), then watches from there with bookmarks. Each
ADDED/MODIFIED event that carries a new resourceVersion becomes a revision, each DELETED event
a revision with ``deleted=True``. On ``410 Gone`` it lists again: objects that changed become
revisions, objects that vanished become deletions. Other errors reconnect with exponential
backoff. Revisions go to a queue the flusher drains (see :mod:`.watch`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubernetes import watch as k8s_watch
from kubernetes.client.exceptions import ApiException

from workbench.sources.kubernetes.api import RetryPolicy, describe_error, list_pages
from workbench.sources.kubernetes.config import ClusterTarget
from workbench.sources.kubernetes.kinds import KindSpec, clean_object

__all__ = ["Revision", "Watcher", "WatchOptions", "WatchStats"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Revision:
    """One observed revision of one object, waiting to be flushed."""

    cluster: str
    kind: str
    obj: dict[str, Any]
    observed_at: datetime
    deleted: bool


class WatchStats:
    """Counters shared by the watch threads (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counts[name] = self.counts.get(name, 0) + n

    def get(self, name: str) -> int:
        with self._lock:
            return self.counts.get(name, 0)


@dataclass(frozen=True)
class WatchOptions:
    """Timing of the list-and-watch loops."""

    #: Seconds after which the server ends a watch (the loop then resumes from the last version).
    server_timeout: int = 300
    #: Longest wait between reconnection attempts, seconds (the wait doubles from ``retry.initial``).
    backoff_max: float = 30.0
    redact_env: bool = False
    page_size: int = 500
    retry: RetryPolicy = RetryPolicy()


class Watcher(threading.Thread):
    """List and watch ``spec`` in ``namespace`` (None: all namespaces / cluster-scoped)."""

    def __init__(
        self,
        target: ClusterTarget,
        spec: KindSpec,
        namespace: str | None,
        *,
        out: queue.Queue[Revision],
        stop: threading.Event,
        options: WatchOptions,
        warn: Callable[[str, str | None], None],
        on_forbidden_all: Callable[[ClusterTarget, KindSpec], None] | None = None,
        stats: WatchStats,
    ) -> None:
        scope = namespace or "*"
        super().__init__(name=f"watch-{target.cluster}-{spec.name}-{scope}", daemon=True)
        self.target = target
        self.spec = spec
        self.namespace = namespace
        self.out = out
        self.stop_event = stop
        self.options = options
        self.warn = warn
        self.on_forbidden_all = on_forbidden_all
        self.stats = stats
        self.api = target.api_client()
        self.known: dict[str, tuple[str | None, dict[str, Any]]] = {}
        self._watch: k8s_watch.Watch | None = None
        self._lock = threading.Lock()
        self.what = f"{spec.name}/{namespace}" if namespace else spec.name

    # -- control --------------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the loop to end; unblocks a watch waiting for data."""
        self.stop_event.set()
        with self._lock:
            if self._watch is not None:
                self._watch.stop()

    def _fn(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        if self.namespace is not None:
            return self.spec.list_in(self.api), (self.namespace,)
        return self.spec.list_all(self.api), ()

    def _emit(self, obj: dict[str, Any], *, deleted: bool) -> None:
        self.out.put(Revision(self.target.cluster, self.spec.name, obj, datetime.now(UTC), deleted))
        self.stats.add("revisions")
        if deleted:
            self.stats.add("deletions")

    def _observe(self, raw: dict[str, Any], *, deleted: bool) -> str | None:
        obj = clean_object(raw, self.spec, redact=self.options.redact_env)
        meta = obj.get("metadata") or {}
        uid = str(meta.get("uid") or f"{meta.get('namespace')}/{meta.get('name')}")
        rv = meta.get("resourceVersion")
        if deleted:
            self.known.pop(uid, None)
            self._emit(obj, deleted=True)
        elif uid not in self.known or self.known[uid][0] != rv:
            self.known[uid] = (rv, obj)
            self._emit(obj, deleted=False)
        return rv

    # -- list -------------------------------------------------------------------------------------
    def relist(self) -> str | None:
        """List everything; record what changed or vanished since the last list/watch."""
        fn, args = self._fn()
        seen: set[str] = set()
        rv: str | None = None
        for items, page_rv in list_pages(
            fn, *args, retry=self.options.retry, what=self.what, page_size=self.options.page_size
        ):
            rv = rv or page_rv
            for item in items:
                meta = item.get("metadata") or {}
                seen.add(str(meta.get("uid") or f"{meta.get('namespace')}/{meta.get('name')}"))
                self._observe(item, deleted=False)
        for uid in [u for u in self.known if u not in seen]:
            _rv, last = self.known.pop(uid)
            self._emit(last, deleted=True)
        return rv

    # -- the loop -------------------------------------------------------------------------------
    def run(self) -> None:  # noqa: C901 - one state machine reads best in one place
        rv: str | None = None
        listed = False
        delay = self.options.retry.initial
        failures = 0
        while not self.stop_event.is_set():
            if not listed:
                try:
                    rv = self.relist()
                    listed = True
                except ApiException as err:
                    if self._give_up(err):
                        return
                    failures += 1
                    self._failed(err, failures, "listing")
                    self.stop_event.wait(delay)
                    delay = min(delay * 2, self.options.backoff_max)
                    continue
                except Exception as err:
                    failures += 1
                    self._failed(err, failures, "listing")
                    self.stop_event.wait(delay)
                    delay = min(delay * 2, self.options.backoff_max)
                    continue
            try:
                began = time.monotonic()
                rv = self._stream(rv)
                failures = 0
                if time.monotonic() - began < 1.0 and not self.stop_event.is_set():
                    # The server ended the watch at once: do not hammer it.
                    self.stop_event.wait(delay)
                    delay = min(delay * 2, self.options.backoff_max)
                else:
                    delay = self.options.retry.initial
            except ApiException as err:
                if err.status == 410:
                    log.info("%s: resourceVersion %s is too old (410 Gone); listing again", self.what, rv)
                    self.stats.add("relists")
                    listed = False
                    continue
                if self._give_up(err):
                    return
                failures += 1
                self._failed(err, failures, "watching")
                self.stop_event.wait(delay)
                delay = min(delay * 2, self.options.backoff_max)
            except Exception as err:
                if self.stop_event.is_set():
                    return
                failures += 1
                self._failed(err, failures, "watching")
                self.stop_event.wait(delay)
                delay = min(delay * 2, self.options.backoff_max)

    def _stream(self, rv: str | None) -> str | None:
        fn, args = self._fn()
        w = k8s_watch.Watch(return_type="object")
        with self._lock:
            if self.stop_event.is_set():
                return rv
            self._watch = w
        kwargs: dict[str, Any] = {
            "allow_watch_bookmarks": True,
            "timeout_seconds": self.options.server_timeout,
            "_request_timeout": (self.options.retry.timeout[0], self.options.server_timeout + 30),
        }
        if rv:
            kwargs["resource_version"] = rv
        self.stats.add("watch_requests")
        try:
            for event in w.stream(fn, *args, **kwargs):
                if self.stop_event.is_set():
                    break
                kind = event.get("type")
                raw = event.get("raw_object")
                if not isinstance(raw, dict):
                    continue
                if kind == "BOOKMARK":
                    rv = (raw.get("metadata") or {}).get("resourceVersion") or rv
                elif kind in ("ADDED", "MODIFIED", "DELETED"):
                    rv = self._observe(raw, deleted=kind == "DELETED") or rv
        finally:
            with self._lock:
                self._watch = None
        return rv

    def _give_up(self, err: ApiException) -> bool:
        """Handle errors that retrying cannot fix; True when this loop should end."""
        scope = (
            f" in namespace '{self.namespace}'"
            if self.namespace
            else (" in all namespaces" if self.spec.namespaced else "")
        )
        if err.status == 403:
            if self.namespace is None and self.spec.namespaced and self.on_forbidden_all is not None:
                self.on_forbidden_all(self.target, self.spec)
            else:
                self.warn(
                    f"403 Forbidden watching {self.spec.plural}{scope} — grant list and watch on "
                    f"{self.spec.plural} (see docs/collecting.md)",
                    self.what,
                )
            return True
        if err.status == 404 and self.namespace is None:
            self.warn(
                f"the cluster does not serve {self.spec.api_version} {self.spec.plural} (404); not watched",
                self.what,
            )
            return True
        if err.status == 401:
            self.warn(
                f"401 Unauthorized watching {self.spec.plural}{scope}: the credentials were rejected; log in again",
                self.what,
            )
            return True
        return False

    def _failed(self, err: BaseException, failures: int, doing: str) -> None:
        text = f"{doing} {self.what} failed ({describe_error(err)}); reconnecting"
        if failures == 3:
            self.warn(f"{text} — the API keeps failing, revisions may be missing", self.what)
        else:
            log.info("%s", text)
