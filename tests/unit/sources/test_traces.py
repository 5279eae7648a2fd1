"""Trace files → the ``spans`` table: real Zipkin and Jaeger files, an OTLP sample, bad input."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from workbench.errors import ParameterError, SourceError
from workbench.schema import conform, validate
from workbench.sources.traces import TRACE_FORMATS, read_traces

TRACE_FILES = sorted(
    (Path(__file__).resolve().parents[3] / ".." / "shared" / "realdata" / "traces").glob("*/*.json")
)


def _zipkin(realdata: Path, name: str) -> Path:
    return realdata / "traces" / "zipkin_lens_testdata" / name


def _jaeger(realdata: Path, name: str) -> Path:
    return realdata / "traces" / "jaeger_ui_testdata" / name


@pytest.mark.parametrize("path", TRACE_FILES, ids=lambda p: p.name)
def test_every_real_trace_file_imports_without_problems(path: Path) -> None:
    imp = read_traces(path, cluster="c1")
    assert imp.format == ("jaeger" if "jaeger" in path.parent.name else "zipkin")
    assert imp.problems == []
    assert imp.spans.height > 0
    validate("spans", imp.spans)
    assert imp.spans["trace_id"].null_count() == 0
    assert imp.spans["span_id"].null_count() == 0
    assert (imp.spans["cluster"] == "c1").all()


def test_there_are_real_trace_files_to_test() -> None:
    # 10 Zipkin and 3 Jaeger files in shared/realdata/traces (README.md is not a trace).
    assert len(TRACE_FILES) == 13


def test_zipkin_smartthings_trace_has_1041_spans_16_services_one_trace(realdata: Path) -> None:
    spans = read_traces(_zipkin(realdata, "smartthings-mobile-web-install.json"), cluster="c1").spans
    assert spans.height == 1041
    assert set(spans["service"].drop_nulls()) == {
        "account",
        "stLogin",
        "platformapi",
        "execution",
        "guardian",
        "alice",
        "pusher",
        "bouncer",
        "dove",
        "gizmo",
        "paperboy",
        "coreSrv",
        "auth",
        "strongman",
        "bookie",
        "oreck",
    }
    assert spans["trace_id"].unique().to_list() == ["14b60fd9ae504820"]
    # Every parent id names a span of the trace; exactly one span (the root) has no parent.
    ids = set(spans["span_id"])
    parents = spans["parent_id"].drop_nulls()
    assert parents.len() == 1040
    assert set(parents) <= ids
    assert spans.filter(pl.col("parent_id").is_null())["span_id"].to_list() == ["14b60fd9ae504820"]


def test_zipkin_root_span_fields_read_by_hand(realdata: Path) -> None:
    # The root span: coreSrv "get /login/tokenauth", timestamp 1543549524565942 µs, duration
    # 36713 µs, tags http.path=/login/tokenAuth, http.status_code=302, remote 10.0.65.109.
    spans = read_traces(_zipkin(realdata, "smartthings-mobile-web-install.json"), cluster="c1").spans
    root = spans.filter(pl.col("parent_id").is_null()).row(0, named=True)
    assert root["service"] == "coreSrv"
    assert root["operation"] == "get /login/tokenauth"
    assert root["kind"] == "SERVER"
    assert root["start"] == datetime(2018, 11, 30, 3, 45, 24, 565942, tzinfo=UTC)
    assert root["duration_us"] == 36713
    assert root["end"] == datetime(2018, 11, 30, 3, 45, 24, 602655, tzinfo=UTC)
    assert root["http_status_code"] == 302
    assert root["http_route"] == "/login/tokenAuth"
    assert root["error"] is False
    attrs = json.loads(root["attributes"])
    assert attrs["net.peer.ip"] == "10.0.65.109"
    assert attrs["user.email"] == "fake@example.com"
    assert "http.status_code" not in attrs  # it is a column now


def test_zipkin_error_tag_marks_the_span_failed_with_its_message(realdata: Path) -> None:
    # Two spans (client and server halves of 71687cb74971c332) carry "error": "404".
    spans = read_traces(_zipkin(realdata, "smartthings-mobile-web-install.json"), cluster="c1").spans
    failed = spans.filter(pl.col("error"))
    assert failed["span_id"].to_list() == ["71687cb74971c332", "71687cb74971c332"]
    assert set(failed["service"]) == {"alice", "execution"}
    assert failed["status"].cast(pl.String).to_list() == ["ERROR", "ERROR"]
    assert failed["status_message"].to_list() == ["404", "404"]


def test_zipkin_remote_service_becomes_peer_service(realdata: Path) -> None:
    # messaging.json: the frontend PRODUCER span "publish" has remoteEndpoint.serviceName rabbitmq.
    spans = read_traces(_zipkin(realdata, "messaging.json"), cluster="c1").spans
    publish = spans.filter(pl.col("operation") == "publish").row(0, named=True)
    assert (publish["kind"], publish["service"], publish["peer_service"]) == (
        "PRODUCER",
        "frontend",
        "rabbitmq",
    )
    # A span without "kind" is a local span: UNSPECIFIED, as the OpenTelemetry collector maps it.
    assert spans.filter(pl.col("operation") == "on-message")["kind"].cast(pl.String).to_list() == [
        "UNSPECIFIED"
    ]


def test_jaeger_test_trace_spans_services_and_parents(realdata: Path) -> None:
    imp = read_traces(_jaeger(realdata, "testTrace.json"), cluster="c1")
    spans = imp.spans
    assert imp.format == "jaeger"
    assert spans.height == 11
    assert set(spans["service"]) == {"service1", "service2"}
    by_id = {r["span_id"]: r for r in spans.iter_rows(named=True)}
    assert by_id["span-4"]["parent_id"] == "span-3"  # CHILD_OF
    assert by_id["span-7"]["parent_id"] == "span-6"  # FOLLOWS_FROM when no CHILD_OF
    assert by_id["span-1"]["parent_id"] is None
    assert by_id["span-1"]["kind"] == "SERVER"
    assert by_id["span-1"]["start"] == datetime(2018, 11, 19, 22, 27, 32, 979000, tzinfo=UTC)
    assert by_id["span-1"]["duration_us"] == 390000
    assert by_id["span-2"]["error"] is True and by_id["span-2"]["kind"] == "CLIENT"
    assert by_id["span-6"]["kind"] == "PRODUCER" and by_id["span-7"]["kind"] == "CONSUMER"
    assert by_id["span-5"]["db_system"] == "sql"  # OpenTracing db.type
    assert json.loads(by_id["span-5"]["attributes"]) == {"hostname": "foobar.org"}  # process tag


@pytest.mark.parametrize(
    ("name", "count"), [("spansAmongEachOther.json", 12), ("spanAmongEachOtherGroupedAndSpans.json", 17)]
)
def test_jaeger_spring_petclinic_traces(realdata: Path, name: str, count: int) -> None:
    spans = read_traces(_jaeger(realdata, name), cluster="c1").spans
    assert spans.height == count
    assert set(spans["service"]) == {"api-gateway", "customers-service"}
    # Jaeger drops leading zeros: trace "df84e36b9e2ee3815d07f0867a5be1f" has 31 digits.
    assert spans["trace_id"].unique().to_list() == ["0df84e36b9e2ee3815d07f0867a5be1f"]
    by_id = {r["span_id"]: r for r in spans.iter_rows(named=True)}
    assert by_id["6962df17f54c3741"]["parent_id"] == "9afcdf2e24e8d70a"
    assert by_id["6962df17f54c3741"]["operation"] == "GET /owners"
    assert by_id["9afcdf2e24e8d70a"]["kind"] == "SERVER"


def test_jaeger_api_answer_with_data_list(tmp_path: Path, realdata: Path) -> None:
    trace = json.loads(_jaeger(realdata, "testTrace.json").read_text())
    path = tmp_path / "api.json"
    path.write_text(json.dumps({"data": [trace], "total": 0, "limit": 0, "offset": 0, "errors": None}))
    imp = read_traces(path, cluster="c1")
    assert (imp.format, imp.spans.height, imp.problems) == ("jaeger", 11, [])


# --- OTLP ----------------------------------------------------------------------------------


def _kv(key: str, **value: object) -> dict:
    return {"key": key, "value": value}


def _otlp_lines() -> list[dict]:
    """Two ExportTraceServiceRequest lines as the collector's file exporter writes them."""
    checkout = {
        "resource": {
            "attributes": [
                _kv("service.name", stringValue="checkout"),
                _kv("k8s.namespace.name", stringValue="shop"),
                _kv("k8s.pod.name", stringValue="checkout-7d9f-abcde"),
                _kv("k8s.node.name", stringValue="node-a"),
                _kv("k8s.pod.ip", stringValue="10.1.0.7"),
                _kv("host.name", stringValue="checkout-7d9f-abcde"),
            ]
        },
        "scopeSpans": [
            {
                "scope": {"name": "otelhttp", "version": "0.49"},
                "spans": [
                    {
                        "traceId": "5B8EFFF798038103D269B633813FC60C",
                        "spanId": "EEE19B7EC3C1B174",
                        "parentSpanId": "",
                        "name": "POST /cart/{id}",
                        "kind": 2,
                        "startTimeUnixNano": "1700000000123456789",
                        "endTimeUnixNano": "1700000000373456789",
                        "attributes": [
                            _kv("http.request.method", stringValue="POST"),
                            _kv("http.route", stringValue="/cart/{id}"),
                            _kv("http.response.status_code", intValue="503"),
                            _kv("retry", boolValue=True),
                        ],
                        "status": {"code": 2, "message": "upstream unavailable"},
                    },
                    {
                        "traceId": "5B8EFFF798038103D269B633813FC60C",
                        "spanId": "EEE19B7EC3C1B175",
                        "parentSpanId": "EEE19B7EC3C1B174",
                        "name": "SELECT carts",
                        "kind": "SPAN_KIND_CLIENT",
                        "startTimeUnixNano": 1700000000200000000,
                        "endTimeUnixNano": 1700000000210000000,
                        "attributes": [
                            _kv("db.system", stringValue="postgresql"),
                            _kv("server.address", stringValue="pg.shop.svc"),
                            _kv("peer.service", stringValue="postgres"),
                        ],
                        "status": {"code": "STATUS_CODE_OK"},
                    },
                ],
            }
        ],
    }
    # Generic protobuf JSON (base64 ids), old instrumentationLibrarySpans, no k8s attributes.
    tid, sid = bytes.fromhex("0af7651916cd43dd8448eb211c80319c"), bytes.fromhex("b7ad6b7169203331")
    legacy = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [
                        _kv("service.name", stringValue="frontend"),
                        _kv("k8s.pod.ip", stringValue="10.1.0.9"),
                    ]
                },
                "instrumentationLibrarySpans": [
                    {
                        "spans": [
                            {
                                "traceId": base64.b64encode(tid).decode(),
                                "spanId": base64.b64encode(sid).decode(),
                                "name": "GET",
                                "kind": 3,
                                "startTimeUnixNano": "1700000001000000000",
                                "endTimeUnixNano": "1700000001002500000",
                                "attributes": [
                                    _kv("http.method", stringValue="get"),
                                    _kv("http.status_code", intValue=200),
                                    _kv("http.url", stringValue="http://checkout/cart/42?x=1"),
                                ],
                            }
                        ]
                    }
                ],
            }
        ]
    }
    return [{"resourceSpans": [checkout]}, legacy]


def test_otlp_sample_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    path.write_text("\n".join(json.dumps(doc) for doc in _otlp_lines()) + "\n")
    imp = read_traces(
        path,
        cluster="c1",
        pod_ips={
            "10.1.0.9": ("shop", "frontend-5c4-xyz", "node-b"),
            "10.1.0.7": ("other", "wrong-pod", "wrong-node"),
        },
    )
    assert (imp.format, imp.problems) == ("otlp", [])
    t0 = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    expected = conform(
        "spans",
        [
            {
                "cluster": "c1",
                "trace_id": "5b8efff798038103d269b633813fc60c",
                "span_id": "eee19b7ec3c1b174",
                "parent_id": None,
                "service": "checkout",
                "operation": "POST /cart/{id}",
                "kind": "SERVER",
                "start": t0.replace(microsecond=123456),
                "end": t0.replace(microsecond=373456),
                "duration_us": 250000,
                "status": "ERROR",
                "error": True,
                "status_message": "upstream unavailable",
                "http_method": "POST",
                "http_route": "/cart/{id}",
                "http_status_code": 503,
                "namespace": "shop",
                "pod": "checkout-7d9f-abcde",
                "node": "node-a",
                "attributes": json.dumps(
                    {
                        "host.name": "checkout-7d9f-abcde",
                        "k8s.pod.ip": "10.1.0.7",
                        "otel.scope.name": "otelhttp",
                        "otel.scope.version": "0.49",
                        "retry": True,
                    },
                    sort_keys=True,
                ),
            },
            {
                "cluster": "c1",
                "trace_id": "5b8efff798038103d269b633813fc60c",
                "span_id": "eee19b7ec3c1b175",
                "parent_id": "eee19b7ec3c1b174",
                "service": "checkout",
                "operation": "SELECT carts",
                "kind": "CLIENT",
                "start": t0.replace(microsecond=200000),
                "end": t0.replace(microsecond=210000),
                "duration_us": 10000,
                "status": "OK",
                "error": False,
                "peer_service": "postgres",
                "db_system": "postgresql",
                "namespace": "shop",
                "pod": "checkout-7d9f-abcde",
                "node": "node-a",
                "attributes": json.dumps(
                    {
                        "host.name": "checkout-7d9f-abcde",
                        "k8s.pod.ip": "10.1.0.7",
                        "otel.scope.name": "otelhttp",
                        "otel.scope.version": "0.49",
                        "server.address": "pg.shop.svc",
                    },
                    sort_keys=True,
                ),
            },
            {
                "cluster": "c1",
                "trace_id": "0af7651916cd43dd8448eb211c80319c",
                "span_id": "b7ad6b7169203331",
                "parent_id": None,
                "service": "frontend",
                "operation": "GET",
                "kind": "CLIENT",
                "start": t0.replace(second=21),
                "end": t0.replace(second=21, microsecond=2500),
                "duration_us": 2500,
                "status": "UNSET",
                "error": False,
                "http_method": "GET",
                "http_route": "/cart/42",
                "http_status_code": 200,
                "namespace": "shop",
                "pod": "frontend-5c4-xyz",
                "node": "node-b",
                "attributes": json.dumps(
                    {"http.url": "http://checkout/cart/42?x=1", "k8s.pod.ip": "10.1.0.9"}, sort_keys=True
                ),
            },
        ],
    )
    assert_frame_equal(imp.spans, expected)


def test_otlp_single_pretty_printed_document(tmp_path: Path) -> None:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(_otlp_lines()[0], indent=2))
    imp = read_traces(path, cluster="c1")
    assert (imp.format, imp.spans.height, imp.problems) == ("otlp", 2, [])


def test_one_bad_line_among_good_otlp_lines_is_reported_and_the_rest_kept(tmp_path: Path) -> None:
    good = [json.dumps(doc) for doc in _otlp_lines()]
    path = tmp_path / "traces.jsonl"
    path.write_text("\n".join([good[0], good[1][: len(good[1]) // 2], good[1]]) + "\n")
    imp = read_traces(path, cluster="c1")
    assert imp.format == "otlp"
    assert imp.spans.height == 3
    assert len(imp.problems) == 1
    problem = imp.problems[0]
    assert problem.file == str(path) and problem.position == "line 2"
    assert "not valid JSON" in problem.reason


def test_truncated_zipkin_file_keeps_the_spans_before_the_cut(tmp_path: Path, realdata: Path) -> None:
    text = _zipkin(realdata, "ascend.json").read_text()
    # Cut inside the 4th span (the file has 8; span 4 starts with the 4th '"traceId"').
    fourth = [i for i in range(len(text)) if text.startswith('"traceId"', i)][3]
    path = tmp_path / "ascend-truncated.json"
    path.write_text(text[: fourth + 30])
    imp = read_traces(path, cluster="c1")
    assert imp.format == "zipkin"
    assert imp.spans.height == 3
    assert len(imp.problems) == 1
    assert imp.problems[0].file == str(path)
    # The problem points at the line of the damaged span's "{" (the line before its traceId).
    assert imp.problems[0].position == f"line {text[:fourth].count(chr(10))}"
    assert "span 4" in imp.problems[0].reason


def test_truncated_jaeger_file_is_reported(tmp_path: Path, realdata: Path) -> None:
    path = tmp_path / "jaeger.json"
    path.write_text(_jaeger(realdata, "testTrace.json").read_text()[:500])
    imp = read_traces(path, cluster="c1")
    assert imp.format == "jaeger"
    assert imp.spans.height == 0
    assert imp.problems and imp.problems[0].position.startswith("line ")
    assert "truncated" in imp.problems[0].reason


def test_binary_garbage_is_reported_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "garbage.bin"
    path.write_bytes(bytes(range(256)) * 4)
    imp = read_traces(path, cluster="c1")
    assert imp.format is None
    assert imp.spans.height == 0
    validate("spans", imp.spans)
    assert any("not a trace file" in p.reason for p in imp.problems)
    assert all(p.file == str(path) for p in imp.problems)


def test_empty_file_gives_an_empty_table_and_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text("")
    imp = read_traces(path, cluster="c1")
    assert imp.spans.height == 0
    validate("spans", imp.spans)
    assert [p.reason for p in imp.problems] == ["empty file: no spans"]


def test_gzip_compressed_file_is_read(tmp_path: Path, realdata: Path) -> None:
    path = tmp_path / "trace.json.gz"
    path.write_bytes(gzip.compress(_zipkin(realdata, "ascend.json").read_bytes()))
    imp = read_traces(path, cluster="c1")
    assert (imp.format, imp.spans.height) == ("zipkin", 8)


def test_pod_ips_fill_namespace_pod_and_node_from_the_endpoint_ip(realdata: Path) -> None:
    # ascend.json: mobile-gateway spans come from 172.17.0.13, content-service from 172.17.0.10,
    # auth-service from 172.17.0.9 (not in the map).
    pod_ips = {
        "172.17.0.13": ("shop", "mobile-gateway-6f7-abc", "node-1"),
        "172.17.0.10": ("shop", "content-service-55d-xyz", None),
    }
    spans = read_traces(_zipkin(realdata, "ascend.json"), cluster="c1", pod_ips=pod_ips).spans
    placed = spans.group_by("service").agg(
        pl.col("pod").unique(), pl.col("namespace").unique(), pl.col("node").unique()
    )
    rows = {r["service"]: r for r in placed.iter_rows(named=True)}
    assert rows["mobile-gateway"]["pod"] == ["mobile-gateway-6f7-abc"]
    assert rows["mobile-gateway"]["node"] == ["node-1"]
    assert rows["content-service"]["pod"] == ["content-service-55d-xyz"]
    assert rows["content-service"]["namespace"] == ["shop"]
    assert rows["content-service"]["node"] == [None]
    assert rows["auth-service"]["pod"] == [None]


def test_format_can_be_forced_and_unknown_formats_are_refused(realdata: Path) -> None:
    path = _zipkin(realdata, "skew.json")
    assert read_traces(path, cluster="c1", format="zipkin").spans.height == 4
    # The wrong format forced on a file: a problem, not an exception.
    wrong = read_traces(path, cluster="c1", format="otlp")
    assert wrong.spans.height == 0
    assert "not an OTLP trace request" in wrong.problems[0].reason
    with pytest.raises(ParameterError, match="otlp, zipkin, jaeger"):
        read_traces(path, cluster="c1", format="tempo")
    assert TRACE_FORMATS == ("otlp", "zipkin", "jaeger")


def test_missing_file_raises_a_source_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="nope.json"):
        read_traces(tmp_path / "nope.json", cluster="c1")
