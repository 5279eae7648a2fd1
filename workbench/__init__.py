"""workbench: a notebook-based analysis workbench for Kubernetes observability.

>>> import workbench as wb
>>> ds = wb.open("data/demo")            # doctest: +SKIP
>>> ds.pods(namespace="shop")            # doctest: +SKIP
"""

from workbench.errors import (
    InputError,
    ParameterError,
    SchemaError,
    SnapshotError,
    SourceError,
    WorkbenchError,
)
from workbench.schema import SCHEMA_VERSION
from workbench.store import Dataset, SnapshotWriter, open_snapshot

__all__ = [
    "SCHEMA_VERSION",
    "Dataset",
    "InputError",
    "ParameterError",
    "SchemaError",
    "SnapshotError",
    "SnapshotWriter",
    "SourceError",
    "WorkbenchError",
    "__version__",
    "open",
]

__version__ = "0.1.0"


def open(path: str) -> Dataset:  # noqa: A001 - the notebook API reads best as wb.open(...)
    """Open a snapshot folder for reading; see :class:`workbench.Dataset`."""
    return open_snapshot(path)
