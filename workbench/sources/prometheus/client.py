"""Range queries against a Prometheus-compatible server: step choice, splitting long windows
under the points-per-series limit, retries with exponential backoff, authentication.

The HTTP session is shared with a ``prometheus_api_client.PrometheusConnect`` (``client.api``)
so ad-hoc queries in a notebook use the same authentication and TLS settings. Range queries
go through that session directly, because a clear error needs the HTTP status and the
server's ``errorType``/``error`` text.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests
from prometheus_api_client import PrometheusConnect
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential
from urllib3.util.retry import Retry

from workbench.errors import ParameterError, SourceError
from workbench.sources.prometheus.settings import PrometheusSettings

__all__ = [
    "NICE_STEPS",
    "PrometheusClient",
    "PrometheusQueryError",
    "PrometheusUnavailable",
    "RequestStats",
    "choose_step",
    "plan_chunks",
]

log = logging.getLogger(__name__)

#: Steps (seconds) the automatic choice picks from: dashboards and people read these easily.
NICE_STEPS = (15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400)


class PrometheusQueryError(SourceError):
    """The server refused a query (HTTP 4xx): bad PromQL, authentication, or a limit."""

    def __init__(self, message: str, *, status: int, error_type: str | None, query: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.query = query


class PrometheusUnavailable(SourceError):
    """The server did not answer (connection error, timeout or 5xx) after all retries."""


class _Transient(Exception):
    """A 5xx or 429 answer: worth retrying."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"HTTP {status}: {text}")
        self.status = status


#: Failures worth retrying: 5xx/429 answers, refused or dropped connections, timeouts.
_RETRYABLE = (
    _Transient,
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


def choose_step(
    start: dt.datetime, end: dt.datetime, *, min_step: float = 15, max_points: int = 43_200
) -> int:
    """The smallest step of :data:`NICE_STEPS` (at least ``min_step``) that gives at most
    ``max_points`` points per series over the window (15 s up to 7 days, 30 s up to 14 days…).

    >>> t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    >>> choose_step(t0, t0 + dt.timedelta(days=3)), choose_step(t0, t0 + dt.timedelta(days=28))
    (15, 60)
    """
    span = (end - start).total_seconds()
    if span <= 0:
        msg = f"the window is empty: start {start.isoformat()} is not before end {end.isoformat()}"
        raise ParameterError(msg)
    for step in NICE_STEPS:
        if step >= min_step and span / step + 1 <= max_points:
            return step
    return max(math.ceil(span / (max_points - 1)), math.ceil(min_step))


def plan_chunks(
    start: dt.datetime, end: dt.datetime, *, step: float, max_points: int = 11_000
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Split ``[start, end]`` into request windows of at most ``max_points`` evaluation times.

    Evaluation times are the multiples of ``step`` (from the Unix epoch) inside the window, so
    two collections of the same window agree; chunks neither overlap nor leave a gap: the next
    chunk starts one step after the previous one ends.

    >>> t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    >>> [(a.isoformat(), b.isoformat()) for a, b in plan_chunks(t0, t0 + dt.timedelta(minutes=1), step=15, max_points=3)]
    [('2026-01-01T00:00:00+00:00', '2026-01-01T00:00:30+00:00'), ('2026-01-01T00:00:45+00:00', '2026-01-01T00:01:00+00:00')]
    """
    if step <= 0:
        msg = f"step must be positive, not {step}"
        raise ParameterError(msg)
    if max_points < 1:
        msg = f"max_points must be at least 1, not {max_points}"
        raise ParameterError(msg)
    lo, hi = start.timestamp(), end.timestamp()
    first = math.ceil(lo / step) * step
    chunks = []
    while first <= hi:
        last = min(first + (max_points - 1) * step, math.floor(hi / step) * step)
        chunks.append((_utc(first), _utc(last)))
        first = last + step
    return chunks


def _utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


@dataclass
class RequestStats:
    """What the client did: HTTP requests sent (retries included) and retries."""

    requests: int = 0
    retries: int = 0


class PrometheusClient:
    """A client for one server. Use as a context manager or call :meth:`close`.

    ``sleep`` is the function waiting between retries (tests pass a no-op).
    """

    def __init__(
        self,
        settings: PrometheusSettings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.stats = RequestStats()
        self._sleep = sleep
        self.session = session or requests.Session()
        headers = {"Accept": "application/json", **settings.headers}
        if settings.token:
            headers["Authorization"] = f"Bearer {settings.token}"
        self.session.headers.update(headers)
        if settings.username is not None:
            self.session.auth = (settings.username, settings.password or "")
        if settings.insecure_skip_verify:
            log.warning("TLS verification is off for %s (insecure_skip_verify)", settings.display_url)
            self.session.verify = False
        elif settings.ca_file:
            self.session.verify = settings.ca_file
        #: A ``PrometheusConnect`` on the same session, for ad-hoc queries.
        self.api = PrometheusConnect(
            url=settings.url,
            session=self.session,
            retry=Retry(total=0, raise_on_status=False),
            timeout=settings.timeout,
        )
        #: Set after a request failed all its retries: later requests try once until one succeeds.
        self.degraded = False

    def __enter__(self) -> PrometheusClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    # -- one request --------------------------------------------------------------------------
    def query_range(
        self, query: str, *, start: dt.datetime, end: dt.datetime, step: float, name: str | None = None
    ) -> dict[str, Any]:
        """One ``/api/v1/query_range`` request with retries; returns the ``data`` object
        (``resultType``, ``result``) plus the server's ``warnings`` if any.

        Raises :class:`PrometheusQueryError` on 4xx (naming the query and the server's error)
        and :class:`PrometheusUnavailable` once the retries are exhausted.
        """
        label = name or query
        attempts = 1 if self.degraded else self.settings.retries
        retrying = Retrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(
                multiplier=self.settings.backoff, min=self.settings.backoff, max=self.settings.max_backoff
            ),
            retry=retry_if_exception(lambda e: isinstance(e, _RETRYABLE)),
            sleep=self._sleep,
            before_sleep=lambda state: self._note_retry(state, label),
            reraise=True,
        )
        params = {
            "query": query,
            "start": _num(start.timestamp()),
            "end": _num(end.timestamp()),
            "step": _num(step),
        }
        try:
            data = retrying(self._request, params, label)
        except _RETRYABLE as err:
            self.degraded = True
            msg = (
                f"Prometheus at {self.settings.display_url} did not answer query {label!r} for "
                f"{start.isoformat()} → {end.isoformat()} after {attempts} attempt(s) ({_short(err)}); "
                "check the URL or port-forward (use --prometheus-url)"
            )
            raise PrometheusUnavailable(msg) from err
        self.degraded = False
        return data

    def _note_retry(self, state: RetryCallState, label: str) -> None:
        self.stats.retries += 1
        err = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0
        log.info("query %r: %s; retry %d in %.1f s", label, _short(err), state.attempt_number, wait)

    def _request(self, params: dict[str, str], label: str) -> dict[str, Any]:
        self.stats.requests += 1
        url = f"{self.settings.url}/api/v1/query_range"
        resp = self.session.get(url, params=params, timeout=self.settings.timeout)
        if resp.status_code >= 500 or resp.status_code == 429:
            raise _Transient(resp.status_code, _error_text(resp))
        if resp.status_code >= 400:
            raise self._query_error(resp, params["query"], label)
        try:
            body = resp.json()
        except ValueError as err:
            kind = resp.headers.get("Content-Type", "unknown content")
            msg = (
                f"{self.settings.display_url} answered query {label!r} with {kind}, not Prometheus JSON; "
                "is the URL the Prometheus API root (e.g. https://host:9090 or https://host/prometheus)?"
            )
            raise SourceError(msg) from err
        if not isinstance(body, dict):
            body = {"body": body}
        data = body.get("data")
        if (
            body.get("status") != "success"
            or not isinstance(data, dict)
            or data.get("resultType") != "matrix"
        ):
            msg = f"{self.settings.display_url} answered query {label!r} with an unexpected body: {str(body)[:300]}"
            raise SourceError(msg)
        if body.get("warnings"):
            data = {**data, "warnings": list(body["warnings"])}
        return data

    def _query_error(self, resp: requests.Response, query: str, label: str) -> PrometheusQueryError:
        text = _error_text(resp)
        error_type = None
        try:
            error_type = resp.json().get("errorType")
        except (ValueError, AttributeError):
            pass
        status = resp.status_code
        where = self.settings.display_url
        if status in (401, 403):
            hint = (
                "check --prometheus-token (or --prometheus-username/--prometheus-password)"
                if status == 401
                else "the credentials are valid but not allowed to query; check --prometheus-token and its permissions"
            )
            msg = f"Prometheus at {where} answered {status} {resp.reason} to query {label!r}: {text}; {hint}"
        elif status == 404:
            msg = (
                f"{where}/api/v1/query_range was not found (404) for query {label!r}; "
                "is the URL the Prometheus API root (e.g. https://host:9090 or https://host/prometheus)?"
            )
        else:
            msg = f"Prometheus at {where} refused query {label!r} ({status}): {text}\n  query: {query}"
        return PrometheusQueryError(msg, status=status, error_type=error_type, query=query)

    # -- a long window ------------------------------------------------------------------------
    def query_range_chunked(
        self, query: str, *, start: dt.datetime, end: dt.datetime, step: float, name: str | None = None
    ) -> Iterator[tuple[dt.datetime, dt.datetime, dict[str, Any]]]:
        """Yield ``(chunk_start, chunk_end, data)`` for each request window of
        :func:`plan_chunks`; errors propagate from the failing chunk on."""
        for lo, hi in plan_chunks(start, end, step=step, max_points=self.settings.max_points_per_request):
            yield lo, hi, self.query_range(query, start=lo, end=hi, step=step, name=name)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _error_text(resp: requests.Response) -> str:
    try:
        body = resp.json()
        if isinstance(body, dict) and body.get("error"):
            kind = body.get("errorType")
            return f"{kind}: {body['error']}" if kind else str(body["error"])
    except ValueError:
        pass
    return resp.text.strip()[:300] or resp.reason or "no details"


def _short(err: BaseException | None) -> str:
    if err is None:
        return "unknown error"
    if isinstance(err, (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        return "connection failed"
    if isinstance(err, requests.Timeout):
        return "timed out"
    return str(err)[:200]
