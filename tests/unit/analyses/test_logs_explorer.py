"""The log explorer: search and facets against brute-force Python over the same lines, chosen
field columns, error bursts at a known time, a snapshot, charts, and bad input."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from collections import Counter
from pathlib import Path

import holoviews as hv
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import workbench as wb
from workbench.analyses import logs as L
from workbench.analyses import patterns as P
from workbench.errors import ParameterError
from workbench.schema import conform
from workbench.sources.logs import read_log_file
from workbench.store import SnapshotWriter
from workbench.viz import logs as V

REALDATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "realdata"
T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
LEVELS = ["DEBUG", "INFO", "INFO", "INFO", "WARN", "ERROR", "FATAL", "UNKNOWN"]
MESSAGES = [
    "GET /api/items/{n} 200 {n}ms",
    "Connection REFUSED to db-{n}.shop.svc:5432",
    "connection refused to cache:6379 (attempt {n})",
    "price a.b (x) = {n}",
    "user u{n} logged in",
    'Traceback (most recent call last):\n  File "app.py", line {n}, in handler\nValueError: bad',
]


def _rows(n: int = 3000, seed: int = 5) -> list[dict]:
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        ns = rnd.choice(["shop", "shop", "pay", "kube-system"])
        fields = None
        r = rnd.random()
        if r < 0.3:
            fields = json.dumps(
                {"http.status": rnd.choice([200, 200, 500, 404]), "user": f"u{rnd.randint(0, 3)}"},
                sort_keys=True,
            )
        elif r < 0.4:
            fields = json.dumps(
                {"http": {"status": rnd.choice([200, 503])}, "req": rnd.randint(0, 10**6)}, sort_keys=True
            )
        rows.append(
            {
                "cluster": rnd.choice(["c1", "c2"]),
                "ts": T0 + dt.timedelta(seconds=i * 2),
                "namespace": ns,
                "pod": f"{ns}-{rnd.randint(0, 4)}",
                "container": rnd.choice(["main", "sidecar"]),
                "stream": "stdout",
                "level": rnd.choice(LEVELS),
                "message": rnd.choice(MESSAGES).format(n=rnd.randint(0, 999)),
                "fields": fields,
                "trace_id": f"{rnd.randint(0, 15):032x}" if rnd.random() < 0.5 else None,
            }
        )
    return rows


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return _rows()


@pytest.fixture(scope="module")
def frame(rows: list[dict]) -> pl.DataFrame:
    return conform("logs", rows)


def _brute(rows: list[dict], keep) -> list[tuple[dt.datetime, str]]:  # noqa: ANN001 - a predicate
    hits = [(r["ts"], r["message"]) for r in rows if keep(r)]
    return sorted(hits, key=lambda h: h[0], reverse=True)


def _got(result: pl.DataFrame) -> list[tuple[dt.datetime, str]]:
    return list(result.select("ts", "message").iter_rows())


def test_regex_level_and_namespace_filters_equal_a_python_filter(
    rows: list[dict], frame: pl.DataFrame
) -> None:
    rx = re.compile(r"refused to (db|cache)", re.IGNORECASE)
    got = L.search(
        frame, regex=r"refused to (db|cache)", levels=["ERROR", "FATAL"], namespace="shop", limit=10**6
    )
    want = _brute(
        rows,
        lambda r: rx.search(r["message"]) and r["level"] in ("ERROR", "FATAL") and r["namespace"] == "shop",
    )
    assert len(want) > 20
    assert _got(got) == want
    assert got.columns == list(L.SEARCH_COLUMNS)


def test_literal_text_is_case_insensitive_unless_asked(rows: list[dict], frame: pl.DataFrame) -> None:
    got = L.search(frame, text="REFUSED", limit=10**6)
    assert _got(got) == _brute(rows, lambda r: "refused" in r["message"].lower())
    exact = L.search(frame, text="REFUSED", case_sensitive=True, limit=10**6)
    assert _got(exact) == _brute(rows, lambda r: "REFUSED" in r["message"])
    # regex metacharacters in text are literal
    dots = L.search(frame, text="a.b (x)", limit=10**6)
    assert _got(dots) == _brute(rows, lambda r: "a.b (x)" in r["message"])
    assert dots.height > 0


def test_pod_container_window_trace_and_min_level(rows: list[dict], frame: pl.DataFrame) -> None:
    start, end = T0 + dt.timedelta(minutes=10), T0 + dt.timedelta(minutes=50)
    got = L.search(
        frame, pod=["shop-1", "pay-2"], container="main", start=start, end=end, min_level="WARN", limit=10**6
    )
    want = _brute(
        rows,
        lambda r: (
            r["pod"] in ("shop-1", "pay-2")
            and r["container"] == "main"
            and start <= r["ts"] < end
            and r["level"] in ("WARN", "ERROR", "FATAL")
        ),
    )
    assert len(want) > 10
    assert _got(got) == want
    tid = f"{7:032x}"
    by_trace = L.search(frame, trace_id=tid.upper(), limit=10**6)
    assert _got(by_trace) == _brute(rows, lambda r: r["trace_id"] == tid)
    assert by_trace.height > 10


def test_newest_first_limit_preview_and_full_message(rows: list[dict], frame: pl.DataFrame) -> None:
    got = L.search(frame, text="Traceback", limit=5, preview_chars=50)
    want = _brute(rows, lambda r: "Traceback" in r["message"])[:5]
    assert _got(got) == want
    assert got["preview"].to_list() == ["Traceback (most recent call last):…"] * 5
    cut = L.search(frame, text="Traceback", limit=1, preview_chars=20)
    assert cut["preview"].to_list() == ["Traceback (most rece…"]
    assert all("\n" in m and m.endswith("ValueError: bad") for m in got["message"])
    short = L.search(frame, text="logged in", limit=1, preview_chars=200).row(0, named=True)
    assert short["preview"] == short["message"]


def test_chosen_fields_become_columns_and_filters(rows: list[dict], frame: pl.DataFrame) -> None:
    got = L.search(frame, columns=["http.status", "user"], limit=10**6)
    want = {}
    for r in rows:
        f = json.loads(r["fields"]) if r["fields"] else {}
        status = f.get("http.status", f.get("http", {}).get("status"))
        want[(r["ts"], r["message"])] = (None if status is None else str(status), f.get("user"))
    assert {
        (t, m): (s, u) for t, m, s, u in got.select("ts", "message", "http.status", "user").iter_rows()
    } == want
    five = L.search(frame, where={"http.status": "500"}, limit=10**6)
    assert len(five) == sum(1 for v in want.values() if v[0] == "500") > 0


def test_facets_equal_direct_counts(rows: list[dict], frame: pl.DataFrame) -> None:
    got = L.facets(frame, namespace="shop", top=100)
    assert got.columns == list(L.FACET_COLUMNS)
    shop = [r for r in rows if r["namespace"] == "shop"]
    for facet in ("level", "cluster", "namespace", "pod", "container"):
        have = dict(got.filter(pl.col("facet") == facet).select("value", "count").iter_rows())
        assert have == dict(Counter(r[facet] for r in shop)), facet
    keys = {
        v: (c, d, t)
        for v, c, d, t in got.filter(pl.col("facet") == "field")
        .select("value", "count", "distinct", "tag")
        .iter_rows()
    }
    parsed = [json.loads(r["fields"]) for r in shop if r["fields"]]
    users = Counter(f["user"] for f in parsed if "user" in f)
    assert keys["user"] == (sum(users.values()), len(users), True)
    status = [f.get("http.status", f.get("http", {}).get("status")) for f in parsed]
    status = Counter(str(v) for v in status if v is not None)
    assert keys["http.status"] == (sum(status.values()), len(status), True)
    assert dict(
        got.filter(pl.col("facet") == "field:http.status").select("value", "count").iter_rows()
    ) == dict(status)
    assert keys["req"][1] > 20
    assert keys["req"][2] is False  # many values: not a tag
    assert dict(got.filter(pl.col("facet") == "field:user").select("value", "count").iter_rows()) == dict(
        users
    )
    # categories: the log patterns of the same lines, with their templates
    cats = got.filter(pl.col("facet") == "category")
    assert cats["count"].sum() == len(shop)
    pats = P.patterns(frame, namespace="shop")
    assert dict(cats.select("value", "count").iter_rows()) == dict(
        pats.select("pattern_id", "count").iter_rows()
    )
    assert dict(cats.select("value", "label").iter_rows()) == dict(
        pats.select("pattern_id", "template").iter_rows()
    )


def test_nested_and_dotted_field_keys_are_told_apart(frame: pl.DataFrame) -> None:
    got = L.facets(frame, categories=False, top=100)
    keys = dict(got.filter(pl.col("facet") == "field").select("value", "count").iter_rows())
    # {"http.status": …} and {"http": {"status": …}} both read as "http.status" in a column,
    # and both are counted under that name
    want = (
        frame.filter(pl.col("fields").is_not_null())
        .select(
            (
                pl.col("fields").str.contains('"http.status"', literal=True)
                | pl.col("fields").str.contains('"http": {"status"', literal=True)
            ).sum()
        )
        .item()
    )
    assert keys["http.status"] == want


def test_search_with_total_counts_every_match_and_returns_the_newest(
    rows: list[dict], frame: pl.DataFrame
) -> None:
    rx = re.compile(r"refused", re.IGNORECASE)
    want = _brute(rows, lambda r: rx.search(r["message"]) and r["level"] in ("ERROR", "FATAL", "WARN"))
    assert len(want) > 100
    got, total = L.search_with_total(frame, regex="refused", min_level="WARN", limit=40)
    assert total == len(want)
    assert _got(got) == want[:40]
    assert_frame_equal(got, L.search(frame, regex="refused", min_level="WARN", limit=40))


def test_lines_without_a_time_come_after_the_timed_ones() -> None:
    base = {"cluster": "c1", "namespace": "shop", "pod": "a", "container": "main", "level": "ERROR"}
    lines = conform("logs", [{**base, "ts": None, "message": "no time 1"}]
                    + [{**base, "ts": T0 + dt.timedelta(seconds=i), "message": f"at {i}"} for i in range(3)]
                    + [{**base, "ts": None, "message": "no time 2"}])  # fmt: skip
    got, total = L.search_with_total(lines, limit=4)
    assert total == 5
    assert got["message"].to_list()[:3] == ["at 2", "at 1", "at 0"]
    assert got["message"][3].startswith("no time")
    assert L.search(lines, limit=2)["message"].to_list() == ["at 2", "at 1"]


def test_a_field_key_of_one_line_among_thousands_is_listed() -> None:
    """Keys are discovered from one fields text of each shape, so a key that only one line of
    thousands carries is found (a sample of the texts would miss it)."""
    base = {
        "cluster": "c1",
        "namespace": "shop",
        "pod": "a",
        "container": "main",
        "level": "INFO",
        "message": "m",
    }
    rows = [{**base, "ts": T0 + dt.timedelta(seconds=i), "fields": json.dumps({"req": i, "user": f"u{i % 3}"})}
            for i in range(6000)]  # fmt: skip
    rows.insert(3000, {**base, "ts": T0, "fields": json.dumps({"req": 1, "retry": {"after": "5s"}})})
    got = L.facets(conform("logs", rows), categories=False)
    keys = dict(got.filter(pl.col("facet") == "field").select("value", "count").iter_rows())
    assert keys == {"req": 6001, "user": 6000, "retry.after": 1}
    assert dict(got.filter(pl.col("facet") == "field:retry.after").select("value", "count").iter_rows()) == {
        "5s": 1
    }


def test_field_keys_written_with_json_escapes_are_counted() -> None:
    base = {
        "cluster": "c1",
        "ts": T0,
        "namespace": "shop",
        "pod": "a",
        "container": "main",
        "level": "INFO",
        "message": "m",
    }
    texts = ['{"caf\\u00e9": "au lait"}', '{"café": "noir"}', '{"a\\/b": 1}', '{"a/b": 2}']
    got = L.facets(conform("logs", [{**base, "fields": t} for t in texts]), categories=False)
    assert dict(got.filter(pl.col("facet") == "field:café").select("value", "count").iter_rows()) == {
        "au lait": 1,
        "noir": 1,
    }
    assert dict(got.filter(pl.col("facet") == "field:a/b").select("value", "count").iter_rows()) == {
        "1": 1,
        "2": 1,
    }


NODE_LOG = (REALDATA / "k8s" / "openshift_insights_archive_sample" / "config" / "node" / "logs"
            / "ip-10-0-135-228.us-east-2.compute.internal.log")  # fmt: skip


def test_field_facets_of_a_real_kubelet_log_match_the_file() -> None:
    """The kubelet's structured (klog) lines: keys and values counted as the raw file has them."""
    raw = NODE_LOG.read_text(encoding="utf-8").splitlines()
    lines = read_log_file(NODE_LOG, cluster="c1", namespace="", pod="node", container="kubelet").logs
    got = L.facets(lines, categories=False, top=50)
    keys = dict(got.filter(pl.col("facet") == "field").select("value", "count").iter_rows())
    assert keys["err"] == sum(' err="' in line for line in raw) == 41
    assert keys["pod"] == sum(' pod="' in line for line in raw) == 22
    pods = Counter(m.group(1) for line in raw if (m := re.search(r' pod="([^"]+)"', line)))
    assert dict(got.filter(pl.col("facet") == "field:pod").select("value", "count").iter_rows()) == dict(pods)
    probes = dict(got.filter(pl.col("facet") == "field:probeResult").select("value", "count").iter_rows())
    assert probes == {"failure": sum(" probeResult=failure" in line for line in raw)} == {"failure": 4}
    # every key's count is the number of lines whose parsed fields hold it
    parsed = [json.loads(t) for t in lines["fields"].drop_nulls()]
    assert keys == dict(Counter(k for f in parsed for k in f))


def test_search_by_category(frame: pl.DataFrame) -> None:
    pats = P.patterns(frame)
    row = pats.filter(pl.col("template").str.starts_with("connection refused to cache")).row(0, named=True)
    got = L.search(frame, category=row["pattern_id"], limit=10**6, with_patterns=True)
    assert got.height == row["count"]
    assert set(got["pattern_id"]) == {row["pattern_id"]}
    assert all(m.startswith("connection refused to cache:6379") for m in got["message"])


def test_volume_counts_lines_per_bucket_and_level(rows: list[dict], frame: pl.DataFrame) -> None:
    got = L.volume(frame, step="10m")
    want = Counter(
        (T0 + dt.timedelta(minutes=10 * ((r["ts"] - T0) // dt.timedelta(minutes=10))), r["level"])
        for r in rows
    )
    assert {(t, lv): c for t, lv, c in got.iter_rows()} == dict(want)


def test_dataset_search_equals_frame_search(tmp_path: Path, frame: pl.DataFrame) -> None:
    with SnapshotWriter(tmp_path / "snap") as w:
        w.write("logs", frame)
        w.set_window(T0, T0 + dt.timedelta(hours=2))
    ds = wb.open(tmp_path / "snap")
    opts = {
        "regex": "refused",
        "namespace": ["shop", "pay"],
        "cluster": "c1",
        "limit": 10**6,
        "start": T0 + dt.timedelta(minutes=5),
        "end": T0 + dt.timedelta(minutes=80),
    }
    assert_frame_equal(L.search(ds, **opts), L.search(frame, **opts))
    assert_frame_equal(L.facets(ds, **opts), L.facets(frame, **opts))


@pytest.mark.parametrize("dtype", [pl.String, pl.Categorical])
def test_levels_filter_a_frame_whose_level_is_text(
    rows: list[dict], frame: pl.DataFrame, dtype: pl.DataType
) -> None:
    rx = re.compile("refused|timeout", re.IGNORECASE)
    got = L.search(frame.with_columns(pl.col("level").cast(dtype)), regex="refused|timeout", levels=["WARN", "ERROR"],
                   limit=10**6)  # fmt: skip
    want = _brute(rows, lambda r: rx.search(r["message"]) and r["level"] in ("WARN", "ERROR"))
    assert len(want) > 20
    assert _got(got) == want


def test_levels_and_regex_reach_the_parquet_reader(tmp_path: Path, frame: pl.DataFrame) -> None:
    # both tests go to the reader, so the regex sees only messages it has to (not after a cast
    # that stops the level test at the scan); the rows are those of the frame
    with SnapshotWriter(tmp_path / "snap") as w:
        w.write("logs", frame)
    ds = wb.open(tmp_path / "snap")
    plan = L.matches(ds, levels=["ERROR"], regex="refused").explain()
    scan = plan[plan.index("Parquet SCAN") :]
    assert 'col("level").is_in' in scan and "str.contains" in scan
    opts = {"regex": "refused", "levels": ["WARN", "ERROR"], "limit": 10**6}
    assert_frame_equal(L.search(ds, **opts), L.search(frame, **opts))
    assert_frame_equal(L.facets(ds, **opts), L.facets(frame, **opts))


def _burst_logs() -> pl.DataFrame:
    """Two hours; pod a: about 1 error a minute, and 40 a minute from 10:30 to 10:34; pod b:
    20 errors every minute all along (its normal); pod c: info only."""
    rnd = random.Random(1)
    rows = []
    for minute in range(120):
        t = T0 + dt.timedelta(minutes=minute)
        for pod, n_err in (("a", rnd.choice([0, 1, 1, 2])), ("b", 20), ("c", 0)):
            for k in range(n_err):
                rows.append(
                    (pod, t + dt.timedelta(seconds=k), "ERROR", f"request {k} failed: upstream timeout")
                )
            rows.append((pod, t + dt.timedelta(seconds=30), "INFO", "tick"))
        if 30 <= minute < 35:
            for k in range(40):
                rows.append(
                    ("a", t + dt.timedelta(seconds=k), "ERROR", f"connection reset by peer 10.0.0.{k}")
                )
    return conform(
        "logs",
        [
            {
                "cluster": "c1",
                "namespace": "shop",
                "pod": p,
                "container": "main",
                "ts": ts,
                "level": lv,
                "message": m,
            }
            for p, ts, lv, m in rows
        ],
    )


def test_an_error_burst_is_found_at_the_right_time() -> None:
    got = L.error_bursts(_burst_logs())
    assert got.columns == list(L.BURST_COLUMNS)
    assert got.height == 1
    b = got.row(0, named=True)
    assert (b["pod"], b["start"], b["end"]) == (
        "a",
        T0 + dt.timedelta(minutes=30),
        T0 + dt.timedelta(minutes=35),
    )
    assert b["buckets"] == 5
    assert b["peak"] >= 40
    assert b["baseline"] == 1.0
    assert b["top_template"] == "connection reset by peer <IP>"
    assert b["top_count"] == 200
    # with a bigger bucket the burst is one 10-minute bucket... and a higher bar finds nothing
    assert L.error_bursts(_burst_logs(), step="10m")["start"].to_list() == [T0 + dt.timedelta(minutes=30)]
    assert L.error_bursts(_burst_logs(), threshold=100).is_empty()


def test_charts_render() -> None:
    frame = _burst_logs()
    for chart in (
        V.volume_chart(L.volume(frame, step="5m"), bursts=L.error_bursts(frame)),
        V.facet_bars(L.facets(frame), "level"),
        V.facet_bars(L.facets(frame), "category"),
        V.volume_chart(L.volume(frame.head(0))),
        V.facet_bars(L.facets(frame.head(0)), "pod"),
    ):
        fig = hv.render(chart, backend="bokeh")
        assert fig is not None


def test_empty_input_and_bad_parameters(frame: pl.DataFrame) -> None:
    empty = frame.head(0)
    assert L.search(empty, text="x").columns == list(L.SEARCH_COLUMNS)
    assert L.facets(empty).is_empty()
    assert L.error_bursts(empty).is_empty()
    with pytest.raises(ParameterError, match=r"regex '\(unclosed' is not a valid regular expression"):
        L.search(frame, regex="(unclosed")
    with pytest.raises(ParameterError, match="did you mean namespace"):
        L.search(frame, namespce="shop")
    with pytest.raises(ParameterError, match="unknown level"):
        L.search(frame, levels=["EROR"])
    with pytest.raises(ParameterError, match="limit must be ≥ 1"):
        L.search(frame, limit=0)
    with pytest.raises(ParameterError, match="did you mean threshold"):
        L.error_bursts(frame, treshold=3)


def test_search_with_patterns_keeps_newest_first() -> None:
    """Labelling rows with their pattern keeps the newest-first order of a search."""
    import datetime as dt

    from workbench.analyses import logs as explorer
    from workbench.schema import conform

    t0 = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    rows = [
        {"cluster": "c", "ts": t0 + dt.timedelta(seconds=i), "namespace": "ns", "pod": f"p{i % 3}",
         "container": "c", "level": "ERROR" if i % 2 else "INFO", "message": f"request {i % 7} failed after {i} ms"}
        for i in range(500)
    ]  # fmt: skip
    found = explorer.search(conform("logs", rows), with_patterns=True, limit=500)
    assert found["ts"].is_sorted(descending=True)
    assert found["template"].null_count() == 0


def test_field_sample_counts_fields_over_the_newest_lines_only(rows: list[dict], frame: pl.DataFrame) -> None:
    """``field_sample=n``: field keys and values counted over the newest n matching lines (the
    log explorer's counts), every other facet over all of them."""
    shop = sorted((r for r in rows if r["namespace"] == "shop"), key=lambda r: r["ts"], reverse=True)
    n = next(i for i in range(60, len(shop)) if shop[i - 1]["ts"] != shop[i]["ts"])  # no tie at the cut
    got = L.facets(frame, namespace="shop", top=100, field_sample=n)
    whole = L.facets(frame, namespace="shop", top=100)
    is_field = pl.col("facet").str.starts_with("field")
    assert_frame_equal(got.filter(~is_field), whole.filter(~is_field))
    newest = frame.filter(pl.col("ts").is_in([r["ts"] for r in shop[:n]]), pl.col("namespace") == "shop")
    assert newest.height == n
    want = L.facets(newest, top=100, categories=False).filter(is_field)
    assert_frame_equal(got.filter(is_field), want)
    users = Counter(json.loads(r["fields"]).get("user") for r in shop[:n] if r["fields"])
    users.pop(None, None)
    user_counts = got.filter(pl.col("facet") == "field:user").select("value", "count")
    assert dict(user_counts.iter_rows()) == dict(users)
    with pytest.raises(ParameterError, match="field_sample"):
        L.facets(frame, field_sample=0)


def test_volume_chart_stacks_as_holoviews_does() -> None:
    """The volume chart's areas are those ``hv.Area.stack`` makes, one per level with lines."""
    frame = _burst_logs()
    volume = L.volume(frame, step="5m")
    chart = V.volume_chart(volume)
    levels = [lv for lv in V.LEVEL_COLORS if lv in set(volume["level"].to_list())]
    assert len(levels) > 1
    grid = volume.select("ts").unique().join(pl.DataFrame({"level": levels}), how="cross")
    full = (
        grid.join(volume, on=["ts", "level"], how="left")
        .with_columns(pl.col("count").fill_null(0))
        .sort("ts")
    )
    ref = hv.Area.stack(hv.Overlay([
        hv.Area(full.filter(pl.col("level") == lv).select("ts", "count").to_pandas(), "ts", ("count", "lines"), label=lv)
        for lv in levels
    ]))  # fmt: skip
    assert [a.label for a in chart] == levels
    for got, want in zip(chart, ref, strict=True):
        assert got.dimensions() == want.dimensions()
        assert got.dframe().reset_index(drop=True).equals(want.dframe().reset_index(drop=True))
    one = L.volume(frame.filter(pl.col("level") == "ERROR"), step="5m")
    assert [a.label for a in V.volume_chart(one)] == ["ERROR"]
