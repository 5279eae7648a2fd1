"""The errors workbench raises. Every message says what happened and what to do next."""

from __future__ import annotations

__all__ = [
    "InputError",
    "ParameterError",
    "SchemaError",
    "SnapshotError",
    "SourceError",
    "WorkbenchError",
]


class WorkbenchError(Exception):
    """Base class of every error raised by workbench."""


class SchemaError(WorkbenchError):
    """A table does not have the columns or types of the snapshot schema."""


class SnapshotError(WorkbenchError):
    """A snapshot folder is missing, corrupt, or from a newer workbench."""


class SourceError(WorkbenchError):
    """A source (cluster, Prometheus, file) could not be read at all."""


class InputError(WorkbenchError):
    """A file or document could not be parsed; the message names the file and the position."""


class ParameterError(WorkbenchError, ValueError):
    """An analysis or command parameter is out of range or names nothing that exists."""
