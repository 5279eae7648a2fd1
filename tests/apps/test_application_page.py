"""The application page, served by ``panel serve`` and driven in Chromium: TPS and errors per
service, a box dragged on the hitmap lists exactly the transactions in it, a listed transaction
opens its waterfall, and a saved link restores service, box and trace."""

from __future__ import annotations

import datetime as dt
import re
import time
import urllib.parse
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import workbench as wb
from tests.support.browser import REPO, PanelServer, wait_for_text
from workbench.analyses import apm, hitmap
from workbench.ui.application import ApplicationPage

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TX_CELL = ".wb-transactions .tabulator-row .tabulator-cell[tabulator-field='{field}']"


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.locator(".wb-services .tabulator-row").first.wait_for(timeout=90_000)
    page.locator(".wb-hitmap canvas").first.wait_for()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1000)


def _query(page: Any) -> dict[str, str]:
    """The page's URL query now (``page.url`` only follows navigations Playwright has seen)."""
    search = page.evaluate("window.location.search")
    return {k: v[0] for k, v in urllib.parse.parse_qs(search.lstrip("?")).items()}


def _wait_query(page: Any, *names: str, timeout: float = 30) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        q = _query(page)
        if all(n in q for n in names):
            return q
        time.sleep(0.25)
    raise AssertionError(f"the URL never got {names}: {page.url}")


def _rollout(find_incident: Any, snapshot: Path) -> dict[str, Any]:
    return find_incident(snapshot, "bad_rollout")


def test_page_loads_without_errors(
    signals_page: Any, signals_server: PanelServer, signals_snapshot: Path
) -> None:
    _open(signals_page, f"{signals_server.url}/application")
    want = apm.summary(wb.open(signals_snapshot), by=("service",))["service"].to_list()
    shown = signals_page.locator(".wb-services .tabulator-cell[tabulator-field='service']").all_inner_texts()
    assert sorted(s.strip() for s in shown) == sorted(want)
    assert signals_page.console_errors == [], signals_server.log()
    assert signals_page.outside_requests == []


def test_dragging_a_box_lists_exactly_the_transactions_in_it(
    signals_page: Any, signals_server: PanelServer, signals_snapshot: Path, find_incident: Any
) -> None:
    service = _rollout(find_incident, signals_snapshot)["object"]["name"]
    page = signals_page
    _open(page, f"{signals_server.url}/application?service={service}")
    plot = page.locator(".wb-hitmap")
    plot.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    box = plot.bounding_box()
    x0, x1 = box["x"] + box["width"] * 0.25, box["x"] + box["width"] * 0.75
    y0, y1 = box["y"] + box["height"] * 0.15, box["y"] + box["height"] * 0.6
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=5)
    page.mouse.move(x1, y1, steps=5)
    page.mouse.up()
    q = _wait_query(page, "t0", "t1", "rt_min", "rt_max")
    want = hitmap.select(
        wb.open(signals_snapshot), q["t0"], q["t1"], float(q["rt_min"]), float(q["rt_max"]), service=service
    )
    assert want.height > 0, "the dragged box should hold some transactions"
    note = wait_for_text(page, ".wb-selection-note", r"^\d+ transactions")
    assert note.startswith(f"{want.height} transactions")
    page.wait_for_timeout(500)
    listed = [t.strip() for t in page.locator(TX_CELL.format(field="trace_id")).all_inner_texts()]
    assert listed == want["trace_id"].head(len(listed)).to_list()  # slowest first, as select returns them
    assert len(listed) == min(15, want.height)
    services = {t.strip() for t in page.locator(TX_CELL.format(field="service")).all_inner_texts()}
    assert services == {service}
    assert page.console_errors == [], signals_server.log()


def _box_url(server: PanelServer, snapshot: Path, service: str, *, trace: bool) -> tuple[str, pl.DataFrame]:
    """A link to a box of ``service``'s slowest transactions after the rollout (and one trace)."""
    ds = wb.open(snapshot)
    t0, t1 = ds.window
    assert t0 is not None and t1 is not None
    tx = apm.transactions(ds, service=service)
    lo = float(tx["rt_ms"].quantile(0.9))
    want = hitmap.select(ds, t0, t1, lo, 60_000.0, service=service)
    query = {"service": service, "t0": t0.isoformat(), "t1": t1.isoformat(), "rt_min": lo, "rt_max": 60_000.0}
    if trace:
        query["trace"] = want["trace_id"][0]
    return f"{server.url}/application?{urllib.parse.urlencode(query)}", want


def test_clicking_a_transaction_opens_its_waterfall(
    signals_page: Any, signals_server: PanelServer, signals_snapshot: Path, find_incident: Any
) -> None:
    service = _rollout(find_incident, signals_snapshot)["object"]["name"]
    url, want = _box_url(signals_server, signals_snapshot, service, trace=False)
    page = signals_page
    _open(page, url)
    wait_for_text(page, ".wb-selection-note", rf"^{want.height} transactions")
    second = want["trace_id"][1]
    page.locator(TX_CELL.format(field="trace_id")).first.wait_for()
    print([t.strip() for t in page.locator(TX_CELL.format(field="trace_id")).all_inner_texts()], want.head(5))
    page.locator(TX_CELL.format(field="trace_id"), has_text=second).first.click()
    spans = hitmap.trace(wb.open(signals_snapshot), second)
    wait_for_text(page, ".wb-trace-note", rf"Trace {second}: {spans.height} spans")
    rows, deadline = 0, time.monotonic() + 30
    while rows != min(spans.height, 20) and time.monotonic() < deadline:  # one page of the span table
        time.sleep(0.25)
        rows = page.locator(".wb-trace-spans .tabulator-row").count()
    assert rows == min(spans.height, 20)
    assert _wait_query(page, "trace")["trace"] == second
    assert page.console_errors == [], signals_server.log()


def test_a_saved_link_restores_service_box_and_trace(
    browser: Any, signals_server: PanelServer, signals_snapshot: Path, find_incident: Any
) -> None:
    service = _rollout(find_incident, signals_snapshot)["object"]["name"]
    url, want = _box_url(signals_server, signals_snapshot, service, trace=True)
    page = browser.new_page(viewport={"width": 1600, "height": 1200})
    try:
        _open(page, url)
        assert page.locator("select").filter(has_text="All services").input_value() == service
        wait_for_text(page, ".wb-selection-note", rf"^{want.height} transactions of {service}")
        trace = want["trace_id"][0]
        spans = hitmap.trace(wb.open(signals_snapshot), trace)
        wait_for_text(page, ".wb-trace-note", rf"Trace {trace}: {spans.height} spans")
    finally:
        page.close()


def _error_rate(page: Any, service: str) -> float:
    cells = ".wb-services .tabulator-row"
    page.locator(cells).first.wait_for()
    row = page.locator(
        cells, has=page.locator(".tabulator-cell[tabulator-field='service']", has_text=service)
    )
    return float(row.first.locator(".tabulator-cell[tabulator-field='error_rate']").inner_text())


def test_the_bad_rollout_service_fails_more_after_the_rollout(
    signals_page: Any, signals_server: PanelServer, signals_snapshot: Path, find_incident: Any
) -> None:
    rollout = _rollout(find_incident, signals_snapshot)
    service, at = rollout["object"]["name"], rollout["start"]
    scope = {"cluster": rollout["cluster"], "namespace": rollout["namespace"]}
    base = f"{signals_server.url}/application?{urllib.parse.urlencode(scope)}"
    ds = wb.open(signals_snapshot)
    start, end = ds.window
    _open(signals_page, f"{base}&{urllib.parse.urlencode({'end': at})}")
    before = _error_rate(signals_page, service)
    _open(signals_page, f"{base}&{urllib.parse.urlencode({'start': at})}")
    after = _error_rate(signals_page, service)
    assert after > before
    want = apm.summary(ds, by=("service",), start=at, end=end, **scope).filter(pl.col("service") == service)
    assert after == pytest.approx(round(100 * want["error_rate"][0], 2))
    assert signals_page.console_errors == [], signals_server.log()


def test_select_box_gives_what_the_analysis_gives(signals_snapshot: Path) -> None:
    """The server-side selection (what a drag does, and what the benchmark times)."""
    ds = wb.open(signals_snapshot)
    page = ApplicationPage(ds, namespace="shop")
    t0, t1 = ds.window
    assert t0 is not None and t1 is not None
    mid = t0 + (t1 - t0) / 2
    got = page.select_box(mid, mid + dt.timedelta(minutes=10), 50.0, 5000.0)
    want = hitmap.select(ds, mid, mid + dt.timedelta(minutes=10), 50.0, 5000.0, namespace="shop")
    assert want.height > 0
    assert got.sort("trace_id", "span_id").equals(want.sort("trace_id", "span_id"))
    assert len(page._tx.value) == want.height  # the table lists them (fewer than the listing cap)


def test_screenshot_for_the_docs(
    signals_docs_page: Any, signals_docs_server: PanelServer, demo_snapshot: Path
) -> None:
    """docs/img/page-application.png: the checkout service with a box and a trace selected."""
    url, want = _box_url(signals_docs_server, demo_snapshot, "checkout", trace=True)
    page = signals_docs_page
    _open(page, url)
    wait_for_text(page, ".wb-trace-note", r"^Trace ")
    page.wait_for_timeout(2000)
    height = page.evaluate("document.getElementById('main').scrollHeight")
    page.set_viewport_size({"width": 1600, "height": min(int(height) + 80, 6000)})
    page.wait_for_timeout(2500)
    out = REPO / "docs" / "img" / "page-application.png"
    page.screenshot(path=str(out))
    assert page.console_errors == [], signals_docs_server.log()
    assert out.stat().st_size > 50_000


#: Page coordinates of data point ``(x, y)`` on the Bokeh plot titled ``title`` (its frame's
#: scales): ``x`` None means the middle of the frame.
_AT = """([title, x, y]) => {
  const views = [...Bokeh.index.query((v) => v.model && v.model.title && v.model.title.text == title)];
  if (!views.length) return null;
  const v = views[0], box = v.el.getBoundingClientRect(), frame = v.frame;
  const sx = x == null ? frame.bbox.hcenter : frame.x_scale.compute(x);
  return [box.left + sx, box.top + frame.y_scale.compute(y)];
}"""


def _wait_service(page: Any, want: str, *, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _query(page).get("service") == want:
            return
        time.sleep(0.25)
    raise AssertionError(f"the URL never got service={want}: {_query(page)}")


def test_clicking_a_service_band_picks_that_service(
    signals_page: Any, signals_server: PanelServer, signals_snapshot: Path
) -> None:
    """The per-service hitmap has a band per service, busiest on top: a click on a band opens
    that service (the large hitmap, the charts, the selector, the URL), whichever band it is."""
    from workbench.ui.application.plots import BANDS_TITLE
    from workbench.viz.hitmap import bands

    layout = bands(hitmap.hitmap(wb.open(signals_snapshot), by=("service",)))  # the page's: the whole window
    assert len(layout.groups) >= 3
    page = signals_page
    _open(page, f"{signals_server.url}/application")
    page.locator(".wb-hitmaps").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    n = len(layout.groups)
    for k in (n - 1, 0, n // 2):  # the bottom band (the quietest service), the top one, one between
        (service,) = layout.groups[k]
        middle = (n - 1 - k) * layout.pitch + layout.rows / 2
        at = page.evaluate(_AT, [BANDS_TITLE, None, middle])
        assert at is not None, "no plot titled " + BANDS_TITLE
        page.mouse.click(*at)
        _wait_service(page, service)
        wait_for_text(page, ".wb-hitmap-title", rf"^{re.escape(service)}: every transaction")
        assert page.locator("select").filter(has_text="All services").input_value() == service
    assert page.console_errors == [], signals_server.log()


def test_a_scope_change_shows_the_librarys_numbers_for_that_scope(
    signals_snapshot: Path, find_incident: Any
) -> None:
    """In process, as a served session does it: each scope change shows what ``apm.summary`` and
    ``hitmap.hitmap`` give for that scope's spans, and redraws the same plots (nothing rebuilt)."""
    from polars.testing import assert_frame_equal

    ds = wb.open(signals_snapshot)
    rollout = _rollout(find_incident, signals_snapshot)
    page = ApplicationPage(ds)
    plots = (page.large.dmap, page._multi.object, page.charts.layout, page._bounds)
    lo, _ = ds.window
    assert lo is not None
    changes = [{"namespace": rollout["namespace"]}, {"workload": f"Deployment/{rollout['object']['name']}"},
               {"start": (lo + dt.timedelta(minutes=20)).isoformat(), "end": (lo + dt.timedelta(minutes=40)).isoformat()},
               {"cluster": rollout["cluster"], "workload": ""}, {"namespace": "", "cluster": "", "start": "", "end": ""}]  # fmt: skip
    for change in changes:
        page.scope.param.update(**change)
        start, end = page.scope.window()
        scoped = ds.scan(
            "spans", start=start - dt.timedelta(minutes=10), end=end, **page.scope.filters()
        ).collect()
        want = apm.summary(scoped, by=("service",), start=start, end=end)
        assert want.height > 0, change
        assert_frame_equal(page.results.totals, want, check_exact=False, rel_tol=1e-12)
        assert page._summary.value["service"].tolist() == want["service"].to_list()
        assert_frame_equal(
            page.results.hitmap.cells, hitmap.hitmap(scoped, by=("service",), start=start, end=end).cells
        )
    assert (page.large.dmap, page._multi.object, page.charts.layout, page._bounds) == plots
    page.service = want["service"][-1]
    assert page.large.group == (want["service"][-1],)
