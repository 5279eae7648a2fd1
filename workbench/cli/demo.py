"""``workbench demo``: generate the demo snapshot (a simulated cluster with known incidents)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from numbers import Real
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from workbench.cli._base import cli, err_console, out_console
from workbench.errors import WorkbenchError

__all__ = ["demo", "generate_demo"]

log = logging.getLogger(__name__)


def _generator() -> Callable[..., Any]:
    """``workbench.sources.demo.generate``, imported only when needed."""
    try:
        from workbench.sources import demo as demo_source
    except ImportError as err:
        msg = f"the demo simulator cannot be loaded (workbench.sources.demo: {err}); reinstall workbench"
        raise WorkbenchError(msg) from err
    generate = getattr(demo_source, "generate", None)
    if generate is None:
        msg = "the demo simulator is not available in this installation (workbench.sources.demo has no generate())"
        raise WorkbenchError(msg)
    return generate


class _Bar:
    """A progress callback for the demo generator, drawn as a rich progress bar.

    Accepts the usual shapes: ``(done, total)``, ``(done, total, message)``, ``(fraction,)``,
    ``(message, fraction)`` or keywords ``done=``, ``total=``, ``fraction=``, ``message=``."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("starting", total=1.0)

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        numbers = [a for a in args if isinstance(a, Real) and not isinstance(a, bool)]
        texts = [a for a in args if isinstance(a, str)]
        message = (
            kwargs.get("message")
            or kwargs.get("stage")
            or kwargs.get("step")
            or (texts[0] if texts else None)
        )
        done, total = kwargs.get("done"), kwargs.get("total")
        fraction = kwargs.get("fraction")
        if done is None and len(numbers) >= 2:
            done, total = numbers[0], numbers[1]
        elif fraction is None and len(numbers) == 1:
            fraction = numbers[0]
        update: dict[str, Any] = {}
        if done is not None and total:
            update = {"completed": float(done), "total": float(total)}
        elif fraction is not None:
            update = {"completed": min(max(float(fraction), 0.0), 1.0), "total": 1.0}
        if message:
            update["description"] = str(message)
        self.progress.update(self.task, **update)

    def finish(self) -> None:
        total = self.progress.tasks[0].total or 1.0
        self.progress.update(self.task, completed=total, description="done")


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]demo[/] {task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=err_console(),
        transient=False,
    )


def generate_demo(
    out: Path,
    *,
    scale: int = 1,
    seed: int = 0,
    hours: float = 6,
    start: dt.datetime | None = None,
    force: bool = False,
) -> Path:
    """Generate the demo snapshot at ``out`` with a progress bar; with ``force`` an existing
    snapshot there is replaced (only once the new one is complete: the store writes it beside
    the old one and renames it into place)."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        msg = f"{out} already exists; use --force to overwrite it, or choose another --out"
        raise WorkbenchError(msg)
    generate = _generator()
    kwargs: dict[str, Any] = {"scale": scale, "seed": seed, "hours": hours, "overwrite": force}
    if start is not None:
        kwargs["start"] = start
    began = time.monotonic()
    with _progress() as progress:
        bar = _Bar(progress)
        generate(out, progress=bar, **kwargs)
        bar.finish()
    log.info("demo snapshot written to %s in %.1fs", out, time.monotonic() - began)
    return out


@cli.command(short_help="Generate a demo snapshot: simulated clusters, known incidents.")
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    default=Path("data/demo"),
    show_default=True,
    help="Folder to write the snapshot to.",
)
@click.option(
    "--scale",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Copies of the application namespaces, each on its own nodes (1: about 150 pods in two clusters; "
    "100: about 12,000 pods and 300 M metric samples, streamed to disk in about 1 GB of memory).",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Random seed; the same seed gives the same snapshot.",
)
@click.option(
    "--hours",
    type=click.FloatRange(min=0.25, max=24 * 7),
    default=6,
    show_default=True,
    help="Length of the simulated window in hours.",
)
@click.option(
    "--start",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]),
    default=None,
    help="Start of the window (UTC unless an offset is given); default: the simulator's.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing snapshot at --out.")
def demo(*, out: Path, scale: int, seed: int, hours: float, start: dt.datetime | None, force: bool) -> None:
    """Generate the demo snapshot: a simulated cluster with known incidents (ground_truth.json).

    \b
    Example:
      workbench demo --out data/demo --hours 2
      workbench demo --out /tmp/big --scale 100     # for benchmarks: several minutes
    """
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=dt.UTC)
    generate_demo(out, scale=scale, seed=seed, hours=hours, start=start, force=force)
    out_console().print(Text(f"demo snapshot written to {out} (see `workbench info {out}`)"))
