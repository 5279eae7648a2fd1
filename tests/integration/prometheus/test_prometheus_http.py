"""The client against a fake Prometheus API on loopback: authentication headers, secrets kept
out of snapshots, retries on 5xx and timeouts, clear errors for 401 and non-API answers."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest

import workbench as wb
from tests.integration.prometheus.conftest import FakePrometheus
from tests.support.prometheus import free_port
from workbench.errors import SourceError
from workbench.sources.prometheus import PrometheusSettings, collect_prometheus, spec
from workbench.store import SnapshotWriter

T0 = dt.datetime(2026, 11, 2, 6, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(minutes=10)
TOKEN = "s3cret-t0ken-value"
ONE = [spec("container_memory_working_set_bytes")]


def _collect(tmp_path: Path, settings: PrometheusSettings, **kw: object) -> tuple[wb.Dataset, object]:
    with SnapshotWriter(tmp_path / "snap") as w:
        stats = collect_prometheus(w, settings, start=T0, end=T1, queries=ONE, step=60, **kw)
    return wb.open(tmp_path / "snap"), stats


def _everything_written(root: Path) -> str:
    return "\n".join(p.read_bytes().decode("latin-1") for p in root.rglob("*") if p.is_file())


def test_bearer_token_is_sent_and_never_stored(fake_prometheus: FakePrometheus, tmp_path: Path) -> None:
    settings = PrometheusSettings(url=fake_prometheus.url, token=TOKEN, backoff=0)
    ds, _stats = _collect(tmp_path, settings, cluster="prod")
    (req,) = fake_prometheus.requests
    assert req["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert req["path"] == "/api/v1/query_range" and req["params"]["step"] == "60"
    assert ds.sources[0]["auth"] == "bearer"
    assert TOKEN not in _everything_written(tmp_path / "snap")
    assert TOKEN not in repr(settings) and TOKEN not in str(settings)
    df = ds.metrics(metric="container_memory_working_set_bytes")
    assert df.height == 11 and df["cluster"].unique().to_list() == ["prod"]


def test_basic_auth_is_sent_and_the_password_never_stored(
    fake_prometheus: FakePrometheus, tmp_path: Path
) -> None:
    settings = PrometheusSettings(url=fake_prometheus.url, username="grafana", password="pa55word", backoff=0)
    _collect(tmp_path, settings)
    expected = "Basic " + base64.b64encode(b"grafana:pa55word").decode()
    assert fake_prometheus.requests[0]["headers"]["Authorization"] == expected
    assert "pa55word" not in _everything_written(tmp_path / "snap") and "pa55word" not in repr(settings)


def test_extra_headers_are_sent(fake_prometheus: FakePrometheus, tmp_path: Path) -> None:
    settings = PrometheusSettings(url=fake_prometheus.url, headers={"X-Scope-OrgID": "team-a"}, backoff=0)
    _collect(tmp_path, settings)
    assert fake_prometheus.requests[0]["headers"]["X-Scope-OrgID"] == "team-a"


def test_5xx_and_timeouts_are_retried(fake_prometheus: FakePrometheus, tmp_path: Path) -> None:
    error = json.dumps({"status": "error", "errorType": "unavailable", "error": "too many queries"})
    fake_prometheus.script[:] = [
        (503, error, "application/json"),
        (502, "bad gateway", "text/plain"),
        (200, "", "application/json", 1.0),
    ]  # the third answer comes too late
    settings = PrometheusSettings(url=fake_prometheus.url, timeout=0.3, backoff=0)
    ds, stats = _collect(tmp_path, settings)
    assert stats.retries == 3 and stats.requests == 4 and len(fake_prometheus.requests) == 4
    assert ds.warnings == [] and ds.metrics(metric="container_memory_working_set_bytes").height == 11


def test_4xx_is_not_retried_and_names_the_query(fake_prometheus: FakePrometheus, tmp_path: Path) -> None:
    error = json.dumps({"status": "error", "errorType": "bad_data", "error": "1:5: parse error: unexpected"})
    fake_prometheus.script[:] = [(400, error, "application/json")]
    settings = PrometheusSettings(url=fake_prometheus.url, backoff=0)
    with pytest.raises(
        SourceError, match=r"'container_memory_working_set_bytes' \(400\): bad_data: 1:5: parse error"
    ):
        _collect(tmp_path, settings)
    assert len(fake_prometheus.requests) == 1


def test_401_says_to_check_the_token_without_showing_it(
    fake_prometheus: FakePrometheus, tmp_path: Path
) -> None:
    fake_prometheus.script[:] = [(401, "Unauthorized", "text/plain")]
    settings = PrometheusSettings(url=fake_prometheus.url, token=TOKEN, backoff=0)
    with pytest.raises(SourceError, match="401.*check --prometheus-token") as err:
        _collect(tmp_path, settings)
    assert TOKEN not in str(err.value)


def test_an_html_page_is_not_taken_for_the_api(fake_prometheus: FakePrometheus, tmp_path: Path) -> None:
    fake_prometheus.script[:] = [(200, "<html>Log in</html>", "text/html")]
    settings = PrometheusSettings(url=fake_prometheus.url, backoff=0)
    with pytest.raises(SourceError, match="text/html, not Prometheus JSON.*API root"):
        _collect(tmp_path, settings)


def test_server_warnings_are_recorded(fake_prometheus: FakePrometheus, tmp_path: Path) -> None:
    body = {
        "status": "success",
        "warnings": ["partial response: store eu-1 unavailable"],
        "data": {"resultType": "matrix", "result": []},
    }
    fake_prometheus.script[:] = [(200, json.dumps(body), "application/json")]
    ds, _ = _collect(tmp_path, PrometheusSettings(url=fake_prometheus.url, backoff=0))
    (warning,) = ds.warnings
    assert (
        "store eu-1 unavailable" in warning["message"]
        and warning["what"] == "container_memory_working_set_bytes"
    )


def test_unreachable_server_is_a_total_failure(tmp_path: Path) -> None:
    settings = PrometheusSettings(url=f"http://127.0.0.1:{free_port()}", retries=2, backoff=0)
    with pytest.raises(SourceError, match="did not answer.*--prometheus-url"):
        _collect(tmp_path, settings)
    assert not (tmp_path / "snap").exists()
