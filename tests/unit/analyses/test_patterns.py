"""Log patterns: templates mined from real etcd logs, counts checked against the raw files by
regex, new patterns in a window, masking, and bad input."""

from __future__ import annotations

import datetime as dt
import random
import re
from pathlib import Path

import holoviews as hv
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import workbench as wb
from workbench.analyses import patterns as P
from workbench.analyses._templates import drain_templates as templates_of_drain3
from workbench.analyses._templates import mask_expr
from workbench.analyses.patterns import _drain as drain_module
from workbench.analyses.patterns import _mining as mining_module
from workbench.analyses.patterns._drain import drain_templates
from workbench.errors import ParameterError
from workbench.schema import conform
from workbench.sources.logs import read_log_file
from workbench.store import SnapshotWriter
from workbench.viz import logs as V

REALDATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "realdata"
ETCD_PODS = REALDATA / "k8s" / "openshift_must_gather_4.8_partial" / "namespaces" / "openshift-etcd" / "pods"
T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def etcd_files() -> list[Path]:
    files = sorted(ETCD_PODS.glob("*/*/*/logs/current.log"))
    # etcd (92 lines), installer (133), pruner (14), and the empty setup container's log
    assert len(files) == 4, files
    return files


@pytest.fixture(scope="module")
def etcd_logs(etcd_files: list[Path]) -> pl.DataFrame:
    frames = []
    for f in etcd_files:
        pod, container = f.parts[-5], f.parts[-4]
        frames.append(
            read_log_file(f, cluster="c1", namespace="openshift-etcd", pod=pod, container=container).logs
        )
    return pl.concat(frames)


@pytest.fixture(scope="module")
def labelled(etcd_logs: pl.DataFrame) -> pl.DataFrame:
    return P.mine(etcd_logs).label(etcd_logs).collect()


def _raw_count(files: list[Path], pattern: str) -> int:
    rx = re.compile(pattern)
    return sum(1 for f in files for line in f.read_text(encoding="utf-8").splitlines() if rx.search(line))


def _ids_of(labelled: pl.DataFrame, pattern: str) -> set[str]:
    rx = re.compile(pattern)
    return {pid for msg, pid in labelled.select("message", "pattern_id").iter_rows() if rx.search(msg)}


# (regex over the raw file lines, regex over the parsed messages, the template they must share)
RECURRING = [
    (
        r" I \| pkg/flags: recognized and used environment variable ",
        r"^pkg/flags: recognized and used environment",
        "pkg/flags: recognized and used environment variable <*>",
    ),
    (
        r" W \| pkg/flags: unrecognized environment variable ",
        r"^pkg/flags: unrecognized environment variable",
        "pkg/flags: unrecognized environment variable <*>",
    ),
    (r"cmd\.go:403\] Writing config file \"", r"^Writing config file \"", 'Writing config file "<PATH>" ...'),
    (r"go:\d+\] Creating directory \"", r"^Creating directory \"", 'Creating directory "<PATH>" ...'),
    (r"copy\.go:60\] Got configMap ", r"^Got configMap ", "Got configMap <*>"),
    (
        r"etcd_env\.go:287\] cipher is not supported for use with etcd: ",
        r"^cipher is not supported",
        "cipher is not supported for use with etcd: <*>",
    ),
]


@pytest.mark.parametrize(("raw", "message", "template"), RECURRING, ids=[t for _, _, t in RECURRING])
def test_a_recurring_etcd_message_is_one_template_with_the_right_count(
    etcd_files: list[Path],
    etcd_logs: pl.DataFrame,
    labelled: pl.DataFrame,
    raw: str,
    message: str,
    template: str,
) -> None:
    expected = _raw_count(etcd_files, raw)
    assert expected >= 4  # the message does recur, with varying values
    ids = _ids_of(labelled, message)
    assert len(ids) == 1, "lines of one message must share one pattern"
    got = P.patterns(etcd_logs).filter(pl.col("pattern_id") == ids.pop()).row(0, named=True)
    assert got["template"] == template
    assert got["count"] == expected


def test_the_cipher_warning_is_counted_across_two_pods(
    etcd_files: list[Path], etcd_logs: pl.DataFrame
) -> None:
    row = (
        P.patterns(etcd_logs)
        .filter(pl.col("template").str.starts_with("cipher is not supported"))
        .row(0, named=True)
    )
    assert row["count"] == _raw_count(etcd_files, r"cipher is not supported for use with etcd") == 4
    assert (row["warnings"], row["errors"], row["top_level"], row["level_mix"]) == (4, 0, "WARN", "WARN 4")
    assert (
        row["example"]
        == 'cipher is not supported for use with etcd: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"'
    )
    # first and last seen: the installer at 09:21:41.164298, the pruner at 09:25:57.609218
    assert row["first_seen"].isoformat().startswith("2021-08-03T09:21:41.164")
    assert row["last_seen"].isoformat().startswith("2021-08-03T09:25:57.609")


DISTINCT = [
    (r"Writing config file \"", r"Writing secret manifest \""),
    (r"pkg/flags: recognized and used", r"pkg/flags: unrecognized environment"),
    (r"Got configMap ", r"Got secret "),
    (r"Creating directory \"", r"Creating target resource directory \""),
    (r"Getting secrets \.\.\.", r"Getting config maps \.\.\."),
]


@pytest.mark.parametrize(("a", "b"), DISTINCT, ids=[a for a, _ in DISTINCT])
def test_distinct_messages_are_not_merged(labelled: pl.DataFrame, a: str, b: str) -> None:
    ids_a, ids_b = _ids_of(labelled, a), _ids_of(labelled, b)
    assert len(ids_a) == 1
    assert len(ids_b) == 1
    assert ids_a != ids_b


def test_pattern_counts_add_up_and_ids_are_stable_hashes(etcd_logs: pl.DataFrame) -> None:
    got = P.patterns(etcd_logs)
    assert got.columns == list(P.PATTERN_COLUMNS)
    assert got["count"].sum() == etcd_logs.height
    assert got["pattern_id"].n_unique() == got.height
    assert abs(got["share"].sum() - 1.0) < 1e-9
    for pid, tmpl in got.select("pattern_id", "template").iter_rows():
        assert pid == P.pattern_id(tmpl)
        assert re.fullmatch(r"[0-9a-f]{16}", pid)
    # deterministic: the same lines in another order give the same patterns, examples too
    again = P.patterns(etcd_logs.reverse())
    assert_frame_equal(got, again)


def test_the_example_is_the_earliest_line_of_the_most_frequent_key() -> None:
    t = [T0 + dt.timedelta(seconds=s) for s in range(6)]
    # one pattern, two keys ("took <n>ms" twice as often as "took <n>s"); lines out of order
    logs = _lines(
        [
            (t[4], "INFO", "took 75ms"),
            (t[1], "INFO", "took 9ms"),
            (t[0], "INFO", "took 3s"),
            (t[3], "INFO", "took 12ms"),
            (t[5], "INFO", "took 4s"),
            (t[2], "INFO", "took 9ms"),
        ]
    )
    got = P.patterns(logs).row(0, named=True)
    assert (got["template"], got["count"], got["example"]) == ("took <DUR>", 6, "took 9ms")
    assert P.patterns(logs.reverse()).row(0, named=True)["example"] == "took 9ms"


@pytest.mark.parametrize("sample", [50, 100_000], ids=["lines-read-twice", "lines-read-once"])
def test_grouping_lines_by_text_first_mines_the_same(
    monkeypatch: pytest.MonkeyPatch, etcd_logs: pl.DataFrame, sample: int
) -> None:
    """Lines are grouped by text before keys are computed when texts repeat; either pass gives
    the same statistics, examples, buckets and line selections."""
    shifted = [etcd_logs.with_columns(pl.col("ts") + dt.timedelta(minutes=m)) for m in (0, 7, 7, 30)]
    lines = pl.concat([*shifted, _synthetic()[0]])
    monkeypatch.setattr(mining_module, "_SAMPLE", sample)
    got = {}
    for share in (0.0, 2.0):  # never / always group by text first
        monkeypatch.setattr(mining_module, "_REPEATED", share)
        got[share] = P.mine(lines, step="5m", group=pl.col("pod").str.starts_with("etcd"))
    per_line, by_text = got[0.0], got[2.0]
    assert per_line.messages is None
    assert by_text.messages is not None
    stats_order = ["_k", "level", "_g"]
    assert_frame_equal(
        per_line.stats.sort(stats_order), by_text.stats.sort(stats_order), check_column_order=False
    )
    assert_frame_equal(per_line.keys.sort("_k"), by_text.keys.sort("_k"))
    assert_frame_equal(per_line.counts(), by_text.counts())
    assert_frame_equal(per_line.summary(), by_text.summary())
    pid = per_line.summary()["pattern_id"][1]
    picked = [lines.filter(m.lines_of([pid])) for m in (per_line, by_text)]
    assert picked[0].height == per_line.summary()["count"][1]
    assert_frame_equal(picked[0], picked[1])


def _masked_real_messages() -> pl.DataFrame:
    """The masked first lines of every real log line in realdata/ and of 5 variants of each
    whose digits differ (as the benchmark grows them: many one-word lines such as
    ``ETCD_PORT_2379_TCP=…`` then differ), with their line counts."""
    frames = [read_log_file(f, cluster="c1", namespace="ns", pod="p", container="c").logs
              for f in sorted(REALDATA.rglob("*.log"))]  # fmt: skip
    messages = pl.concat(frames)["message"].to_list()
    assert len(messages) > 300
    rnd = random.Random(0)
    variants = [re.sub(r"\d", lambda _: str(rnd.randint(0, 9)), m) for m in messages for _ in range(5)]
    lines = pl.DataFrame({"message": messages + variants})
    return lines.group_by(mask_expr(pl.col("message"), 400).alias("_m")).agg(pl.len().alias("n"))


@pytest.mark.parametrize("small", [0, 8], ids=["numpy-only", "loop-for-small-leaves"])
@pytest.mark.parametrize(
    ("similarity", "depth", "max_children"), [(0.5, 4, 100), (0.3, 5, 3), (0.8, 3, 2), (0.05, 6, 100)]
)
def test_vectorised_drain_gives_drain3s_templates(
    monkeypatch: pytest.MonkeyPatch, small: int, similarity: float, depth: int, max_children: int
) -> None:
    """Mining compares a message with a whole tree leaf at once (a loop for small leaves); the
    templates stay those of drain3's loop (WordDrain), on real lines and on one-word lines that
    share one leaf."""
    monkeypatch.setattr(drain_module, "_SMALL", small)
    opts = {"similarity": similarity, "depth": depth, "max_children": max_children}
    real = _masked_real_messages()
    assert_frame_equal(drain_templates(real, **opts), templates_of_drain3(real, **opts))
    rnd = random.Random(depth)
    words = ["GET", "user", "failed", "<NUM>", "<IP>", "<*>", "-", "=", "a1", "x2y", "ok", "é"]
    texts = sorted({" ".join(rnd.choice(words) for _ in range(rnd.choice([0, 1, 1, 1, 2, 3, 5])))
                    for _ in range(600)} | {f"ENV_{i}=<URL>" for i in range(300)})  # fmt: skip
    synthetic = pl.DataFrame({"_m": texts, "n": [rnd.randint(1, 9) for _ in texts]})
    assert_frame_equal(drain_templates(synthetic, **opts), templates_of_drain3(synthetic, **opts))


def test_masks_name_what_varies() -> None:
    assert (
        P.mask_text("took 25.9ms to reach 10.0.0.7:2379 (req 5a492cc498c39e02)")
        == "took <DUR> to reach <IP> (req <ID>)"
    )
    assert P.mask_text("GET https://api.example.com/v1/x?id=3 from /var/lib/etcd") == "GET <URL> from <PATH>"
    assert (
        P.mask_text("at 2021-08-03T09:27:01.949Z pod 123e4567-e89b-12d3-a456-426614174000 used 512Mi")
        == "at <TS> pod <ID> used <NUM>"
    )
    # a number inside a word is kept; only the first line of a stack trace is templated
    assert P.mask_text("instance ec2 failed\n  at foo.py:12\n  at bar.py:3") == "instance ec2 failed"


def _lines(rows: list[tuple[dt.datetime, str, str]]) -> pl.DataFrame:
    return conform(
        "logs",
        [
            {
                "cluster": "c1",
                "ts": ts,
                "namespace": "shop",
                "pod": "cart-0",
                "container": "main",
                "level": lvl,
                "message": msg,
            }
            for ts, lvl, msg in rows
        ],
    )


def _synthetic() -> tuple[pl.DataFrame, dt.datetime, int]:
    """One hour of steady lines; from T (40 min) a new ERROR appears and one INFO message
    comes 5 times as often."""
    t_new = T0 + dt.timedelta(minutes=40)
    rows = []
    for i in range(3600):
        ts = T0 + dt.timedelta(seconds=i)
        if i % 10 == 0:
            rows.append((ts, "INFO", f"GET /api/items/{i} 200 {i % 97}ms"))
        if i % 15 == 0:
            rows.append((ts, "WARN", f"slow query took {i % 500}ms on table orders"))
        every = 12 if ts >= t_new else 60
        if i % every == 0:
            rows.append((ts, "INFO", f"cache refreshed with {i % 31} entries"))
        if ts >= t_new and i % 20 == 3:
            rows.append(
                (ts, "ERROR", f"disk quota exceeded on volume pvc-{i:08x}-aaaa-bbbb-cccc-0123456789ab")
            )
    n_new = sum(1 for _, lvl, _ in rows if lvl == "ERROR")
    return _lines(rows), t_new, n_new


def test_a_message_that_appears_after_t_is_the_top_new_pattern() -> None:
    logs, t_new, n_new = _synthetic()
    end = T0 + dt.timedelta(hours=1)
    got = P.new_patterns(logs, baseline=(T0, t_new), current=(t_new, end))
    assert got.columns == list(P.NEW_COLUMNS)
    top = got.row(0, named=True)
    assert (top["status"], top["baseline_count"], top["current_count"]) == ("new", 0, n_new)
    assert top["template"] == "disk quota exceeded on volume pvc-<ID>"
    assert top["top_level"] == "ERROR"
    assert top["first_seen"] == t_new + dt.timedelta(seconds=3)
    # the cache message went from 1/min to 5/min; the steady ones are not listed
    rose = got.filter(pl.col("status") == "increased")
    assert rose["template"].to_list() == ["cache refreshed with <NUM> entries"]
    assert rose["ratio"][0] == pytest.approx(5.0, rel=0.05)
    assert got.height == 2


def test_pattern_counts_per_bucket() -> None:
    logs, t_new, n_new = _synthetic()
    counts = P.pattern_counts(logs, step="10m")
    assert counts.columns == list(P.COUNT_COLUMNS)
    assert counts["count"].sum() == logs.height
    err = P.patterns(logs).filter(pl.col("errors") > 0)["pattern_id"][0]
    per = dict(counts.filter(pl.col("pattern_id") == err).select("ts", "count").iter_rows())
    # 30 ERROR lines per 10 minutes from minute 40 on, none before
    assert per == {T0 + dt.timedelta(minutes=40): 30, T0 + dt.timedelta(minutes=50): 30}
    assert sum(per.values()) == n_new
    top2 = P.pattern_counts(logs, step="10m", top=2)
    assert top2["pattern_id"].n_unique() == 2


def test_pattern_timeline_renders() -> None:
    logs, _, _ = _synthetic()
    chart = V.pattern_timeline(P.pattern_counts(logs, step="5m"), P.patterns(logs), top=3)
    assert len(chart) == 3
    assert hv.render(chart, backend="bokeh") is not None
    assert hv.render(V.pattern_timeline(P.pattern_counts(logs.head(0))), backend="bokeh") is not None


def test_dataset_and_frame_give_the_same_patterns(tmp_path: Path) -> None:
    logs, _, _ = _synthetic()
    other = logs.with_columns(pl.lit("other").alias("namespace"), pl.lit("x is down").alias("message"))
    with SnapshotWriter(tmp_path / "snap") as w:
        w.write("logs", pl.concat([logs, other]))
        w.set_window(T0, T0 + dt.timedelta(hours=1))
    ds = wb.open(tmp_path / "snap")
    assert_frame_equal(P.patterns(ds, namespace="shop"), P.patterns(logs))
    assert P.patterns(ds, namespace="other")["template"].to_list() == ["x is down"]


def test_empty_and_bad_input() -> None:
    empty = conform("logs", [])
    assert P.patterns(empty).columns == list(P.PATTERN_COLUMNS)
    assert P.patterns(empty).is_empty()
    assert P.pattern_counts(empty).is_empty()
    assert P.new_patterns(
        empty,
        baseline=(T0, T0 + dt.timedelta(hours=1)),
        current=(T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=2)),
    ).is_empty()
    with pytest.raises(ParameterError, match="did you mean similarity"):
        P.patterns(empty, similarty=0.5)
    with pytest.raises(ParameterError, match="similarity must be ≤ 1.0"):
        P.patterns(empty, similarity=2)
    with pytest.raises(ParameterError, match="baseline must be a"):
        P.new_patterns(empty, baseline=(T0, T0), current=(T0, T0 + dt.timedelta(hours=1)))
    with pytest.raises(ParameterError, match="step '5 minutes' is not a duration"):
        P.pattern_counts(empty, step="5 minutes")
    with pytest.raises(ParameterError, match="needs the columns ts, level and message"):
        P.patterns(pl.DataFrame({"ts": [T0]}))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> wb.Dataset:
    from workbench.sources.demo import generate

    return wb.open(generate(tmp_path_factory.mktemp("demo") / "snap", hours=2, seed=0))


def test_demo_bad_rollout_brings_the_top_new_error_pattern(demo: wb.Dataset) -> None:
    truth = [i for i in demo.ground_truth["incidents"] if i["kind"] == "bad_rollout"]
    assert len(truth) == 1
    inc = truth[0]
    t = dt.datetime.fromisoformat(inc["start"].replace("Z", "+00:00"))
    start, end = demo.window
    got = P.new_patterns(demo, baseline=(start, t), current=(t, end), namespace=inc["namespace"])
    top = got.row(0, named=True)
    assert (top["status"], top["top_level"], top["baseline_count"]) == ("new", "ERROR", 0)
    assert top["first_seen"] >= t
    # its lines come from the rolled-out workload's pods
    lines = (
        P.mine(P.scan_logs(demo, namespace=inc["namespace"]))
        .label(demo.logs(namespace=inc["namespace"]))
        .collect()
    )
    pods = set(lines.filter(pl.col("pattern_id") == top["pattern_id"])["pod"])
    assert pods
    assert all(p.startswith(inc["object"]["name"] + "-") for p in pods)


def test_kept_masks_mine_the_same_and_reuse_the_masks(etcd_logs: pl.DataFrame) -> None:
    """Mining overlapping lines inside ``kept_masks`` (as the log explorer does on each
    refresh) gives what mining each alone gives; the masked texts of the keys seen are kept
    and reused, a second ``max_chars`` has its own."""
    shifted = pl.concat([etcd_logs, etcd_logs.with_columns(pl.col("ts") + dt.timedelta(minutes=30))])
    parts = [etcd_logs.head(120), etcd_logs, shifted, etcd_logs.tail(50)]
    memo = P.MaskMemo()
    with P.kept_masks(memo):
        kept = [P.mine(p) for p in parts]
        short = P.mine(etcd_logs, P.PatternParams(max_chars=30))
    assert mining_module._MEMO.get() is None  # only inside the block
    for lines, got in zip(parts, kept, strict=True):
        want = P.mine(lines)
        assert_frame_equal(got.keys.sort("_k"), want.keys.sort("_k"))
        assert_frame_equal(got.summary(), want.summary())
    assert_frame_equal(short.summary(), P.mine(etcd_logs, P.PatternParams(max_chars=30)).summary())
    known = memo._known[400]
    assert known["_k"].n_unique() == known.height == P.mine(shifted).keys.height  # every key once
    assert set(memo._known) == {400, 30}
