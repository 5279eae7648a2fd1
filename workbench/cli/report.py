"""``workbench report``: run a scenario notebook and write it as one self-contained HTML file
(optionally a PDF), for people and for cron jobs."""

from __future__ import annotations

import time
from pathlib import Path

import click

from workbench.cli._base import cli
from workbench.reports._params import scenarios
from workbench.reports._run import parse_assignments, run_report

__all__ = ["report"]


def _epilog() -> str:
    names = scenarios()
    listed = "\n".join(f"  {n}" for n in names) if names else "  (no notebooks found)"
    return (
        "\b\nScenarios (notebooks/<name>.ipynb):\n" + listed + "\n\n"
        "\b\nExamples:\n"
        "  workbench report post_mortem --snapshot data/demo --out pm.html\n"
        "  workbench report post_mortem --snapshot data/demo --start 2026-11-02T08:30Z \\\n"
        "      --end 2026-11-02T09:00Z --namespace shop --out pm.html --pdf pm.pdf\n"
        "  workbench report pending_pods --snapshot data/demo -p include_past=false --out pending.html\n\n"
        "Progress goes to stderr, the written paths to stdout; exit status 0 on success, 1 with "
        "one line naming the failing cell otherwise."
    )


@cli.command(epilog=_epilog(), short_help="Run a scenario notebook into one HTML report (and a PDF).")
@click.argument("scenario")
@click.option(
    "--snapshot",
    type=click.Path(path_type=Path),
    help="Snapshot folder (default: the notebook's own default, data/demo).",
)
@click.option("--start", help="Window start, ISO 8601 UTC (the notebook's 'start' parameter).")
@click.option("--end", help="Window end, ISO 8601 UTC (the notebook's 'end' parameter).")
@click.option("--cluster", help="Cluster to report on (the notebook's 'cluster' parameter).")
@click.option("--namespace", help="Namespace to report on (the notebook's 'namespace' parameter).")
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="Any other parameter of the notebook's parameters cell; repeatable.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The HTML file to write (replaced atomically).",
)
@click.option("--pdf", type=click.Path(path_type=Path, dir_okay=False), help="Also print a PDF (Chromium).")
@click.option(
    "--ipynb",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also keep the executed notebook (written even when a cell fails).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=600.0,
    show_default=True,
    help="Seconds one cell may run.",
)
def report(
    *,
    scenario: str,
    snapshot: Path | None,
    start: str | None,
    end: str | None,
    cluster: str | None,
    namespace: str | None,
    params: tuple[str, ...],
    out: Path,
    pdf: Path | None,
    ipynb: Path | None,
    timeout: float,
) -> None:
    """Run notebooks/SCENARIO.ipynb with papermill and write it as ONE self-contained HTML file:
    code hidden, interactive plots with inline resources, nothing fetched from the network to
    view it. --pdf also prints it with headless Chromium."""
    given = parse_assignments(params)
    named = {"snapshot": str(snapshot) if snapshot else None, "start": start, "end": end, "cluster": cluster,
             "namespace": namespace}  # fmt: skip
    for name, value in named.items():
        if value is not None:
            if name in given:
                msg = f"{name} is given both as --{name} and as -p {name}=…; give it once"
                raise click.UsageError(msg)
            given[name] = value
    started = time.monotonic()

    def progress(msg: str) -> None:
        click.echo(f"[{time.monotonic() - started:5.1f}s] {msg}", err=True)

    result = run_report(scenario, out=out, parameters=given, pdf=pdf, ipynb=ipynb, timeout=timeout,
                        progress=progress)  # fmt: skip
    click.echo(str(result.html))
    if result.pdf is not None:
        click.echo(str(result.pdf))
