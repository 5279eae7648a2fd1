"""``workbench report``: a scenario notebook run by papermill and written as ONE self-contained
HTML file (and a PDF), viewed in Chromium with the network off, as a cron job would use it."""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.support.browser import REPO
from tests.support.snapshots import T1, XSS, write_small_snapshot
from workbench.cli import cli
from workbench.errors import ParameterError
from workbench.reports import (
    convert_value,
    external_references,
    notebook_parameters,
    notebook_path,
    parse_parameters_cell,
    run_report,
    scenarios,
)
from workbench.schema import conform
from workbench.store import SnapshotWriter

DOCS_IMG = REPO / "docs" / "img"
WORKBENCH = Path(sys.executable).with_name("workbench")
#: URLs in BokehJS's own code (MathJax for LaTeX labels, Tabler icon fonts for icon widgets).
DORMANT = {
    "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-svg.js",
    "https://cdn.jsdelivr.net/npm/@tabler/icons-webfont@latest",
}
#: A log line that tries to leave the <script> element Bokeh's document is embedded in.
BREAKOUT = "</script><script>window.__xss=2</script><!--"


def _workbench(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """The ``workbench`` command as a cron job runs it (its own process, no terminal)."""
    cmd = (
        [str(WORKBENCH)]
        if WORKBENCH.exists()
        else [sys.executable, "-c", "from workbench.cli import main; raise SystemExit(main())"]
    )
    return subprocess.run([*cmd, *args], cwd=cwd, capture_output=True, text=True, timeout=900, check=False)


def _text(page_html: str) -> str:
    """The text a reader sees outside scripts and styles, tags removed, entities decoded."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page_html, flags=re.S | re.I)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


# --------------------------------------------------------------------------- fast: no kernel


def test_parameters_cell_is_read_with_types_defaults_and_help() -> None:
    params = notebook_parameters(notebook_path("post_mortem"))
    assert list(params)[:5] == ["snapshot", "start", "end", "cluster", "namespace"]
    assert params["snapshot"].default == "../data/demo"
    assert (
        params["cluster"].default == "" and params["cluster"].annotation == "str"
    )  # papermill cannot parse ""
    assert params["suspects_shown"].annotation == "int"
    assert params["start"].help.startswith("window start")
    cell = 'flag: bool = True  # a flag\nratio = 0.5\nnames: list[str] = ["a"]  # some names\n'
    parsed = parse_parameters_cell(cell)
    assert convert_value(parsed["flag"], "false") is False
    assert convert_value(parsed["flag"], "YES") is True
    assert convert_value(parsed["ratio"], "2") == 2.0  # no annotation: the default's type
    assert convert_value(parsed["names"], '["x", "y"]') == ["x", "y"]
    with pytest.raises(ParameterError, match="flag is a bool"):
        convert_value(parsed["flag"], "maybe")


def test_tables_prose_and_embedded_bokeh_documents_escape_cluster_text() -> None:
    import nbformat
    import polars as pl

    from workbench.reports import harden_outputs
    from workbench.reports.post_mortem import Prose, strong, table

    t = table(pl.DataFrame({"message": [XSS], "at": [T1]}), ["at", "message"])
    assert XSS not in t._repr_html_() and html.escape(XSS) in t._repr_html_()
    assert str(t).splitlines() == ["at | message", f"2026-11-02 12:00:00 | {XSS}"]
    p = Prose().para(strong(XSS), " restarted")
    assert XSS not in p._repr_html_() and str(p) == f"{XSS} restarted"
    doc = json.dumps({"roots": [{"text": f"{BREAKOUT} & more"}]}, separators=(",", ":"))
    out = nbformat.v4.new_output(
        "display_data", data={"text/html": f"<div></div><script>var docs_json = {doc};\n</script>"}
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=[out])])
    assert harden_outputs(nb) == 1
    fixed = nb.cells[0].outputs[0].data["text/html"]
    assert "</script>" not in fixed.removesuffix("</script>") and "<!--" not in fixed
    embedded = fixed.split("var docs_json = ", 1)[1].rsplit(";", 1)[0]
    assert json.loads(embedded) == json.loads(doc)  # the same document, only written differently


def test_every_notebook_is_a_scenario_and_listed_in_help() -> None:
    names = scenarios()
    assert "post_mortem" in names
    assert names == sorted(p.stem for p in (REPO / "notebooks").glob("*.ipynb"))
    res = CliRunner().invoke(cli, ["report", "--help"])
    assert res.exit_code == 0
    for name in names:
        assert f"  {name}\n" in res.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["no_such_report"], r"unknown scenario 'no_such_report'.*post_mortem"),
        (["post_mortm"], r"did you mean post_mortem"),
        (
            ["post_mortem", "-p", "windw=1h"],
            r"post_mortem has no parameter 'windw'.*Its parameters: snapshot=",
        ),
        (["pod_view", "--start", "2026-11-02T08:00Z"], r"pod_view has no parameter 'start'"),
        (["post_mortem", "-p", "suspects_shown=many"], r"suspects_shown is an int"),
        (["post_mortem", "-p", "oops"], r"-p takes name=value"),
    ],
)
def test_bad_scenario_or_parameter_fails_with_one_clear_line(
    args: list[str], expected: str, tmp_path: Path
) -> None:
    out = tmp_path / "r.html"
    res = CliRunner().invoke(cli, ["report", *args, "--snapshot", str(tmp_path), "--out", str(out)])
    assert res.exit_code != 0
    assert re.search(expected, res.output), res.output
    assert "Traceback" not in res.output
    assert not out.exists()


def test_missing_snapshot_fails_before_running_anything(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    started = time.monotonic()
    res = _workbench("report", "post_mortem", "--snapshot", str(tmp_path / "nope"), "--out", str(out))
    assert res.returncode == 1
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.stderr
    assert str(tmp_path / "nope") in lines[0]
    assert res.stdout == "" and not out.exists()
    assert time.monotonic() - started < 60  # no kernel was started


# --------------------------------------------------------------------------- the demo report


@pytest.fixture(scope="module")
def demo_report(demo_snapshot: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``workbench report post_mortem`` on the demo with the notebook's default window, run once."""
    out = tmp_path_factory.mktemp("report")
    started = time.monotonic()
    res = _workbench("report", "post_mortem", "--snapshot", str(demo_snapshot), "--out", str(out / "pm.html"),
                     "--pdf", str(out / "pm.pdf"))  # fmt: skip
    seconds = time.monotonic() - started
    assert res.returncode == 0, res.stderr
    print(f"\nworkbench report post_mortem (HTML + PDF): {seconds:.1f}s wall")  # noqa: T201 - B6 reads it
    return {"dir": out, "res": res, "seconds": seconds, "html": (out / "pm.html").read_text(encoding="utf-8")}


@pytest.mark.slow
def test_report_writes_one_html_and_one_pdf_and_prints_their_paths(demo_report: dict[str, Any]) -> None:
    out, res = demo_report["dir"], demo_report["res"]
    assert sorted(p.name for p in out.iterdir()) == ["pm.html", "pm.pdf"]  # no temp files left
    assert res.stdout.splitlines() == [str(out / "pm.html"), str(out / "pm.pdf")]
    assert "running post_mortem.ipynb" in res.stderr and "wrote" in res.stderr


@pytest.mark.slow
def test_html_is_self_contained(demo_report: dict[str, Any]) -> None:
    page = demo_report["html"]
    assert external_references(page) == []
    assert not re.search(r"<script[^>]*\bsrc=[\"']?https?:", page, re.I)
    assert not re.search(r"<link[^>]*\bhref=[\"']?https?:", page, re.I)
    assert "cdn.holoviz.org" not in page  # Panel's stylesheets are inlined as data: URLs
    # The only CDN URLs left are two inside the inlined BokehJS bundle, fetched only to draw a
    # LaTeX label or an icon widget, which reports do not have (and the offline browser test
    # sees no request at all).
    assert set(re.findall(r"https://cdn[^\"'\s)<>]*", page)) <= DORMANT
    assert "Bokeh" in page and "var docs_json" in page  # BokehJS and the plots are inline
    assert "import holoviews" not in page  # code is hidden


@pytest.mark.slow
def test_story_names_the_bad_rollout_as_most_likely_cause(
    demo_report: dict[str, Any], demo_snapshot: Path
) -> None:
    params = notebook_parameters(notebook_path("post_mortem"))
    start, end = (dt.datetime.fromisoformat(params[k].default) for k in ("start", "end"))
    truth = json.loads((demo_snapshot / "ground_truth.json").read_text())["incidents"]
    [rollout] = [
        i
        for i in truth
        if i["kind"] == "bad_rollout" and start <= dt.datetime.fromisoformat(i["start"]) < end
    ]
    text = _text(demo_report["html"])
    obj = rollout["object"]
    assert (
        f"{obj['name']} ({obj['kind']}, {rollout['namespace']}, {rollout['cluster']}) is the most likely cause"
        in text
    )
    new_tag = rollout["details"]["new_image"].rsplit(":", 1)[1]
    assert f"checkout:{new_tag}" in text  # the evidence names the new image
    assert "Window 2026-11-02 08:30:00 UTC → 2026-11-02 09:00:00 UTC" in text


@pytest.mark.slow
def test_pdf_is_a_pdf(demo_report: dict[str, Any]) -> None:
    pdf = (demo_report["dir"] / "pm.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000


def _offline_page(browser: Any, path: Path) -> tuple[Any, list[str]]:
    """``path`` opened with every request other than the file itself aborted (and recorded)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requested: list[str] = []

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith(("file:", "data:", "blob:")):
            r.continue_()
        else:
            requested.append(url)
            r.abort()

    page.route("**/*", route)
    page.goto(path.as_uri())
    page.locator("canvas").first.wait_for(state="attached", timeout=30_000)
    page.wait_for_timeout(1500)  # let every Bokeh document render
    return page, requested


def _colours(png: bytes) -> int:
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("RGB")
    return len(img.getcolors(maxcolors=1 << 24) or [])


@pytest.mark.slow
@pytest.mark.browser
def test_plots_render_with_the_network_off(demo_report: dict[str, Any], browser: Any, tmp_path: Path) -> None:
    page, requested = _offline_page(browser, demo_report["dir"] / "pm.html")
    assert requested == []
    sizes = [b for b in (c.bounding_box() for c in page.locator("canvas").all()) if b and b["width"] > 200]
    assert len(sizes) >= 5  # timeline, the top suspect's metrics, hitmap, log volume
    timeline = page.locator("h2", has_text="What happened when")
    top = timeline.bounding_box()
    first = min((b for b in sizes if b["y"] > top["y"]), key=lambda b: b["y"])
    plot = page.screenshot(clip=first, full_page=True)
    assert _colours(plot) > 40, "the timeline chart is blank"
    hitmap = page.locator("h2", has_text="hitmap").bounding_box()
    hm = min((b for b in sizes if b["y"] > hitmap["y"]), key=lambda b: b["y"])
    assert _colours(page.screenshot(clip=hm, full_page=True)) > 40, "the hitmap is blank"
    # the figures of docs/reports.md (remade only on request, so test runs leave the tree clean)
    img = DOCS_IMG if os.environ.get("WORKBENCH_UPDATE_SCREENSHOTS") == "1" else tmp_path
    img.mkdir(parents=True, exist_ok=True)
    bottom = first["y"] + first["height"] + 20
    page.screenshot(path=str(img / "post_mortem-report.png"), full_page=True,
                    clip={"x": 0, "y": 0, "width": 1280, "height": bottom})  # fmt: skip
    metrics = page.locator("h2", has_text="Key metrics").bounding_box()
    page.screenshot(path=str(img / "post_mortem-metrics.png"), full_page=True,
                    clip={"x": 0, "y": metrics["y"] - 10, "width": 1280, "height": hitmap["y"] - metrics["y"]})  # fmt: skip
    summary = page.locator("h2", has_text="Summary").bounding_box()
    page.screenshot(path=str(img / "post_mortem-summary.png"), full_page=True,
                    clip={"x": 0, "y": summary["y"] - 10, "width": 1280, "height": 420})  # fmt: skip


# --------------------------------------------------------------------------- cluster text, failures


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small snapshot (its api-2 Warning event holds :data:`XSS`) with ERROR log lines holding
    :data:`XSS` and :data:`BREAKOUT` appended in its last hour."""
    path = write_small_snapshot(tmp_path_factory.mktemp("hostile") / "small")
    rows = [
        {"cluster": "kind-a", "ts": T1 - dt.timedelta(minutes=30 - i), "namespace": "shop", "pod": "web-1",
         "container": "main", "stream": "stderr", "level": "ERROR", "message": msg}
        for i, msg in enumerate([f"payment failed: {XSS}", f"payment failed: {XSS}", f"render failed {BREAKOUT}"])
    ]  # fmt: skip
    with SnapshotWriter(path, mode="append") as w:
        w.write("logs", conform("logs", rows))
    return path


@pytest.mark.slow
@pytest.mark.browser
def test_cluster_text_shows_as_text_and_never_runs(hostile: Path, tmp_path: Path, browser: Any) -> None:
    out = tmp_path / "hostile.html"
    run_report("post_mortem", out=out, parameters={"snapshot": str(hostile), "start": (T1 - dt.timedelta(hours=1)).isoformat(),
                                                   "end": T1.isoformat()})  # fmt: skip
    page_html = out.read_text(encoding="utf-8")
    assert XSS not in page_html and "<script>window.__xss=2" not in page_html
    page, requested = _offline_page(browser, out)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.reload()
    page.locator("canvas").first.wait_for(state="attached", timeout=30_000)
    page.wait_for_timeout(1500)
    assert page.evaluate("() => window.__xss") is None
    shown = page.locator("body").inner_text()
    assert f"Readiness probe failed: {XSS}" in shown  # the Warning event, in the timeline table
    assert f"payment failed: {XSS}" in shown  # the log line, among the example lines
    assert errors == []  # no script was cut short by a "</script>" in the data
    assert requested == []


@pytest.mark.slow
def test_failing_cell_is_named_and_the_old_report_survives(demo_snapshot: Path, tmp_path: Path) -> None:
    out, ipynb = tmp_path / "pm.html", tmp_path / "pm.ipynb"
    out.write_text("the previous report")
    res = _workbench("report", "post_mortem", "--snapshot", str(demo_snapshot), "--namespace", "shpo",
                     "--out", str(out), "--ipynb", str(ipynb))  # fmt: skip
    assert res.returncode == 1
    error = [ln for ln in res.stderr.splitlines() if ln.startswith("Error: ")]
    assert len(error) == 1, res.stderr
    assert re.search(
        r"post_mortem\.ipynb: cell 3 \('import holoviews as hv'\) failed: ParameterError: .*shop", error[0]
    )
    assert out.read_text() == "the previous report"
    assert res.stdout == ""
    assert ipynb.is_file()  # the executed notebook, with the error, for whoever debugs it
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cluster_overview", "pending_pods"])
def test_other_scenarios_render_too(name: str, demo_snapshot: Path, tmp_path: Path) -> None:
    if name not in scenarios():
        pytest.skip(f"notebooks/{name}.ipynb is not in this checkout")
    out = tmp_path / f"{name}.html"
    # a snapshot path relative to where the command runs (the notebook itself runs in notebooks/)
    res = _workbench(
        "report",
        name,
        "--snapshot",
        os.path.relpath(demo_snapshot, tmp_path),
        "--out",
        str(out),
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str(out)
    page = out.read_text(encoding="utf-8")
    assert external_references(page) == []
    assert "var docs_json" in page  # its plots
    heading = json.loads(notebook_path(name).read_text())["cells"][0]["source"][0].lstrip("# ").strip()
    assert heading in _text(page)
