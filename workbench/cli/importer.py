"""``workbench import``: snapshots from what people already have (dumps, files, scrapes, traces, logs)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from workbench.cli._base import cli, err_console, out_console
from workbench.errors import ParameterError
from workbench.store import to_utc

__all__ = ["import_command"]


@cli.command(name="import", short_help="Import dumps, manifests, metrics, traces and logs into a snapshot.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Snapshot folder to write.")
@click.option(
    "--cluster",
    help="Cluster name for everything imported (default: inferred from the dump, else the folder).",
)
@click.option(
    "--format",
    "fmt",
    help="Force one format for every file (default: told from each file's content); the formats are listed above.",
)
@click.option("--at", default=None, help="Time (ISO 8601) of samples, objects and log lines that carry none.")
@click.option("--overwrite", is_flag=True, help="Replace an existing snapshot at --out.")
@click.option("--append", is_flag=True, help="Append to an existing snapshot at --out.")
def import_command(*, paths: tuple[Path, ...], out: Path, cluster: str | None, fmt: str | None, at: str | None,
                   overwrite: bool, append: bool) -> None:  # fmt: skip
    """Import files and folders into a snapshot: `kubectl cluster-info dump` folders (with their
    logs), OpenShift must-gather folders and Insights archives, `kubectl get -o json|yaml` files
    (single objects, Lists, multi-document YAML), Prometheus/OpenMetrics exposition files, trace
    files (OTLP JSON, Zipkin v2, Jaeger) and container log files (CRI, docker json-file, plain).

    A bad file or document is reported with its file, position and reason, and everything else
    is imported.

    \b
    Formats for --format: kubernetes, exposition, otlp, zipkin, jaeger, traces, log, cri,
    docker, timestamped, plain, cluster-info-logs, cluster-info-dump.

    \b
    Examples:
      workbench import must-gather.local.5517/ --out data/support-case
      workbench import pods.json events.yaml scrape.prom --out data/prod --cluster prod --at 2026-11-02T06:30:00Z
    """
    from workbench.sources.importer import ImportProgress, import_paths

    if overwrite and append:
        msg = "choose one of --overwrite and --append"
        raise ParameterError(msg)
    when: dt.datetime | None = to_utc(at) if at else None
    mode = "append" if append else "overwrite" if overwrite else "create"
    with Progress(
        TextColumn("[bold]import"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[what]}"),
        TimeElapsedColumn(),
        console=err_console(),
    ) as bar:
        task = bar.add_task("import", total=None, what="finding files")

        def on_file(p: ImportProgress) -> None:
            bar.update(task, completed=p.done, total=p.total, what=f"{p.format or '?'} {Path(p.path).name}")

        summary: Any = import_paths(list(paths), out=out, cluster=cluster, format=fmt, at=when, mode=mode,
                                    progress=on_file)  # fmt: skip
    console = out_console()
    console.print(f"imported into {out} (clusters: {', '.join(summary.clusters) or 'none'})", highlight=False)
    for line in summary.lines():
        console.print(line, highlight=False, markup=False)
    for w in summary.warnings[:20]:
        console.print(f"warning: {w}", highlight=False, markup=False)
    if len(summary.warnings) > 20:
        console.print(
            f"… and {len(summary.warnings) - 20} more (see `workbench info {out}`)", highlight=False
        )
