"""Which clusters to talk to: kubeconfig discovery, contexts, and in-cluster configuration.

The kubeconfig is found in this order, and the log says which one was used:

1. the ``kubeconfig`` argument (``--kubeconfig``; several paths joined by ``:`` are merged),
2. ``$KUBECONFIG`` (read when the function is called, not at import),
3. ``~/.kube/config``,
4. the in-cluster service account (``KUBERNETES_SERVICE_HOST`` and the mounted token).

Each selected context becomes one :class:`ClusterTarget`: one cluster of the snapshot, named
after the context unless a name is given. Credentials stay inside the client configuration;
:attr:`ClusterTarget.server` is the API address without any user information or path, safe to
record in a snapshot.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from workbench.errors import ParameterError, SourceError

__all__ = ["IN_CLUSTER", "ClusterTarget", "resolve_kubeconfig", "resolve_targets", "server_address"]

log = logging.getLogger(__name__)

#: The context name used for the in-cluster service account.
IN_CLUSTER = "in-cluster"

_SA_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
_HINT = "check --context/--kubeconfig; is the cluster reachable? `kubectl get ns` should work"


@dataclass(frozen=True)
class ClusterTarget:
    """One cluster to collect from: a kubeconfig context (or the in-cluster account)."""

    #: The kubeconfig context (``"in-cluster"`` for the service account).
    context: str
    #: The cluster name written into the snapshot's ``cluster`` column.
    cluster: str
    #: The API server address, ``scheme://host:port`` only (no credentials, no path).
    server: str
    #: The kubeconfig path(s) used, or None in-cluster.
    kubeconfig: str | None
    #: The default namespace of the context (kubeconfig ``namespace``), if any.
    namespace: str | None = None
    #: The client configuration, credentials included: never log or store it.
    configuration: k8s_client.Configuration = field(repr=False, compare=False, default=None)  # type: ignore[assignment]

    def api_client(self) -> k8s_client.ApiClient:
        """A new API client for this cluster (one per thread is safest)."""
        return k8s_client.ApiClient(configuration=self.configuration)


def server_address(url: str | None) -> str:
    """The API address without user information, path or query: safe to record.

    >>> server_address("https://admin:s3cret@10.0.0.1:6443/k8s/clusters/c-1?x=1")
    'https://10.0.0.1:6443'
    >>> server_address("http://[::1]:8080")
    'http://[::1]:8080'
    """
    if not url:
        return ""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}" if parts.scheme else f"{host}{port}"


def _existing(paths: str) -> list[str]:
    return [p for p in paths.split(os.pathsep) if p and Path(p).expanduser().exists()]


def resolve_kubeconfig(kubeconfig: str | os.PathLike[str] | None = None) -> str | None:
    """The kubeconfig path(s) to use, or None when only the in-cluster account is left.

    Raises :class:`SourceError` when an explicitly given kubeconfig does not exist.
    """
    if kubeconfig is not None:
        text = os.fspath(kubeconfig)
        if not _existing(text):
            msg = f"kubeconfig {text} does not exist; pass an existing file with --kubeconfig"
            raise SourceError(msg)
        log.info("using the kubeconfig given: %s", text)
        return text
    env = os.environ.get("KUBECONFIG", "")
    if env:
        if _existing(env):
            log.info("using the kubeconfig from $KUBECONFIG: %s", env)
            return env
        log.warning("$KUBECONFIG=%s names no existing file; trying ~/.kube/config", env)
    home = Path("~/.kube/config").expanduser()
    if home.is_file():
        log.info("using the kubeconfig %s", home)
        return str(home)
    return None


def _in_cluster_available() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and _SA_TOKEN.is_file()


def _fresh_configuration() -> k8s_client.Configuration:
    cfg = k8s_client.Configuration()
    # Retries are ours (tenacity, bounded, with backoff); urllib3 must not retry underneath.
    cfg.retries = 0
    return cfg


def _names(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def resolve_targets(
    *,
    kubeconfig: str | os.PathLike[str] | None = None,
    context: str | Sequence[str] | None = None,
    all_contexts: bool = False,
    cluster: str | Mapping[str, str] | None = None,
) -> list[ClusterTarget]:
    """The clusters to collect from.

    ``context``: one context or several (default: the current context); ``all_contexts=True``
    takes every context of the kubeconfig. ``cluster`` renames clusters in the snapshot: a
    name (only with one context) or a mapping context → name.
    """
    path = resolve_kubeconfig(kubeconfig)
    wanted = _names(context)
    if path is None:
        if not _in_cluster_available():
            msg = (
                "no kubeconfig found (no --kubeconfig, $KUBECONFIG or ~/.kube/config) and not running "
                f"inside a cluster; {_HINT}"
            )
            raise SourceError(msg)
        if wanted and wanted != [IN_CLUSTER]:
            msg = f"context {wanted[0]!r} asked for, but there is no kubeconfig (only the in-cluster account); pass --kubeconfig"
            raise SourceError(msg)
        cfg = _fresh_configuration()
        try:
            k8s_config.load_incluster_config(client_configuration=cfg)
        except ConfigException as err:
            msg = f"cannot use the in-cluster service account ({err}); {_HINT}"
            raise SourceError(msg) from err
        log.info("using the in-cluster service account")
        name = _cluster_name(IN_CLUSTER, cluster, single=True)
        return [ClusterTarget(IN_CLUSTER, name, server_address(cfg.host), None, None, cfg)]

    try:
        contexts, current = k8s_config.list_kube_config_contexts(config_file=path)
    except (ConfigException, OSError, ValueError) as err:
        msg = f"cannot read kubeconfig {path} ({err}); fix the file or pass another with --kubeconfig"
        raise SourceError(msg) from err
    by_name = {c["name"]: c for c in contexts or []}
    if all_contexts:
        chosen = list(by_name)
    elif wanted:
        missing = [c for c in wanted if c not in by_name]
        if missing:
            msg = (
                f"context {missing[0]!r} is not in kubeconfig {path}; the contexts are: "
                f"{', '.join(sorted(by_name)) or '(none)'}"
            )
            raise SourceError(msg)
        chosen = list(dict.fromkeys(wanted))
    elif current:
        chosen = [current["name"]]
    else:
        msg = f"kubeconfig {path} has no current-context; choose one with --context ({', '.join(sorted(by_name))})"
        raise SourceError(msg)
    if not chosen:
        msg = f"kubeconfig {path} has no contexts; {_HINT}"
        raise SourceError(msg)

    targets = []
    for ctx in chosen:
        cfg = _fresh_configuration()
        try:
            k8s_config.load_kube_config(
                config_file=path, context=ctx, client_configuration=cfg, persist_config=False
            )
        except (ConfigException, OSError, ValueError) as err:
            msg = f"cannot load context {ctx!r} from kubeconfig {path} ({err}); {_HINT}"
            raise SourceError(msg) from err
        ns = (by_name[ctx].get("context") or {}).get("namespace")
        name = _cluster_name(ctx, cluster, single=len(chosen) == 1)
        targets.append(ClusterTarget(ctx, name, server_address(cfg.host), path, ns, cfg))
        log.info("context %s → cluster %s at %s", ctx, name, server_address(cfg.host))
    return targets


def _cluster_name(context: str, cluster: str | Mapping[str, str] | None, *, single: bool) -> str:
    if cluster is None:
        return context
    if isinstance(cluster, str):
        if not single:
            msg = "one cluster name was given for several contexts; give a mapping context → name"
            raise ParameterError(msg)
        return cluster
    return cluster.get(context, context)
