"""The ``workbench`` command line: ``demo``, ``collect``, ``watch``, ``import``, ``info``, ``validate``, ``serve``.

Every command has ``--help``. Errors print one line and exit with status 1 (``--debug`` for
the traceback).
"""

from __future__ import annotations

from workbench.cli import collect as _collect  # noqa: F401  (registers the commands)
from workbench.cli import demo as _demo  # noqa: F401
from workbench.cli import importer as _importer  # noqa: F401
from workbench.cli import info as _info  # noqa: F401
from workbench.cli import report as _report  # noqa: F401
from workbench.cli import serve as _serve  # noqa: F401
from workbench.cli._base import cli

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the command line (the ``workbench`` entry point); returns the exit status."""
    try:
        cli.main(args=argv, prog_name="workbench", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0
