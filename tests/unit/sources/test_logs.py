"""Log lines and files → the ``logs`` table: real must-gather and Insights logs, formats, bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from workbench.errors import ParameterError, SourceError
from workbench.schema import validate
from workbench.sources.logs import LOG_FORMATS, parse_line, parse_lines, read_log_file

REALDATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "realdata"
LOG_FILES = sorted((REALDATA / "k8s").glob("**/*.log"))

MUST_GATHER = "k8s/openshift_must_gather_4.8_partial/namespaces/openshift-etcd/pods"
ETCD = f"{MUST_GATHER}/etcd-ip-10-0-187-218.ec2.internal/etcd/etcd/logs/current.log"
INSTALLER = f"{MUST_GATHER}/installer-2-ip-10-0-187-218.ec2.internal/installer/installer/logs/current.log"
PRUNER = f"{MUST_GATHER}/revision-pruner-3-ip-10-0-195-177.ec2.internal/pruner/pruner/logs/current.log"
INSIGHTS = "k8s/openshift_insights_archive_sample"
ALERTMANAGER = (
    f"{INSIGHTS}/conditional/namespaces/openshift-monitoring/pods/alertmanager-main-0/"
    "containers/alertmanager/logs/last-50-lines.log"
)
SAMPLES_OP = (
    f"{INSIGHTS}/conditional/namespaces/openshift-cluster-samples-operator/pods/"
    "cluster-samples-operator-8ffb9b45f-49mjr/containers"
)
NODE_JOURNAL = f"{INSIGHTS}/config/node/logs/ip-10-0-135-228.us-east-2.compute.internal.log"


def _read(path: Path, **kw: object):  # noqa: ANN202 - LogImport
    return read_log_file(path, cluster="c1", namespace="ns", pod="p", container="c", **kw)


def _levels(frame: pl.DataFrame) -> dict[str, int]:
    return dict(frame["level"].cast(pl.String).value_counts().iter_rows())


@pytest.mark.parametrize("path", LOG_FILES, ids=lambda p: "/".join(p.parts[-4:]))
def test_every_real_log_file_imports(path: Path) -> None:
    imp = _read(path)
    validate("logs", imp.logs)
    assert imp.problems == []
    # Every physical line is in exactly one entry: its own, or the one it continues.
    assert imp.logs.height == imp.lines - imp.joined


def test_there_are_real_log_files_to_test() -> None:
    # 4 must-gather current.log files and 12 Insights archive logs.
    assert len(LOG_FILES) == 16


def test_etcd_must_gather_log(realdata: Path) -> None:
    imp = _read(realdata / ETCD)
    logs = imp.logs
    assert imp.format == "timestamped"
    # 92 lines; lines 6-9 ("      member=...", "      target=...") continue line 5 "#### attempt 0".
    assert (imp.lines, imp.joined, logs.height) == (92, 4, 88)
    attempt = logs.row(4, named=True)
    assert attempt["message"].startswith('#### attempt 0\n      member={name="ip-10-0-189-142.ec2.internal"')
    assert attempt["message"].count("\n") == 4
    assert logs["ts"][0] == datetime(2021, 8, 3, 9, 26, 39, 812571, tzinfo=UTC)  # ns cut to µs
    # Levels: 1 JSON line with "level":"warn" + 17 capnslog "W |" lines; 18 JSON "info" + 10 "I |".
    levels = _levels(logs)
    assert levels["WARN"] == 18
    assert levels["INFO"] == 28
    assert "ERROR" not in levels
    warn = logs.filter(pl.col("message") == "simple token is not cryptographically signed").row(0, named=True)
    assert warn["level"] == "WARN"
    assert warn["ts"] == datetime(2021, 8, 3, 9, 27, 2, 179045, tzinfo=UTC)
    assert json.loads(warn["fields"]) == {"caller": "auth/store.go:1366"}
    capns = logs.filter(
        pl.col("message").str.contains("ETCD_STATIC_POD_VERSION=3") & (pl.col("level") == "WARN")
    ).row(0, named=True)
    assert capns["message"] == "pkg/flags: unrecognized environment variable ETCD_STATIC_POD_VERSION=3"


def test_installer_log_keeps_a_go_struct_dump_with_its_klog_line(realdata: Path) -> None:
    imp = _read(realdata / INSTALLER)
    # 133 lines: line 4 opens "(*installerpod.InstallOptions)(...)({", 36 indented lines and "})"
    # (line 41) continue it. 93 klog "I0803" lines, 2 "W0803" lines, a JSON Pod manifest last.
    assert (imp.lines, imp.joined, imp.logs.height) == (133, 37, 96)
    dump = imp.logs.row(3, named=True)
    assert dump["message"].startswith("(*installerpod.InstallOptions)(0xc0008d8c00)({\n KubeConfig:")
    assert dump["message"].endswith("\n})")
    assert dump["level"] == "INFO"
    assert json.loads(dump["fields"]) == {"caller": "cmd.go:80", "pid": 1}
    assert _levels(imp.logs) == {"INFO": 93, "WARN": 2, "UNKNOWN": 1}
    # The last line (22,248 bytes with its 31-byte timestamp and newline) is a 22,216-byte JSON Pod
    # manifest: over the 16 KiB default, so it is cut there and marked.
    last = imp.logs.row(-1, named=True)
    assert last["message"].startswith('{"kind":"Pod"')
    assert last["message"].endswith("…[truncated 5832 bytes]")
    assert len(last["message"].removesuffix("…[truncated 5832 bytes]").encode()) == 16384
    assert imp.logs["truncated"].to_list() == [False] * 95 + [True]
    assert len(_read(realdata / INSTALLER, max_line_bytes=65536).logs["message"][-1]) == 22216


def test_pruner_log(realdata: Path) -> None:
    imp = _read(realdata / PRUNER)
    # 14 lines: 2 W0803, 2 I0803; the second I line opens a dump of 9 indented lines and "})".
    assert (imp.lines, imp.logs.height) == (14, 4)
    assert _levels(imp.logs) == {"WARN": 2, "INFO": 2}
    assert imp.logs["message"][3].endswith('StaticPodName: (string) (len=8) "etcd-pod"\n})')


def test_insights_alertmanager_logfmt_levels_and_fields(realdata: Path) -> None:
    imp = _read(realdata / ALERTMANAGER)
    # 29 "kubectl logs --timestamps" lines: level=info 13, level=warn 11, level=error 5.
    assert imp.format == "timestamped"
    assert imp.logs.height == 29
    assert _levels(imp.logs) == {"INFO": 13, "WARN": 11, "ERROR": 5}
    join = imp.logs.filter(pl.col("message") == "failed to join cluster").row(0, named=True)
    assert join["ts"] == datetime(2021, 11, 15, 9, 21, 29, 688729, tzinfo=UTC)
    fields = json.loads(join["fields"])
    assert fields["caller"] == "cluster.go:228" and fields["component"] == "cluster"
    assert fields["err"].startswith("3 errors occurred:\n\t* Failed to resolve")  # escapes decoded


def test_insights_logrus_lines_without_runtime_timestamps(realdata: Path) -> None:
    imp = _read(realdata / SAMPLES_OP / "cluster-samples-operator/logs/last-100-lines.log")
    # 100 logrus lines 'time="2021-05-24T16:37:58Z" level=info msg="processing ..."'.
    assert imp.format == "plain"
    assert imp.logs.height == 100
    assert _levels(imp.logs) == {"INFO": 100}
    first = imp.logs.row(0, named=True)
    assert first["ts"] == datetime(2021, 5, 24, 16, 37, 58, tzinfo=UTC)
    assert first["message"].startswith("processing file processserver64-postgresql-persistent-s2i.json")


def test_insights_klog_without_year(realdata: Path) -> None:
    path = realdata / SAMPLES_OP / "cluster-samples-operator-watch/logs/last-100-lines.log"
    # 6 lines: klog I0524 lines 1, 2 and 6; lines 3-4 are indented and line 5 is "}".
    imp = _read(path)
    assert (imp.lines, imp.logs.height) == (6, 3)
    assert imp.logs["ts"].null_count() == 3  # klog has no year
    assert imp.logs["message"][1].endswith('"/proc/14/root/etc/secrets/tls.key"\n}')
    with_year = _read(path, year=2021)
    assert with_year.logs["ts"][0] == datetime(2021, 5, 24, 13, 15, 17, 126969, tzinfo=UTC)


def test_insights_node_journal(realdata: Path) -> None:
    imp = _read(realdata / NODE_JOURNAL, year=2023)
    # 50 kubelet journal lines "Nov 10 14:17:41.900439 host kubenswrapper[2296]: E1110 ...": 42 E, 8 I.
    assert imp.logs.height == 50
    assert _levels(imp.logs) == {"ERROR": 42, "INFO": 8}
    first = imp.logs.row(0, named=True)
    assert first["ts"] == datetime(2023, 11, 10, 14, 17, 41, 900439, tzinfo=UTC)
    assert first["message"] == "Error syncing pod, skipping"
    fields = json.loads(first["fields"])
    assert (fields["process"], fields["pid"], fields["caller"]) == (
        "kubenswrapper",
        2296,
        "pod_workers.go:1300",
    )


# --- synthetic files for the formats and the failure modes -------------------------------------

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_cri_partial_lines_are_joined_per_stream(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    path.write_text(
        "2023-10-06T00:17:09.669794202Z stdout P part one, \n"
        "2023-10-06T00:17:09.669800000Z stderr F an error line\n"
        "2023-10-06T00:17:09.670000000Z stdout P part two, \n"
        "2023-10-06T00:17:09.670100000Z stdout F end\n"
        f'2023-10-06T00:17:10.000000000Z stdout F {{"level":"error","msg":"boom","trace_id":"{TRACE}"}}\n'
    )
    imp = _read(path)
    assert imp.format == "cri"
    rows = imp.logs.select("ts", "stream", "level", "message", "trace_id").rows()
    assert rows == [
        (datetime(2023, 10, 6, 0, 17, 9, 669800, tzinfo=UTC), "stderr", "UNKNOWN", "an error line", None),
        (
            datetime(2023, 10, 6, 0, 17, 9, 669794, tzinfo=UTC),
            "stdout",
            "UNKNOWN",
            "part one, part two, end",
            None,
        ),
        (datetime(2023, 10, 6, 0, 17, 10, tzinfo=UTC), "stdout", "ERROR", "boom", TRACE),
    ]
    assert imp.problems == []


def test_docker_json_file(tmp_path: Path) -> None:
    path = tmp_path / "abc-json.log"
    lines = [
        {"log": "starting\n", "stream": "stdout", "time": "2023-10-06T00:17:09.1Z"},
        {"log": "a very long line, first half ", "stream": "stderr", "time": "2023-10-06T00:17:09.2Z"},
        {"log": "second half\n", "stream": "stderr", "time": "2023-10-06T00:17:09.3Z"},
        {
            "log": 'level=warn msg="disk almost full" pct=91\n',
            "stream": "stdout",
            "time": "2023-10-06T00:17:10Z",
        },
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    imp = _read(path)
    assert imp.format == "docker"
    rows = imp.logs.select("stream", "level", "message", "fields").rows()
    assert rows == [
        ("stdout", "UNKNOWN", "starting", None),
        ("stderr", "UNKNOWN", "a very long line, first half second half", None),
        ("stdout", "WARN", "disk almost full", '{"pct": "91"}'),
    ]
    assert imp.logs["ts"][1] == datetime(2023, 10, 6, 0, 17, 9, 200000, tzinfo=UTC)


def test_java_stack_trace_is_kept_with_its_first_line(tmp_path: Path) -> None:
    trace = [
        "2023-10-06 12:00:00,000 ERROR [main] c.e.Checkout - payment failed",
        "java.lang.IllegalStateException: card declined",
        "\tat com.example.Pay.charge(Pay.java:42)",
        "\tat com.example.Checkout.run(Checkout.java:10)",
        "Caused by: java.net.SocketTimeoutException: Read timed out",
        "\t... 2 more",
    ]
    path = tmp_path / "current.log"
    path.write_text(
        "".join(f"2023-10-06T12:00:00.000000001Z {t}\n" for t in trace)
        + "2023-10-06T12:00:01.000000001Z 2023-10-06 12:00:01,000 INFO [main] c.e.Checkout - next\n"
    )
    imp = _read(path)
    assert imp.logs.height == 2
    first = imp.logs.row(0, named=True)
    assert first["level"] == "ERROR"
    assert first["message"] == "\n".join(["ERROR [main] c.e.Checkout - payment failed", *trace[1:]])
    assert imp.logs["level"][1] == "INFO"


def test_python_traceback_and_go_panic_are_kept_whole() -> None:
    lines = [
        "ERROR:root:request failed",
        "Traceback (most recent call last):",
        '  File "app.py", line 3, in <module>',
        "    main()",
        "ValueError: boom",
        "panic: runtime error: invalid memory address or nil pointer dereference",
        "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4553a1]",
        "",
        "goroutine 1 [running]:",
        "main.main()",
        "\t/app/main.go:8 +0x1d",
        "exit status 2",
    ]
    logs = parse_lines(
        [(None, t, "stderr") for t in lines], cluster="c1", namespace="ns", pod="p", container="c"
    )
    assert logs["message"].to_list() == ["\n".join(lines[:5]), "\n".join(lines[5:11]), "exit status 2"]
    assert logs["level"].cast(pl.String).to_list() == ["ERROR", "FATAL", "UNKNOWN"]


def test_continuation_lines_do_not_join_across_streams_or_long_gaps() -> None:
    t0 = datetime(2023, 10, 6, 12, 0, tzinfo=UTC)
    later = datetime(2023, 10, 6, 12, 0, 5, tzinfo=UTC)
    logs = parse_lines(
        [
            (t0, "header", "stdout"),
            (t0, "  indented on stderr", "stderr"),
            (later, "  indented 5 s later", "stdout"),
        ],
        cluster="c1",
        namespace="ns",
        pod="p",
        container="c",
    )
    assert logs.height == 3


def test_one_megabyte_line_is_truncated_with_a_marker(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    big = "x" * 1_000_000
    path.write_text(f"2023-10-06T00:17:09.0Z stdout F {big}\n2023-10-06T00:17:10.0Z stdout F after\n")
    imp = _read(path, max_line_bytes=16384)
    assert imp.logs.height == 2
    row = imp.logs.row(0, named=True)
    assert row["truncated"] is True
    assert row["message"] == "x" * 16384 + f"…[truncated {1_000_000 - 16384} bytes]"
    assert imp.logs.row(1, named=True)["message"] == "after"
    assert imp.logs["truncated"].to_list() == [True, False]


def test_truncation_never_splits_a_character() -> None:
    logs = parse_lines(
        [(None, "é" * 100, None)], cluster="c1", namespace=None, pod=None, container=None, max_line_bytes=101
    )
    assert logs["message"][0] == "é" * 50 + "…[truncated 100 bytes]"


def test_invalid_utf8_is_replaced_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    path.write_bytes(b"2023-10-06T00:17:09.0Z stdout F caf\xe9 au lait\n2023-10-06T00:17:10.0Z stdout F ok\n")
    imp = _read(path)
    assert imp.logs["message"].to_list() == ["caf\ufffd au lait", "ok"]
    assert [(p.position, p.file) for p in imp.problems] == [("line 1", str(path))]
    assert "U+FFFD" in imp.problems[0].reason


def test_binary_garbage_section_is_reported_and_good_lines_kept(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    good = b"2023-10-06T00:17:09.0Z stdout F good %d\n"
    path.write_bytes(
        good % 1
        + b"\x00" * 4096
        + b"\n"  # line 2: a block of NULs
        + bytes(range(1, 9)) * 64
        + b"\n"  # line 3: control bytes
        + b"\x00\x00"
        + good % 2  # line 4: NULs before a good line
        + good % 3
    )
    imp = _read(path)
    assert imp.logs["message"].to_list() == ["good 1", "good 2", "good 3"]
    reasons = {p.position: p.reason for p in imp.problems}
    assert reasons["line 2"].startswith("binary data (NUL bytes) skipped")
    assert reasons["line 3"].startswith("binary data (control bytes) skipped")
    assert reasons["line 4"].startswith("NUL bytes removed")
    assert all(p.file == str(path) for p in imp.problems)


def test_lines_not_in_the_detected_format_are_kept_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    path.write_text("".join(f"2023-10-06T00:17:0{i}.0Z stdout F line {i}\n" for i in range(5)) + "garbled\n")
    imp = _read(path)
    assert imp.logs["message"].to_list()[-1] == "garbled"
    assert imp.problems[0].position == "line 6"


def test_empty_file_gives_an_empty_table(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    path.write_text("")
    imp = _read(path)
    assert imp.logs.height == 0
    validate("logs", imp.logs)


# --- parse_line -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "fmt", "level", "message", "trace_id", "span_id"),
    [
        (
            f'{{"level":"warn","ts":1696593600.5,"msg":"slow","traceId":"{TRACE}","spanId":"00f067aa0ba902b7"}}',
            "json",
            "WARN",
            "slow",
            TRACE,
            "00f067aa0ba902b7",
        ),
        (f'{{"severity":"ERROR","message":"x","trace.id":"{TRACE}"}}', "json", "ERROR", "x", TRACE, None),
        ('{"level":50,"time":1696593600123,"msg":"pino"}', "json", "ERROR", "pino", None, None),
        (
            f'level=info msg="hello world" trace_id={TRACE} span_id=00f067aa0ba902b7',
            "logfmt",
            "INFO",
            "hello world",
            TRACE,
            "00f067aa0ba902b7",
        ),
        (
            f"GET /cart traceparent=00-{TRACE}-00f067aa0ba902b7-01",
            "text",
            "UNKNOWN",
            f"GET /cart traceparent=00-{TRACE}-00f067aa0ba902b7-01",
            TRACE,
            "00f067aa0ba902b7",
        ),
        ("E0615 12:00:00.123456       1 main.go:42] boom", "klog", "ERROR", "boom", None, None),
        ("W0615 12:00:00.123456       1 main.go:42] careful", "klog", "WARN", "careful", None, None),
        (
            "2021-08-03 09:27:01.949309 W | pkg/flags: unrecognized",
            "capnslog",
            "WARN",
            "pkg/flags: unrecognized",
            None,
            None,
        ),
        ("[WARN] disk almost full", "text", "WARN", "[WARN] disk almost full", None, None),
        (
            "12:00:00.123 [main] ERROR c.e.Foo - failed",
            "text",
            "ERROR",
            "12:00:00.123 [main] ERROR c.e.Foo - failed",
            None,
            None,
        ),
        (
            "2023/10/06 12:00:00 [error] 12#0: upstream timed out",
            "text",
            "ERROR",
            "[error] 12#0: upstream timed out",
            None,
            None,
        ),
        ("CRITICAL:root:disk gone", "text", "FATAL", "CRITICAL:root:disk gone", None, None),
        ("nothing to see here", "text", "UNKNOWN", "nothing to see here", None, None),
        ("an error occurred in module x", "text", "UNKNOWN", "an error occurred in module x", None, None),
    ],
)
def test_parse_line(
    line: str, fmt: str, level: str, message: str, trace_id: str | None, span_id: str | None
) -> None:
    p = parse_line(line)
    assert (p.format, p.level, p.message, p.trace_id, p.span_id) == (fmt, level, message, trace_id, span_id)


def test_parse_line_timestamps_and_fields() -> None:
    p = parse_line('{"level":"info","ts":1696593600.5,"msg":"m","user":{"id":7},"caller":"x.go:1"}')
    assert p.ts == datetime(2023, 10, 6, 12, 0, 0, 500000, tzinfo=UTC)
    assert json.loads(p.fields) == {"user": {"id": 7}, "caller": "x.go:1"}
    assert parse_line("2023-10-06T12:00:00+02:00 INFO hi").ts == datetime(2023, 10, 6, 10, 0, tzinfo=UTC)
    assert parse_line("I0615 12:00:00.123456 1 a.go:1] x", year=2024).ts == datetime(
        2024, 6, 15, 12, 0, 0, 123456, tzinfo=UTC
    )
    klog = parse_line(
        'I0615 12:00:00.123456 1 prober.go:107] "Probe failed" probeType="Readiness" pod="ns/p"'
    )
    assert klog.message == "Probe failed"
    assert json.loads(klog.fields) == {
        "caller": "prober.go:107",
        "pid": 1,
        "probeType": "Readiness",
        "pod": "ns/p",
    }


def test_options_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="cri, docker, timestamped, plain"):
        _read(tmp_path / "x.log", format="syslog")
    with pytest.raises(ParameterError, match="stream 'console'"):
        parse_lines([(None, "x", "console")], cluster="c1", namespace=None, pod=None, container=None)
    with pytest.raises(SourceError, match="missing.log"):
        _read(tmp_path / "missing.log")
    assert LOG_FORMATS == ("cri", "docker", "timestamped", "plain")
