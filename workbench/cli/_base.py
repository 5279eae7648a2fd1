"""The ``workbench`` command group: options every command shares and error handling.

An error prints one line (``Error: …``) and exits with status 1; ``--debug`` shows the
traceback instead. Library warnings (``logging``) go to stderr through rich.
"""

from __future__ import annotations

import logging
from typing import Any

import click
from rich.console import Console
from rich.logging import RichHandler

from workbench import __version__
from workbench.errors import WorkbenchError

__all__ = ["WorkbenchGroup", "cli", "err_console", "out_console"]


def out_console() -> Console:
    """A console on the current stdout for people (tables); made per use, so that the
    terminal width (or ``$COLUMNS``) of this run applies."""
    return Console(highlight=False)


def err_console() -> Console:
    """A console on the current stderr (progress bars, logs)."""
    return Console(stderr=True, highlight=False)


class WorkbenchGroup(click.Group):
    """A click group that turns errors into one clear line (unless ``--debug``)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            err_console().print("interrupted")
            ctx.exit(130)
        except WorkbenchError as err:
            if _debug(ctx):
                raise
            raise click.ClickException(str(err)) from err
        except Exception as err:  # a bug or an environment problem: one line, hint at --debug
            if _debug(ctx):
                raise
            msg = f"{type(err).__name__}: {err} (run `workbench --debug …` for the traceback)"
            raise click.ClickException(msg) from err


def _debug(ctx: click.Context) -> bool:
    root = ctx.find_root()
    return bool(root.params.get("debug"))


def _setup_logging(*, verbose: bool, debug: bool) -> None:
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    handler = RichHandler(console=err_console(), show_time=False, show_path=debug, markup=False)
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, RichHandler)]
    root.addHandler(handler)
    logging.getLogger("workbench").setLevel(level)
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)


@click.group(
    name="workbench",
    cls=WorkbenchGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="workbench")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.option("-v", "--verbose", is_flag=True, help="Show informational logs.")
def cli(*, debug: bool, verbose: bool) -> None:
    """workbench: analyse Kubernetes cluster state, metrics, traces, logs and events from
    snapshots (Parquet folders), in notebooks and dashboards.

    \b
    Start with the demo:
      workbench demo --out data/demo     # generate a demo snapshot with known incidents
      workbench info data/demo           # what it holds
      workbench serve                    # dashboards at http://127.0.0.1:5006/

    Run `workbench COMMAND --help` for a command's options and examples.
    """
    _setup_logging(verbose=verbose, debug=debug)
