"""A Kubernetes API emulator for tests: ``kmock`` served on 127.0.0.1 from a background thread.

``kmock`` (PyPI) emulates the API well enough for the official client: list, fetch, create,
patch, delete and watch. It is asyncio-based, so :class:`KMockCluster` runs it in its own event
loop thread, on a free loopback port, and writes a kubeconfig pointing at it.

What kmock does not do, this module adds in a subclass (:class:`RecordingEmulator`):

- pagination: lists honour ``limit`` and ``continue`` (kmock returns everything at once),
  and carry a numeric ``resourceVersion``;
- ``GET /version/`` with the trailing slash the client uses;
- pod logs (``pods/{name}/log``) served from recorded log files, with ``tailLines``,
  ``timestamps``, ``limitBytes`` and ``previous`` (400 when there is no previous container,
  as the real API server answers);
- injected faults: 403 for a kind in one namespace (or in all namespaces), 404 for a kind the
  cluster does not serve, 5xx answers for the next N requests of a path or watches of a kind,
  and ``410 Gone`` as the first event of the next N watches of a kind (kmock ignores
  ``resourceVersion``, so it never expires one by itself);
- the namespace list and watch, which kmock 0.8 cannot route.

Load it with recorded objects (:func:`read_objects`); every request is recorded
(:meth:`KMockCluster.requests`) so tests can assert what was (not) asked.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import aiohttp.web
import attrs
import yaml
from kmock import KubernetesEmulator, KubernetesError, Server, action, resource
from kmock._internal import rendering

__all__ = ["KMockCluster", "RecordingEmulator", "as_events_v1", "free_port", "read_objects", "start_kmock"]

#: (apiVersion, kind) → resource plural; the kinds tests load.
PLURALS: dict[tuple[str, str], str] = {
    ("v1", "Namespace"): "namespaces",
    ("v1", "Node"): "nodes",
    ("v1", "Pod"): "pods",
    ("v1", "Service"): "services",
    ("v1", "Endpoints"): "endpoints",
    ("v1", "PersistentVolumeClaim"): "persistentvolumeclaims",
    ("v1", "ResourceQuota"): "resourcequotas",
    ("v1", "Event"): "events",
    ("v1", "Secret"): "secrets",
    ("v1", "ConfigMap"): "configmaps",
    ("events.k8s.io/v1", "Event"): "events",
    ("discovery.k8s.io/v1", "EndpointSlice"): "endpointslices",
    ("apps/v1", "Deployment"): "deployments",
    ("apps/v1", "ReplicaSet"): "replicasets",
    ("apps/v1", "DaemonSet"): "daemonsets",
    ("apps/v1", "StatefulSet"): "statefulsets",
    ("batch/v1", "Job"): "jobs",
    ("batch/v1", "CronJob"): "cronjobs",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "horizontalpodautoscalers",
}

#: Every list the collector may ask for: served (empty when nothing is loaded), as a real
#: cluster does.
SERVED = {
    f"{'' if '/' not in av else av.rsplit('/', 1)[0]}/{av.rsplit('/', 1)[-1]}/{p}"
    for (av, _k), p in PLURALS.items()
}


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (nothing listens on it when this returns)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _TextTimes(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Keeps timestamps as text, as the API's JSON has them (``yaml.safe_load`` makes datetimes)."""


_TextTimes.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_objects(*paths: Path) -> list[dict[str, Any]]:
    """The objects in recorded YAML/JSON files (Lists expanded, items given kind/apiVersion)."""
    out: list[dict[str, Any]] = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        docs = [json.loads(text)] if path.suffix == ".json" else list(yaml.load_all(text, Loader=_TextTimes))  # noqa: S506
        for doc in docs:
            if not isinstance(doc, dict):
                continue
            if str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"), list):
                kind = doc["kind"][: -len("List")] or None
                for item in doc["items"]:
                    if kind and "kind" not in item:
                        item["kind"] = kind
                    item.setdefault("apiVersion", doc.get("apiVersion", "v1"))
                    out.append(item)
            else:
                out.append(doc)
    return out


def as_events_v1(event: Mapping[str, Any]) -> dict[str, Any]:
    """A core/v1 Event as the API server serves it through events.k8s.io/v1 (its conversion)."""
    out = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": event.get("metadata"),
        "eventTime": event.get("eventTime"),
        "reportingController": event.get("reportingComponent"),
        "reportingInstance": event.get("reportingInstance"),
        "action": event.get("action"),
        "reason": event.get("reason"),
        "regarding": event.get("involvedObject"),
        "related": event.get("related"),
        "note": event.get("message"),
        "type": event.get("type"),
        "deprecatedSource": event.get("source"),
        "deprecatedFirstTimestamp": event.get("firstTimestamp"),
        "deprecatedLastTimestamp": event.get("lastTimestamp"),
        "deprecatedCount": event.get("count"),
    }
    if event.get("series"):
        out["series"] = {
            "count": event["series"].get("count"),
            "lastObservedTime": event["series"].get("lastObservedTime"),
        }
    return {k: v for k, v in out.items() if v not in (None, "")}


def _res_key(group: str, version: str, plural: str) -> str:
    return f"{group}/{version}/{plural}"


def _status(code: int, reason: str, message: str) -> KubernetesError:
    return KubernetesError(status=code, reason=reason, message=message, details={"code": code})


@attrs.define(kw_only=True)
class RecordingEmulator(KubernetesEmulator):
    """kmock's emulator plus pagination, pod logs, /version/ and injected faults."""

    version: dict[str, str] = attrs.field(factory=dict)
    #: (plural, namespace or None for the all-namespaces list) answered with 403.
    forbidden: set[tuple[str, str | None]] = attrs.field(factory=set)
    #: "group/version/plural" answered with 404 (not served by this cluster).
    not_served: set[str] = attrs.field(factory=set)
    #: request path → status codes to answer, one per request, before serving normally.
    faults: dict[str, list[int]] = attrs.field(factory=dict)
    #: plural → status codes to answer to the next watches of that kind, one per watch.
    watch_faults: dict[str, list[int]] = attrs.field(factory=dict)
    #: plural → how many of the next watches start with a 410 Gone ERROR event.
    expire_watches: dict[str, int] = attrs.field(factory=dict)
    #: (namespace, pod, container, previous) → recorded log text (timestamps included).
    pod_logs: dict[tuple[str, str, str, bool], str] = attrs.field(factory=dict)
    list_version: int = 1000

    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        # kmock 0.8 cannot parse "/api/v1/namespaces" (it reads "namespaces" as the namespace
        # prefix and fails), so the namespace list and watch are served here.
        if raw_request.path.rstrip("/") == "/api/v1/namespaces" and raw_request.method == "GET":
            query = dict(raw_request.query)
            watching = query.get("watch") == "true"
            request = rendering.Request(
                id=len(self._requests),
                method="GET",
                url=raw_request.url,
                params=query,
                headers=dict(raw_request.headers),
                action=action.WATCH if watching else action.LIST,
                resource=resource("", "v1", "namespaces"),
                raw_request=raw_request,
            )
            self._requests.append(request)
            if ("namespaces", None) in self.forbidden:
                return await self._render_error(
                    _status(
                        403,
                        "Forbidden",
                        'namespaces is forbidden: User "system:serviceaccount:test:reader" cannot list resource "namespaces" in API group "" at the cluster scope',
                    )
                )
            if not watching:
                return self._list(request, "/v1/namespaces")
            response = aiohttp.web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
            await response.prepare(raw_request)
            for obj in self._items("/v1/namespaces", None):
                await response.write(json.dumps({"type": "ADDED", "object": obj}).encode() + b"\n")
            while not raw_request.transport or not raw_request.transport.is_closing():
                await asyncio.sleep(0.2)
            return response
        return await super().__call__(raw_request)

    async def _handle(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        path = request.url.path
        if path.rstrip("/") == "/version" and self.version:
            return aiohttp.web.json_response(self.version)
        pending = self.faults.get(path)
        if pending:
            code = pending.pop(0)
            raise _status(code, "ServiceUnavailable" if code == 503 else "InternalError", f"injected {code}")
        res = request.resource
        if res is not None and res.plural is not None:
            key = _res_key(res.group or "", res.version or "", res.plural)
            if (res.plural, request.namespace) in self.forbidden and request.action in (
                action.LIST,
                action.WATCH,
            ):
                scope = (
                    f'in the namespace "{request.namespace}"' if request.namespace else "at the cluster scope"
                )
                raise _status(
                    403,
                    "Forbidden",
                    f'{res.plural} is forbidden: User "system:serviceaccount:test:reader" cannot list resource '
                    f'"{res.plural}" in API group "{res.group or ""}" {scope}',
                )
            if key in self.not_served:
                raise _status(404, "NotFound", "the server could not find the requested resource")
            if request.action == action.LIST and key in SERVED:
                return self._list(request, key)
            if request.action == action.WATCH and self.watch_faults.get(res.plural):
                code = self.watch_faults[res.plural].pop(0)
                raise _status(code, "ServiceUnavailable", f"injected {code}")
            if request.action == action.WATCH and self.expire_watches.get(res.plural, 0) > 0:
                self.expire_watches[res.plural] -= 1
                return await self._gone(request)
            if res.plural == "pods" and request.subresource == "log":
                return self._log(request)
        return await super()._handle(request)

    def _items(self, key: str, namespace: str | None) -> list[dict[str, Any]]:
        items = []
        for (res, ns, _name), obj in self.objects.items():
            if _res_key(res.group or "", res.version or "", res.plural or "") != key or obj.deleted:
                continue
            if namespace is None or ns == namespace:
                items.append(obj.raw)
        return sorted(
            items,
            key=lambda o: (
                (o.get("metadata") or {}).get("namespace") or "",
                (o.get("metadata") or {}).get("name") or "",
            ),
        )

    def _list(self, request: rendering.Request, key: str) -> aiohttp.web.StreamResponse:
        items = self._items(key, request.namespace)
        limit = int(request.params.get("limit") or 0)
        token = request.params.get("continue")
        start = int(base64.b64decode(token).decode()) if token else 0
        end = start + limit if limit > 0 else len(items)
        meta: dict[str, Any] = {"resourceVersion": str(self.list_version)}
        if end < len(items):
            meta["continue"] = base64.b64encode(str(end).encode()).decode()
            meta["remainingItemCount"] = len(items) - end
        return aiohttp.web.json_response(
            {"kind": "List", "apiVersion": "v1", "metadata": meta, "items": items[start:end]}
        )

    async def _gone(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        assert request._raw_request is not None  # noqa: SLF001
        response = aiohttp.web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        await response.prepare(request._raw_request)  # noqa: SLF001
        rv = request.params.get("resourceVersion", "")
        event = {
            "type": "ERROR",
            "object": {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": f"too old resource version: {rv} ({self.list_version})",
                "reason": "Expired",
                "code": 410,
            },
        }
        await response.write(json.dumps(event).encode() + b"\n")
        await response.write_eof()
        return response

    def _log(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        ns, pod = request.namespace or "", request.name or ""
        found = [
            o
            for (r, n, name), o in self.objects.items()
            if r.plural == "pods" and n == ns and name == pod and not o.deleted
        ]
        if not found:
            raise _status(404, "NotFound", f'pods "{pod}" not found')
        spec = found[0].raw.get("spec") or {}
        containers = [c["name"] for f in ("initContainers", "containers") for c in spec.get(f) or ()]
        container = request.params.get("container") or (containers[0] if len(containers) == 1 else "")
        if container not in containers:
            raise _status(400, "BadRequest", f"container {container} is not valid for pod {pod}")
        previous = request.params.get("previous") == "true"
        text = self.pod_logs.get((ns, pod, container, previous))
        if text is None and previous:
            raise _status(
                400, "BadRequest", f'previous terminated container "{container}" in pod "{pod}" not found'
            )
        lines = (text or "").splitlines(keepends=True)
        if request.params.get("tailLines"):
            lines = lines[-int(request.params["tailLines"]) :] if int(request.params["tailLines"]) else []
        if request.params.get("timestamps") != "true":
            lines = [line.split(" ", 1)[1] if " " in line else line for line in lines]
        body = "".join(lines).encode()
        if request.params.get("limitBytes"):
            body = body[: int(request.params["limitBytes"])]
        return aiohttp.web.Response(body=body, content_type="text/plain")


class KMockCluster:
    """A :class:`RecordingEmulator` served on a free 127.0.0.1 port from its own thread."""

    def __init__(self, *, version: Mapping[str, str] | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="kmock", daemon=True)
        self._version = dict(version or {})
        self.emulator: RecordingEmulator
        self.server: Server

    # -- life cycle -------------------------------------------------------------------------------
    def start(self) -> KMockCluster:
        self.thread.start()
        self.run(self._start())
        return self

    async def _start(self) -> None:
        self.emulator = RecordingEmulator(version=self._version)
        await self.emulator.__aenter__()
        self.server = Server(self.emulator, host="127.0.0.1")
        await self.server.__aenter__()

    async def _stop(self) -> None:
        await self.server.__aexit__(None, None, None)
        await self.emulator.__aexit__(None, None, None)

    def stop(self) -> None:
        try:
            self.run(self._stop(), timeout=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()

    def run(self, coro: Any, *, timeout: float = 10) -> Any:
        """Run a coroutine in the emulator's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    # -- access -----------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kubeconfig(
        self, path: Path, *, context: str = "kmock", token: str = "kmock-token-never-store"
    ) -> Path:
        """Write a kubeconfig for this server (bearer ``token``) and return its path."""
        return write_kubeconfig(path, server=self.url, context=context, token=token)

    def load(self, objects: Iterable[Mapping[str, Any]]) -> int:
        """Put objects into the emulator (namespace from their metadata); returns how many."""

        async def put() -> int:
            n = 0
            for obj in objects:
                key = (obj.get("apiVersion", "v1"), obj.get("kind", ""))
                if key not in PLURALS:
                    msg = f"the emulator does not know {key}; add it to PLURALS"
                    raise KeyError(msg)
                av = key[0]
                group, version = av.rsplit("/", 1) if "/" in av else ("", av)
                meta = obj.get("metadata") or {}
                self.emulator.objects[
                    resource(group, version, PLURALS[key]), meta.get("namespace"), meta["name"]
                ] = dict(obj)
                n += 1
            return n

        return self.run(put())

    def requests(self) -> list[tuple[str, str, dict[str, str]]]:
        """(method, path, query) of every request served so far, in order."""
        return [
            (str(r.method.value if hasattr(r.method, "value") else r.method), r.url.path, dict(r.params))
            for r in list(self.emulator)
        ]


def write_kubeconfig(
    path: Path, *, server: str, context: str = "kmock", token: str = "kmock-token-never-store"
) -> Path:
    """A kubeconfig with one context ``context`` for ``server`` (bearer ``token``)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": f"{context}-cluster", "cluster": {"server": server}}],
        "users": [{"name": f"{context}-user", "user": {"token": token}}],
        "contexts": [
            {"name": context, "context": {"cluster": f"{context}-cluster", "user": f"{context}-user"}}
        ],
        "current-context": context,
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def start_kmock(*, version: Mapping[str, str] | None = None) -> KMockCluster:
    """Start an emulator (stop it with :meth:`KMockCluster.stop`)."""
    return KMockCluster(version=version).start()
