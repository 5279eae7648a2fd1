"""``workbench info`` and ``workbench validate``: what a snapshot holds, and whether it is sound."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import polars as pl
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
from rich.table import Table
from rich.text import Text

import workbench
from workbench.analyses.overview import incidents
from workbench.cli._base import cli, err_console, out_console
from workbench.errors import SchemaError, SnapshotError
from workbench.schema import SCHEMAS, TABLES, validate
from workbench.store import Dataset

__all__ = ["info", "snapshot_info", "validate_cmd", "validate_snapshot"]


def _t(value: Any) -> Text:
    """A table cell shown as plain text (cluster strings may contain rich markup such as ``[x]``)."""
    if value is None:
        return Text("–", style="dim")
    if isinstance(value, dt.datetime):
        return Text(value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))
    if isinstance(value, int):
        return Text(f"{value:,}")
    return Text(str(value))


def _table(title: str, columns: list[str], *, right: tuple[str, ...] = ()) -> Table:
    """A rich table whose cells wrap (never cut) in a narrow terminal."""
    table = Table(title=title, title_justify="left")
    for col in columns:
        table.add_column(col, overflow="fold", justify="right" if col in right else "left")
    return table


def _short_time(text: str | None) -> Text:
    if not text:
        return _t(None)
    return Text(dt.datetime.fromisoformat(text).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M"))


def snapshot_info(ds: Dataset) -> dict[str, Any]:
    """What ``workbench info --json`` prints: clusters, window, sources, tables (rows and
    files), warnings and the demo's incidents (``None`` without ground truth)."""
    start, end = ds.window
    tables = {
        t: {"rows": ds.row_counts[t], "files": len(ds.manifest["tables"].get(t, {}).get("files", []))}
        for t in TABLES
        if t in ds.manifest["tables"]
    }
    truth = ds.ground_truth
    inc = None
    if truth is not None:
        frame = incidents(ds)
        inc = [
            {
                **row,
                "start": _iso(row["start"]),
                "end": _iso(row["end"]),
                "details": json.loads(row["details"]),
            }
            for row in frame.iter_rows(named=True)
        ]
    return {
        "path": str(ds.path),
        "schema_version": ds.manifest.get("schema_version"),
        "created_at": ds.manifest.get("created_at"),
        "updated_at": ds.manifest.get("updated_at"),
        "clusters": ds.clusters,
        "window": {"start": _iso(start), "end": _iso(end)},
        "sources": ds.sources,
        "tables": tables,
        "warnings": ds.warnings,
        "incidents": inc,
    }


def _iso(t: dt.datetime | None) -> str | None:
    return None if t is None else t.astimezone(dt.UTC).isoformat()


def _print_info(info: dict[str, Any]) -> None:
    con = out_console()
    con.print(Text.assemble(("snapshot ", "bold"), info["path"]))
    con.print(Text(f"clusters: {', '.join(info['clusters']) or '(none)'}"))
    w = info["window"]
    span = ""
    if w["start"] and w["end"]:
        span = f"  ({dt.datetime.fromisoformat(w['end']) - dt.datetime.fromisoformat(w['start'])})"
    con.print(Text(f"window:   {w['start'] or '?'} → {w['end'] or '?'}{span}"))
    con.print(
        Text(
            f"created:  {info['created_at']}   updated: {info['updated_at']}   "
            f"schema version: {info['schema_version']}"
        )
    )

    if info["sources"]:
        sources = _table("Sources", ["name", "at", "details"])
        for s in info["sources"]:
            details = ", ".join(f"{k}={v}" for k, v in s.items() if k not in ("name", "at"))
            sources.add_row(_t(s.get("name")), _t(s.get("at")), _t(details))
        con.print(sources)

    tables = _table("Tables", ["table", "rows", "files"], right=("rows", "files"))
    for name, entry in info["tables"].items():
        tables.add_row(_t(name), _t(entry["rows"]), _t(entry["files"]))
    con.print(tables)

    if info["warnings"]:
        warns = _table(
            f"Warnings ({len(info['warnings'])}): what the collection missed", ["source", "what", "message"]
        )
        for wr in info["warnings"]:
            warns.add_row(_t(wr.get("source")), _t(wr.get("what")), _t(wr.get("message")))
        con.print(warns)
    else:
        con.print(Text("warnings: none"))

    if info["incidents"] is not None:
        inc = _table(
            f"Incidents ({len(info['incidents'])}, from ground_truth.json)",
            ["id", "kind", "cluster", "namespace", "object", "start (UTC)", "end"],
        )
        for row in info["incidents"]:
            inc.add_row(
                *(_t(row.get(c)) for c in ("id", "kind", "cluster", "namespace", "object")),
                _short_time(row["start"]),
                _short_time(row["end"]),
            )
        con.print(inc)


@cli.command(short_help="Show what a snapshot holds: clusters, window, tables, incidents.")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def info(*, path: Path, as_json: bool) -> None:
    """Show what the snapshot at PATH holds: clusters, window, sources, tables and row counts,
    warnings, and the incidents of a demo snapshot."""
    data = snapshot_info(workbench.open(path))
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        _print_info(data)


def _decode(path: Path) -> None:
    """Read every value of a Parquet file, one batch at a time (bounded memory)."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as f:
        for _batch in f.iter_batches(batch_size=262_144):
            pass


def validate_snapshot(
    ds: Dataset, *, deep: bool = True, on_file: Callable[[Path, int], None] | None = None
) -> list[str]:
    """Every problem found in the snapshot: :meth:`Dataset.check` (file footers, schemas and
    row counts against the manifest), each table's schema as read through polars, the row
    total per table, ``ground_truth.json`` when present, and with ``deep`` every file decoded
    in full (a damaged data page is found only so). ``on_file(path, rows)`` is called after
    each file is decoded (for a progress bar)."""
    problems = list(ds.check())
    for table, entry in ds.manifest["tables"].items():
        if table not in SCHEMAS:
            continue  # check() reported it
        files = entry.get("files", [])
        listed = sum(int(f.get("rows", 0)) for f in files)
        if listed != entry.get("rows", 0):
            problems.append(f"table {table!r}: manifest says {entry.get('rows')} rows, its files {listed}")
        try:
            validate(table, ds.scan(table, latest=False))
        except (SchemaError, SnapshotError) as err:
            problems.append(str(err))
        except (OSError, pl.exceptions.PolarsError) as err:
            problems.append(f"table {table!r} cannot be read ({err})")
        if deep:
            for f in files:
                p = ds.path / f["path"]
                if not p.is_file():
                    continue  # check() reported it
                try:
                    _decode(p)
                except (OSError, ValueError) as err:  # pyarrow's errors derive from these
                    problems.append(f"{p}: cannot be decoded ({err})")
                if on_file is not None:
                    on_file(p, int(f.get("rows", 0)))
    try:
        ds.ground_truth  # noqa: B018 - reading it is the check
    except SnapshotError as err:
        problems.append(str(err))
    return list(dict.fromkeys(problems))


@cli.command("validate", short_help="Check a snapshot's files against its manifest.")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--quick", is_flag=True, help="Read only the files' footers (schema, row counts), not every value."
)
def validate_cmd(*, path: Path, quick: bool) -> None:
    """Check the snapshot at PATH: every file listed in the manifest exists, has the table's
    schema and the row count the manifest says, and (unless --quick) every value decodes.
    Exits 1 and lists the problems if not."""
    ds = workbench.open(path)
    if quick:
        problems = validate_snapshot(ds, deep=False)
    else:
        total = sum(ds.row_counts.values())
        with Progress(
            TextColumn("[bold]validate[/]"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rows]} rows"),
            console=err_console(),
            transient=True,
        ) as progress:
            task = progress.add_task("decode", total=max(total, 1), rows="0")
            done = 0

            def advance(_path: Path, rows: int) -> None:
                nonlocal done
                done += rows
                progress.update(task, completed=done, rows=f"{done:,}")

            problems = validate_snapshot(ds, on_file=advance)
    if problems:
        # plain lines, never wrapped: people grep and copy file names out of them
        click.echo(f"{path}: {len(problems)} problem(s)")
        for p in problems:
            click.echo(f"  - {p}")
        raise click.exceptions.Exit(1)
    click.echo(f"{path}: ok ({sum(ds.row_counts.values()):,} rows in {len(ds.manifest['tables'])} tables)")
