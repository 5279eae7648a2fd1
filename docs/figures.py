"""Regenerate the figures of the application, service map, log explorer and anomalies pages
from the demo snapshot, and measure the anomaly detector on the demo's ground truth.

    .venv/bin/python docs/figures.py                      # every figure, into docs/img/
    .venv/bin/python docs/figures.py --only anomalies     # one page's figures
    .venv/bin/python docs/figures.py --measure            # precision and recall (docs/anomalies.md)

Each figure is the same library call and chart as in the page's notebook, with the notebook's
default parameters. HoloViews cannot write PNG here (that needs selenium), so a figure is saved
as self-contained HTML and photographed with Playwright driving Debian's Chromium. Not run by
the tests; run it after changing an analysis or a chart, and look at the images.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import holoviews as hv
import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import workbench as wb  # noqa: E402
from workbench.analyses import anomalies as an  # noqa: E402
from workbench.analyses import apm, hitmap, logs, patterns  # noqa: E402
from workbench.analyses import servicemap as sm  # noqa: E402
from workbench.viz import anomalies as an_viz  # noqa: E402
from workbench.viz import apm as apm_viz  # noqa: E402
from workbench.viz import hitmap as hitmap_viz  # noqa: E402
from workbench.viz import logs as logs_viz  # noqa: E402
from workbench.viz import servicemap as sm_viz  # noqa: E402

log = logging.getLogger("figures")

IMG = REPO / "docs" / "img"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
EKS = "eks-prod-us-east-1"
#: The notebooks' defaults: the window around the demo's bad checkout rollout (08:42 UTC).
WINDOW = ("2026-11-02T08:00:00Z", "2026-11-02T09:30:00Z")
ROLLOUT = ("2026-11-02T08:42:00Z", "2026-11-02T09:30:00Z")
BEFORE = ("2026-11-02T07:54:00Z", "2026-11-02T08:42:00Z")


# -- rendering ------------------------------------------------------------------------------------
def photograph(items: list[tuple[Any, Path, int]]) -> None:
    """Save each HoloViews object as standalone HTML, open it in Chromium at ``width`` pixels
    and write a PNG of the whole page to its path."""
    from bokeh.resources import INLINE
    from playwright.sync_api import sync_playwright

    hv.extension("bokeh")
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            for obj, out, width in items:
                html = Path(tmp) / f"{out.stem}.html"
                hv.save(obj, html, backend="bokeh", resources=INLINE)
                page = browser.new_page(viewport={"width": width, "height": 10}, device_scale_factor=1)
                page.goto(html.as_uri())
                page.wait_for_selector("canvas", state="attached", timeout=30_000)
                page.wait_for_timeout(1500)  # bokeh lays out and paints after the canvas exists
                out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(out), full_page=True)
                page.close()
                log.info("wrote %s", out.relative_to(REPO))
        finally:
            browser.close()


# -- one function per page: (object, file, width) ---------------------------------------------------
Figure = tuple[Any, Path, int]


def application(ds: wb.Dataset) -> list[Figure]:
    scope = apm.ApmParams(cluster=EKS, namespace="shop", start=WINDOW[0], end=WINDOW[1], bucket="5m")
    dash = apm_viz.dashboard(apm.series(ds, scope), apm.active_series(ds, scope))
    by_service = hitmap.hitmap(ds, cluster=EKS, namespace="shop", start=WINDOW[0], end=WINDOW[1], by=("service",))
    selected = hitmap.select(ds, ROLLOUT[0], ROLLOUT[1], 400.0, 60_000.0, cluster=EKS, namespace="shop")
    tx = selected.row(0, named=True)
    spans = hitmap.trace(ds, tx["trace_id"], cluster=EKS, start=tx["start"] - dt.timedelta(minutes=1),
                         end=tx["end"] + dt.timedelta(minutes=1))
    return [
        (dash, IMG / "application-dashboard.png", 1000),
        (hitmap_viz.multi_hitmap(by_service), IMG / "application-hitmap.png", 1200),
        (hitmap_viz.waterfall(spans), IMG / "application-waterfall.png", 1000),
    ]


def service_map(ds: wb.Dataset) -> list[Figure]:
    window, baseline = ("2026-11-02T08:45:00Z", "2026-11-02T09:30:00Z"), ("2026-11-02T07:55:00Z", "2026-11-02T08:40:00Z")
    scope = sm.ServiceMapParams(cluster=EKS, namespace="shop")
    now = sm.service_map(ds, scope, start=window[0], end=window[1])
    was = sm.service_map(ds, scope, start=baseline[0], end=baseline[1])
    graphs = (sm_viz.service_graph(now, title="Window 08:45 → 09:30 (after the rollout)")
              + sm_viz.service_graph(was, title="Baseline 07:55 → 08:40")).cols(1)
    diff = sm.compare(ds, window=window, baseline=baseline, params=scope)
    times = diff.services.filter(pl.col("node_kind") == "service").select(
        "service", pl.col("self_time_ms").alias("own code"), pl.col("wait_time_ms").alias("waiting on callees"))
    bars = hv.Bars(times.unpivot(index="service", variable_name="time", value_name="ms").to_pandas(),
                   kdims=["service", "time"], vdims=["ms"]).opts(
        backend="bokeh", stacked=True, invert_axes=True, responsive=True, min_width=400, height=300, legend_position="right",
        title="Where each service spent its time, 08:45 → 09:30", xlabel="", ylabel="ms", xformatter="%.0f")
    return [(graphs, IMG / "service_map-compare.png", 1100), (bars, IMG / "service_map-self-wait.png", 1000)]


def log_explorer(ds: wb.Dataset) -> list[Figure]:
    scope = {"cluster": EKS, "namespace": "shop"}
    volume = logs.volume(ds, **scope, levels=["WARN", "ERROR", "FATAL"], step="5m")
    counts = logs.facets(ds, **scope, start=ROLLOUT[0], end=ROLLOUT[1], levels=["ERROR"])
    found = patterns.patterns(ds, **scope).filter(pl.col("errors") > 0)  # the error patterns only
    counts_10m = patterns.pattern_counts(ds, step="10m", **scope).filter(pl.col("pattern_id").is_in(found["pattern_id"]))
    timeline = logs_viz.pattern_timeline(counts_10m, found, title="ERROR lines per 10 minutes by pattern, whole demo")
    timeline = timeline.opts(legend_position="bottom", height=380)
    bars = (logs_viz.facet_bars(counts, "category", title="ERROR lines by pattern")
            + logs_viz.facet_bars(counts, "pod", title="ERROR lines by pod")).cols(2).opts(shared_axes=False)
    return [
        (logs_viz.volume_chart(volume, title="WARN and ERROR lines per 5 minutes, whole demo"),
         IMG / "log_explorer-volume.png", 1000),
        (timeline, IMG / "log_explorer-patterns.png", 1000),
        (bars, IMG / "log_explorer-facets.png", 1200),
    ]


POD_KEYS = ["cluster", "metric", "namespace", "pod"]
#: The anomalies notebook's defaults: metric → smallest scale of its score.
FLOORS = {"container_cpu_usage_seconds_total": 0.01, "container_memory_working_set_bytes": 4194304.0,
          "container_cpu_cfs_throttled_periods_total": 0.1}


def anomalies(ds: wb.Dataset) -> list[Figure]:
    throttle = an.metric_series(ds, "container_cpu_cfs_throttled_periods_total", by=("namespace", "pod"),
                                cluster=EKS, namespace="shop")
    scored = an.score(throttle, keys=POD_KEYS, min_scale=FLOORS["container_cpu_cfs_throttled_periods_total"])
    pick = {"pod": "thumbnailer-49llb8g5hh-8g98t"}
    tp = an_viz.overlay(scored, intervals=an.intervals(scored, keys=POD_KEYS),
                        changes=an.change_points(throttle, keys=POD_KEYS, window=12), where=pick,
                        title="thumbnailer: throttled CFS periods per second", ylabel="throttled periods/s").opts(ylim=(-2, 14))
    spans = an.span_series(ds, step="5m", cluster=EKS).filter(pl.col("signal") == "latency_p90_ms")
    keys = ["cluster", "service", "signal"]
    s_scored = an.score(spans, keys=keys)
    lat = an_viz.overlay(s_scored, intervals=an.intervals(s_scored, keys=keys),
                         changes=an.change_points(spans, keys=keys, window=12), where={"service": "checkout"},
                         title="checkout: p90 latency per 5 minutes (the 08:42 rollout)", ylabel="p90 latency (ms)").opts(
                             ylim=(0, 1600))
    return [(tp, IMG / "anomalies-throttled.png", 1000), (lat, IMG / "anomalies-rollout.png", 1000)]


PAGES: dict[str, Callable[[wb.Dataset], list[Figure]]] = {
    "application": application, "service_map": service_map, "log_explorer": log_explorer, "anomalies": anomalies,
}


# -- precision and recall of the anomaly detector on the demo -------------------------------------------
def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def measure(ds: wb.Dataset, *, thresholds: tuple[float, ...] = (4.0, 5.0, 6.0, 8.0, 10.0),
            tolerance: dt.timedelta = dt.timedelta(minutes=5)) -> pl.DataFrame:
    """Precision and recall of :func:`anomalies.detect` and :func:`anomalies.change_points` over
    every pod's CPU, memory and throttling series of the demo (both clusters, whole snapshot,
    the notebook's floors), against ``ground_truth.json``.

    A finding (an interval, or a change point's moment) is a true positive when its cluster and
    pod are among an incident's ``pods`` and it overlaps the incident's start..end widened by
    ``tolerance``; else a false positive. Recall counts the incidents with at least one true
    positive among those whose pods have metric series at all (pending pods never ran)."""
    if ds.ground_truth is None:
        msg = f"{ds} has no ground_truth.json: measure the detector on a demo snapshot (workbench demo)"
        raise SystemExit(msg)
    truth = ds.ground_truth["incidents"]
    series = {m: an.metric_series(ds, m, by=("namespace", "pod"), step="1m") for m in FLOORS}
    have = {(c, p) for s in series.values() for c, p in s.select("cluster", "pod").unique().rows()}
    incidents = [(i["id"], i["cluster"], set(i["pods"]), _time(i["start"]) - tolerance, _time(i["end"]) + tolerance)
                 for i in truth]
    observable = {i for i, c, pods, _, _ in incidents if any((c, p) in have for p in pods)}

    def score(found: list[tuple[str, str, dt.datetime, dt.datetime]]) -> tuple[int, int, set[str]]:
        tp = fp = 0
        hit: set[str] = set()
        for cluster, pod, a, b in found:
            match = {i for i, c, pods, lo, hi in incidents if c == cluster and pod in pods and a <= hi and b >= lo}
            tp, fp, hit = (tp + 1, fp, hit | match) if match else (tp, fp + 1, hit)
        return tp, fp, hit

    rows = []
    for thr in thresholds:
        found = [(r["cluster"], r["pod"], r["start"], r["end"]) for m, s in series.items()
                 for r in an.detect(s, keys=POD_KEYS, threshold=thr, min_scale=FLOORS[m]).iter_rows(named=True)]
        tp, fp, hit = score(found)
        rows.append({"detector": "detect", "threshold": thr, "found": tp + fp, "true": tp, "false": fp,
                     "precision": tp / max(1, tp + fp), "recall": len(hit) / len(observable),
                     "incidents": ", ".join(sorted(hit))})
    for thr in (8.0, 12.0, 20.0, 40.0):
        found = [(r["cluster"], r["pod"], r["ts"], r["ts"]) for s in series.values()
                 for r in an.change_points(s, keys=POD_KEYS, threshold=thr, window=12).iter_rows(named=True)]
        tp, fp, hit = score(found)
        rows.append({"detector": "change_points", "threshold": thr, "found": tp + fp, "true": tp, "false": fp,
                     "precision": tp / max(1, tp + fp), "recall": len(hit) / len(observable),
                     "incidents": ", ".join(sorted(hit))})
    print(f"observable incidents (pods with metric series): {', '.join(sorted(observable))}")
    return pl.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", type=Path, default=REPO / "data" / "demo", help="the demo snapshot")
    parser.add_argument("--only", default="", help=f"comma-separated pages ({', '.join(PAGES)})")
    parser.add_argument("--measure", action="store_true", help="print the detector's precision and recall instead")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not (args.snapshot / "manifest.json").is_file():
        from workbench.sources.demo import generate

        log.info("no snapshot at %s: generating the demo", args.snapshot)
        generate(args.snapshot)
    ds = wb.open(args.snapshot)
    if args.measure:
        with pl.Config(tbl_rows=20, tbl_cols=10, fmt_str_lengths=60, tbl_width_chars=200):
            print(measure(ds))
        return 0
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(PAGES)
    unknown = [n for n in names if n not in PAGES]
    if unknown:
        parser.error(f"unknown page(s) {', '.join(unknown)}; pick from {', '.join(PAGES)}")
    photograph([fig for name in names for fig in PAGES[name](ds)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
