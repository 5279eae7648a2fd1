"""How to reach a Prometheus-compatible server: URL, authentication, TLS, timeouts, retries.

Explicit values win; ``WORKBENCH_PROMETHEUS_*`` environment variables are the fallback
(:meth:`PrometheusSettings.from_env`). Secrets (token, password, extra header values) never
appear in ``repr``, logs or snapshots.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from workbench.errors import ParameterError

__all__ = ["ENV_PREFIX", "PrometheusSettings"]

log = logging.getLogger(__name__)

ENV_PREFIX = "WORKBENCH_PROMETHEUS_"
_SECRET = frozenset({"token", "password"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True, kw_only=True, repr=False)
class PrometheusSettings:
    """Connection settings for a Prometheus-compatible server (Prometheus, Thanos, Mimir,
    VictoriaMetrics).

    ``url``: the API root (``https://host:9090`` or ``https://host/prometheus``; a trailing
    ``/api/v1`` is removed). ``token``: bearer token. ``username``/``password``: basic auth.
    ``ca_file``: CA bundle to verify TLS; ``insecure_skip_verify`` turns verification off.
    ``headers``: extra headers (e.g. ``{"X-Scope-OrgID": "team-a"}`` for Mimir).
    ``cluster_label``: on servers holding many clusters, the label naming the cluster.
    ``timeout``: seconds per request. ``retries``: attempts per request on 5xx, 429, connection
    errors and timeouts, waiting ``backoff`` seconds, doubling up to ``max_backoff``.
    ``max_points_per_request``: points per series per request (Prometheus refuses > 11,000).
    """

    url: str
    token: str | None = None
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    insecure_skip_verify: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)
    cluster_label: str | None = None
    timeout: float = 60.0
    retries: int = 5
    backoff: float = 1.0
    max_backoff: float = 30.0
    max_points_per_request: int = 11_000

    def __post_init__(self) -> None:
        url = (self.url or "").strip().rstrip("/")
        if url.endswith("/api/v1"):
            url = url.removesuffix("/api/v1")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            msg = (
                f"Prometheus URL {self.display(url)!r} is not an http(s) URL with a host; "
                "use e.g. --prometheus-url http://localhost:9090"
            )
            raise ParameterError(msg)
        object.__setattr__(self, "url", url)
        object.__setattr__(self, "headers", dict(self.headers))
        if self.ca_file is not None and not os.path.isfile(self.ca_file):
            msg = f"CA bundle {self.ca_file} does not exist; check --prometheus-ca-file"
            raise ParameterError(msg)
        if (self.username is None) != (self.password is None):
            msg = "basic auth needs both a username and a password"
            raise ParameterError(msg)
        checks = (
            ("timeout", self.timeout > 0),
            ("retries", self.retries >= 1),
            ("backoff", self.backoff >= 0),
            ("max_backoff", self.max_backoff >= self.backoff),
            ("max_points_per_request", 2 <= self.max_points_per_request <= 11_000),
        )
        for name, ok in checks:
            if not ok:
                msg = f"PrometheusSettings.{name}={getattr(self, name)!r} is out of range"
                raise ParameterError(msg)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **explicit: Any) -> PrometheusSettings:
        """Settings from explicit values, falling back to ``WORKBENCH_PROMETHEUS_<FIELD>``
        environment variables (``_URL``, ``_TOKEN``, ``_USERNAME``, ``_PASSWORD``, ``_CA_FILE``,
        ``_INSECURE_SKIP_VERIFY``, ``_CLUSTER_LABEL``, ``_TIMEOUT``…). ``None`` means "not given"."""
        env = os.environ if env is None else env
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(explicit) - set(known))
        if unknown:
            msg = f"unknown Prometheus setting(s) {', '.join(unknown)}; known: {', '.join(known)}"
            raise ParameterError(msg)
        values: dict[str, Any] = {}
        for name in known:
            if explicit.get(name) is not None:
                values[name] = explicit[name]
                continue
            raw = env.get(ENV_PREFIX + name.upper())
            if raw is None or name == "headers":
                continue
            values[name] = _from_text(name, raw)
            shown = "***" if name in _SECRET else raw
            log.info("Prometheus %s from $%s%s: %s", name, ENV_PREFIX, name.upper(), shown)
        if not values.get("url"):
            msg = f"no Prometheus URL: pass --prometheus-url or set ${ENV_PREFIX}URL"
            raise ParameterError(msg)
        return cls(**values)

    def with_options(self, **changes: Any) -> PrometheusSettings:
        """A copy with some fields changed."""
        return replace(self, **changes)

    @staticmethod
    def display(url: str) -> str:
        """``url`` without user info (``https://user:pw@host`` → ``https://host``)."""
        parts = urlsplit(url)
        if parts.username is None and parts.password is None:
            return url
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit(parts._replace(netloc=netloc))

    @property
    def display_url(self) -> str:
        """The URL safe to log and to record in a snapshot."""
        return self.display(self.url)

    @property
    def auth_kind(self) -> str:
        """``"bearer"``, ``"basic"`` or ``"none"`` (recorded in the snapshot instead of secrets)."""
        if self.token:
            return "bearer"
        if self.username is not None or urlsplit(self.url).username:
            return "basic"
        return "none"

    def __repr__(self) -> str:
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _SECRET and value is not None:
                value = "***"
            elif f.name == "headers":
                value = {k: "***" for k in value}
            elif f.name == "url":
                value = self.display_url
            shown.append(f"{f.name}={value!r}")
        return f"PrometheusSettings({', '.join(shown)})"

    __str__ = __repr__


def _from_text(name: str, raw: str) -> Any:
    kind = {f.name: f.type for f in fields(PrometheusSettings)}[name]
    text = raw.strip()
    try:
        if kind == "bool":
            if text.lower() not in _TRUE | _FALSE:
                raise ValueError(text)
            return text.lower() in _TRUE
        if kind == "float":
            return float(text)
        if kind == "int":
            return int(text)
    except ValueError as err:
        shown = "***" if name in _SECRET else raw
        msg = f"${ENV_PREFIX}{name.upper()}={shown!r} is not a valid {kind}"
        raise ParameterError(msg) from err
    return raw if name in _SECRET else text
