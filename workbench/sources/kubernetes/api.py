"""Calling the API: bounded retries with backoff, raw JSON lists with pagination, and error
messages that say what to do.

Lists are requested with ``_preload_content=False`` and parsed here: faster than the client's
model classes, and the objects keep their real field names (``containerStatuses``, not
``container_statuses``), which is what the normaliser reads.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import urllib3
from kubernetes import client as k8s_client
from kubernetes.client.exceptions import ApiException
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from workbench.kube._common import parse_json

__all__ = [
    "PAGE_SIZE",
    "RetryPolicy",
    "call",
    "describe_error",
    "is_transient",
    "list_pages",
    "preflight",
    "status_of",
]

log = logging.getLogger(__name__)

#: Objects per list request; the server sends a ``continue`` token when there are more.
PAGE_SIZE = 500

T = TypeVar("T")

_TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failing call is retried (only network errors, 429 and 5xx)."""

    attempts: int = 4
    #: The first wait in seconds; it doubles up to ``maximum``.
    initial: float = 0.5
    maximum: float = 8.0
    #: (connect, read) timeout of one request, seconds.
    timeout: tuple[float, float] = (10.0, 60.0)


def status_of(err: BaseException) -> int | None:
    """The HTTP status of an API error (None for network errors)."""
    return err.status if isinstance(err, ApiException) else None


def is_transient(err: BaseException) -> bool:
    """True for errors worth retrying: connection problems, timeouts, 429 and 5xx."""
    if isinstance(err, ApiException):
        return err.status in _TRANSIENT_STATUS or err.status == 0
    return isinstance(err, urllib3.exceptions.HTTPError | ConnectionError | TimeoutError)


def call(fn: Callable[[], T], *, retry: RetryPolicy, what: str) -> T:
    """Call ``fn`` and retry transient failures with exponential backoff (bounded)."""

    def before_sleep(state: Any) -> None:
        err = state.outcome.exception()
        log.info(
            "%s: %s; retrying (attempt %d of %d)", what, _short(err), state.attempt_number + 1, retry.attempts
        )

    retrying = Retrying(
        stop=stop_after_attempt(max(1, retry.attempts)),
        wait=wait_exponential(multiplier=retry.initial, max=retry.maximum),
        retry=retry_if_exception(is_transient),
        before_sleep=before_sleep,
        reraise=True,
    )
    return retrying(fn)


def list_pages(
    fn: Callable[..., Any],
    *args: Any,
    retry: RetryPolicy,
    what: str,
    page_size: int = PAGE_SIZE,
    **kwargs: Any,
) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
    """Yield ``(items, resourceVersion)`` per page of a list call, following ``continue`` tokens.

    A continue token that expired (410) restarts the list once from the beginning.
    """
    token: str | None = None
    restarted = False
    while True:
        try:
            body = call(
                functools.partial(
                    _get_json, fn, *args, limit=page_size, _continue=token, retry=retry, **kwargs
                ),
                retry=retry,
                what=what,
            )
        except ApiException as err:
            if err.status == 410 and token is not None and not restarted:
                log.info("%s: the continue token expired; listing again from the start", what)
                token, restarted = None, True
                continue
            raise
        metadata = body.get("metadata") or {}
        items = body.get("items") or []
        yield [i for i in items if isinstance(i, dict)], metadata.get("resourceVersion")
        token = metadata.get("continue") or None
        if token is None:
            return


def _get_json(fn: Callable[..., Any], *args: Any, retry: RetryPolicy, **kwargs: Any) -> dict[str, Any]:
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    response = fn(*args, _preload_content=False, _request_timeout=retry.timeout, **kwargs)
    try:
        data = response.data
    finally:
        response.release_conn()
    try:
        body = parse_json(data)  # orjson: a 30,000-pod page parses several times faster
    except ValueError as err:
        msg = f"the API answered with something that is not JSON ({data[:80]!r})"
        raise ApiException(status=502, reason=msg) from err
    if not isinstance(body, dict):
        msg = "the API answered with JSON that is not a list object"
        raise ApiException(status=502, reason=msg)
    return body


def _short(err: BaseException | None) -> str:
    if err is None:
        return "no error"
    if isinstance(err, ApiException):
        reason = (err.reason or "").strip()
        message = _api_message(err)
        text = f"{err.status} {reason}".strip()
        return f"{text}: {message}" if message else text
    text = str(err)
    if isinstance(err, urllib3.exceptions.MaxRetryError) and err.reason is not None:
        text = str(err.reason)
    return f"{type(err).__name__}: {text[:200]}"


def _api_message(err: ApiException) -> str | None:
    body = err.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not body:
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        return body[:200]
    return str(parsed.get("message"))[:200] if isinstance(parsed, dict) and parsed.get("message") else None


def describe_error(err: BaseException) -> str:
    """A short description of an API or network error, without credentials."""
    return _short(err)


def preflight(api_client: k8s_client.ApiClient, server: str, *, retry: RetryPolicy) -> str | None:
    """Ask ``/version``: None when the API answers, else why the cluster cannot be used."""
    version = k8s_client.VersionApi(api_client)
    try:
        call(
            lambda: version.get_code(_preload_content=False, _request_timeout=retry.timeout).release_conn(),
            retry=retry,
            what=f"{server}/version",
        )
    except ApiException as err:
        if err.status == 401:
            return f"the API at {server} rejected the credentials (401 Unauthorized); log in again (e.g. refresh the token)"
        if err.status in (403, 404):
            return None  # it answers; /version is merely restricted
        return f"the API at {server} failed: {describe_error(err)}"
    except Exception as err:  # network errors after the retries
        return f"cannot reach the API at {server} ({describe_error(err)})"
    return None
