"""Executed notebook → one self-contained HTML file (code hidden, plots interactive, nothing
fetched from the network) → optionally a PDF printed by headless Chromium."""

from __future__ import annotations

import base64
import html as html_lib
import importlib.util
import logging
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Any

from workbench.reports._params import ReportError

__all__ = [
    "atomic_write",
    "external_references",
    "find_chromium",
    "harden_outputs",
    "html_to_pdf",
    "inline_cdn_resources",
    "notebook_to_html",
]

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "workbench_report"

# Panel refers to its stylesheets by CDN URL even when its JavaScript is inlined; the same
# files ship in the installed package (panel/dist/…).
_PANEL_CDN = re.compile(r"https://cdn\.holoviz\.org/panel/[^/\"'\s]+/dist/([^\"'\s?#)]+)(?:\?v=[^\"'\s)]*)?")
# What a browser would fetch from another host when showing the page.
# (Strings inside the inlined BokehJS bundle, such as the MathJax and Tabler icon URLs it
# would load only for a LaTeX label or an icon widget, are not references.)
_EXTERNAL = re.compile(
    r"<script[^>]+src=[\"']?(?:https?:)?//[^\"'\s>]+"
    r"|<link[^>]+href=[\"']?(?:https?:)?//[^\"'\s>]+"
    r"|<i?frame[^>]+src=[\"']?(?:https?:)?//[^\"'\s>]+"
    r"|<img[^>]+src=[\"']?(?:https?:)?//[^\"'\s>]+"
    r"|\"url\"\s*:\s*\"(?:https?:)?//[^\"]+\""
    r"|@import\s+(?:url\()?[\"']?(?:https?:)?//[^\"'\s)]+"
    r"|url\(\s*[\"']?(?:https?:)?//[^\"'\s)]+",
    re.IGNORECASE,
)


# Panel's notebook output embeds the Bokeh document as a JavaScript object literal inside a
# <script> element, unescaped: a string holding "</script>" (a log line, an event message)
# would end the element early and the rest would be parsed as HTML. JSON has "<", ">" and "&"
# only inside strings, so writing them as \u escapes there is exact.
_DOCS_JSON = re.compile(r"(var docs_json = )(\{[^\n]*\})(;)")
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_JSON_SPECIAL = re.compile("[<>&\u2028\u2029]")


def _escape_json(text: str) -> str:
    return _JSON_SPECIAL.sub(lambda m: _JSON_ESCAPES[m.group(0)], text)


def harden_outputs(nb: Any) -> int:
    """Escape ``<``, ``>`` and ``&`` in the Bokeh documents embedded in ``nb``'s outputs (see
    above), so that no cluster-sourced text can close a ``<script>`` element; returns how many
    documents were rewritten."""
    count = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            for mime in ("text/html", "application/javascript"):
                value = data.get(mime)
                if isinstance(value, list):
                    value = "".join(value)
                if not isinstance(value, str) or "var docs_json = " not in value:
                    continue
                fixed, n = _DOCS_JSON.subn(
                    lambda m: m.group(1) + _escape_json(m.group(2)) + m.group(3), value
                )
                data[mime] = fixed
                count += n
    return count


def _stderr_free(nb: Any) -> list[str]:
    """Remove the stderr stream outputs (Python warnings, library logs) from ``nb``; return them."""
    dropped: list[str] = []
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        keep = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = out.get("text", "")
                dropped.append(text if isinstance(text, str) else "".join(text))
            else:
                keep.append(out)
        cell["outputs"] = keep
    return dropped


def inline_cdn_resources(html: str) -> str:
    """Replace Panel's CDN stylesheet URLs by ``data:`` URLs of the installed package's files,
    so that the page needs no network. URLs without a local file are left as they are (and
    :func:`external_references` reports them)."""
    # found without importing panel (a second or more of start-up the report does not need)
    spec = importlib.util.find_spec("panel")
    if spec is None or spec.origin is None:  # pragma: no cover - panel is a dependency
        return html
    dist = Path(spec.origin).resolve().parent / "dist"
    cache: dict[str, str | None] = {}

    def repl(match: re.Match[str]) -> str:
        rel = match.group(1)
        if rel not in cache:
            path = (dist / rel).resolve()
            ok = path.is_file() and path.is_relative_to(dist)
            mime = "text/css" if rel.endswith(".css") else "application/octet-stream"
            cache[rel] = (
                f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}" if ok else None
            )
        return cache[rel] or match.group(0)

    return _PANEL_CDN.sub(repl, html)


def external_references(html: str) -> list[str]:
    """What the page would fetch from another host (script and link tags, Bokeh stylesheet URLs,
    CDN URLs); empty for a self-contained report."""
    return sorted({m.group(0)[:200] for m in _EXTERNAL.finditer(html)})


def notebook_to_html(nb: Any, *, title: str) -> str:
    """An executed notebook as one HTML page: code and prompts hidden, stderr outputs dropped
    (logged), images embedded, no MathJax/require.js from a CDN, Panel's stylesheets inlined.

    Text the notebook printed and DataFrame cells are escaped by nbconvert and the libraries;
    the Bokeh documents embedded in script elements are escaped by :func:`harden_outputs`."""
    from nbconvert import HTMLExporter

    harden_outputs(nb)
    for text in _stderr_free(nb):
        first = text.strip().splitlines()[0] if text.strip() else ""
        if first:
            log.info("notebook wrote to stderr (left out of the report): %s", first[:200])
    nb.metadata["title"] = title
    logging.getLogger("traitlets").setLevel(logging.ERROR)  # "alternative text is missing on N images"
    exporter = HTMLExporter(
        extra_template_basedirs=[str(TEMPLATES)],
        template_name=TEMPLATE,
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Your element with mimetype", category=UserWarning)
        body, _resources = exporter.from_notebook_node(
            nb, resources={"metadata": {"name": html_lib.escape(title)}}
        )
    return inline_cdn_resources(body)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename, so a
    reader (or a crash) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def find_chromium() -> str:
    """The Chromium executable: ``$WORKBENCH_CHROMIUM``, else ``chromium``, ``chromium-browser``
    or ``google-chrome`` on the PATH."""
    env = os.environ.get("WORKBENCH_CHROMIUM")
    if env:
        if Path(env).is_file():
            return env
        msg = f"WORKBENCH_CHROMIUM points to {env}, which does not exist"
        raise ReportError(msg)
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    msg = "--pdf needs Chromium: install it (Debian: apt-get install chromium) or set WORKBENCH_CHROMIUM"
    raise ReportError(msg)


def html_to_pdf(html_path: Path, pdf_path: Path, *, timeout: float = 180.0, wait_ms: int = 10_000) -> None:
    """Print ``html_path`` to ``pdf_path`` with headless Chromium (offline: every request other
    than the file itself goes to a closed local proxy). The PDF is written atomically."""
    chromium = find_chromium()
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{pdf_path.name}.", suffix=".tmp", dir=pdf_path.parent)
    os.close(fd)
    with tempfile.TemporaryDirectory(prefix="workbench-chromium-") as profile:
        cmd = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--no-pdf-header-footer",
            "--proxy-server=127.0.0.1:9",
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={wait_ms}",
            "--run-all-compositor-stages-before-draw",
            f"--print-to-pdf={tmp}",
            html_path.resolve().as_uri(),
        ]
        log.debug("running %s", " ".join(cmd))
        try:
            proc = subprocess.run(
                cmd, capture_output=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired as err:
            Path(tmp).unlink(missing_ok=True)
            msg = f"Chromium did not finish printing {html_path} within {timeout:.0f}s"
            raise ReportError(msg) from err
    data = Path(tmp).read_bytes() if Path(tmp).is_file() else b""
    if proc.returncode != 0 or not data.startswith(b"%PDF"):
        Path(tmp).unlink(missing_ok=True)
        err_lines = [ln for ln in proc.stderr.decode(errors="replace").splitlines() if ln.strip()]
        detail = err_lines[-1] if err_lines else f"exit status {proc.returncode}, no PDF written"
        msg = f"Chromium could not print {html_path} to PDF: {detail}"
        raise ReportError(msg)
    os.chmod(tmp, 0o644)
    os.replace(tmp, pdf_path)
