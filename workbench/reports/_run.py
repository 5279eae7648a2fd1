"""Run a scenario notebook with papermill and write its report (HTML, optionally PDF)."""

from __future__ import annotations

import dataclasses
import logging
import re
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from workbench.errors import ParameterError
from workbench.reports._params import (
    KERNEL_START,
    NotebookParameter,
    ReportError,
    check_parameters,
    convert_value,
    import_nbformat,
    notebook_parameters,
    notebook_path,
)
from workbench.reports._render import atomic_write, external_references, html_to_pdf, notebook_to_html

__all__ = ["Report", "execute_notebook", "prepare_parameters", "run_report"]

log = logging.getLogger(__name__)

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclasses.dataclass(frozen=True)
class Report:
    """What :func:`run_report` wrote."""

    scenario: str
    html: Path
    pdf: Path | None
    parameters: dict[str, Any]
    seconds: float
    external: list[str]  # network references left in the HTML (empty when self-contained)


def prepare_parameters(
    scenario: str,
    declared: Mapping[str, NotebookParameter],
    given: Mapping[str, Any],
    *,
    cwd: Path | None = None,
) -> dict[str, Any]:
    """Check ``given`` against the notebook's parameters and convert text values to their
    declared types; a relative ``snapshot`` becomes absolute (the notebook runs in its own
    folder) and must be a snapshot that opens."""
    check_parameters(scenario, dict(declared), dict(given))
    out: dict[str, Any] = {}
    for name, value in given.items():
        out[name] = convert_value(declared[name], value) if isinstance(value, str) else value
    snap = out.get("snapshot")
    if isinstance(snap, str) and snap:
        path = Path(snap).expanduser()
        if not path.is_absolute():
            path = (cwd or Path.cwd()) / path
        path = path.resolve()
        import workbench

        workbench.open(path)  # a missing or broken snapshot fails here, with the store's message
        out["snapshot"] = str(path)
    return out


def _first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return line.strip()[:80]
    return ""


def execute_notebook(
    path: Path,
    out: Path,
    parameters: Mapping[str, Any],
    *,
    timeout: float | None = 600.0,
    kernel_name: str = "python3",
) -> Any:
    """Execute ``path`` with papermill into ``out`` (run in the notebook's folder, as JupyterLab
    does); return the executed notebook. A failing cell raises :class:`ReportError` naming the
    cell (its number among the notebook's cells and its first line) and the error."""
    nbformat = import_nbformat()
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    logging.getLogger("papermill").setLevel(logging.ERROR)  # its parameter parser warns on `x: str = ""`
    try:
        pm.execute_notebook(
            str(path),
            str(out),
            parameters=dict(parameters),
            cwd=str(path.parent),
            kernel_name=kernel_name,
            progress_bar=False,
            log_output=False,
            execution_timeout=timeout,
            # written once at the end (or with the error), not after every cell: each write
            # serialises and validates the whole notebook, megabytes of inlined BokehJS
            request_save_on_cell_execute=False,
            extra_arguments=["--IPKernelApp.log_level=ERROR", f"--IPKernelApp.exec_lines={KERNEL_START}"],
        )
    except PapermillExecutionError as err:
        # papermill's cell_index counts the cells it inserts (parameters, error markers): find
        # the failing cell among the notebook's own cells by its source
        own = nbformat.read(path, as_version=4).cells
        index = next((i for i, c in enumerate(own) if c.source == err.source), err.cell_index)
        evalue = _ANSI.sub("", str(err.evalue)).strip().splitlines()
        msg = (
            f"{path.name}: cell {index + 1} ({_first_line(err.source)!r}) failed: "
            f"{err.ename}: {evalue[0] if evalue else ''}"
        )
        raise ReportError(msg) from err
    except TimeoutError as err:
        msg = f"{path.name} did not finish within {timeout:.0f}s (a cell took too long)"
        raise ReportError(msg) from err
    return nbformat.read(out, as_version=4)


def run_report(
    scenario: str,
    *,
    out: Path,
    parameters: Mapping[str, Any] | None = None,
    pdf: Path | None = None,
    ipynb: Path | None = None,
    notebooks_dir: Path | None = None,
    timeout: float | None = 600.0,
    title: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Run ``notebooks/<scenario>.ipynb`` with ``parameters`` (values as text are converted to
    the types of its parameters cell) and write its report to ``out`` (one self-contained HTML
    file), plus ``pdf`` (printed by Chromium) and ``ipynb`` (the executed notebook) if given.

    Files are written atomically: an existing report is replaced only by a complete one.
    Raises :class:`ReportError` (unknown scenario, failing cell, no Chromium) or
    :class:`~workbench.errors.ParameterError` (unknown parameter, bad value)."""
    say = progress or (lambda msg: log.info("%s", msg))
    started = time.monotonic()
    path = notebook_path(scenario, notebooks_dir)
    declared = notebook_parameters(path)
    params = prepare_parameters(scenario, declared, parameters or {})
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items()) or "defaults"
    say(f"running {path.name} ({shown})")
    with tempfile.TemporaryDirectory(prefix="workbench-report-") as tmp:
        executed = Path(tmp) / f"{scenario}.out.ipynb"
        try:
            nb = execute_notebook(path, executed, params, timeout=timeout)
        finally:
            if ipynb is not None and executed.is_file():
                atomic_write(ipynb, executed.read_bytes())
        say(f"notebook ran in {time.monotonic() - started:.1f}s; converting to HTML")
        html = notebook_to_html(nb, title=title or f"{scenario.replace('_', ' ')} report")
    external = external_references(html)
    if external:
        log.warning("the report still refers to the network: %s", "; ".join(external[:5]))
    atomic_write(out, html.encode("utf-8"))
    say(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    if pdf is not None:
        say("printing the PDF with Chromium")
        html_to_pdf(out, pdf)
        say(f"wrote {pdf} ({pdf.stat().st_size / 1e6:.1f} MB)")
    return Report(
        scenario=scenario,
        html=out,
        pdf=pdf,
        parameters=params,
        seconds=time.monotonic() - started,
        external=external,
    )


def parse_assignments(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["name=value", …]`` → ``{name: value}`` (the text after the first ``=``)."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            msg = f"-p takes name=value (got {item!r})"
            raise ParameterError(msg)
        out[name.strip()] = value
    return out
