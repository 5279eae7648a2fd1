"""workbench: a notebook-based analysis workbench for Kubernetes observability.

>>> import workbench as wb
>>> ds = wb.open("data/demo")
>>> ds.clusters
['eks-prod-us-east-1', 'gke-prod-europe-west1']
>>> pods = ds.pods(namespace="shop", workload="Deployment/checkout")
>>> pods.select("name", "status", "ready_time").height > 0     # kubectl's STATUS, typed times…
True
>>> ds.metrics(metric="container_memory_working_set_bytes", pod=pods["name"][0]).columns
['cluster', 'metric', 'namespace', 'pod', 'container', 'node', 'labels', 'ts', 'value']
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
    "analyses",
    "open",
    "ui",
    "viz",
]

__version__ = "0.1.0"


_LAZY = ("analyses", "viz", "ui", "schema")


def __getattr__(name: str):  # noqa: ANN202 - module attributes loaded on first use
    """``wb.analyses``, ``wb.viz`` and ``wb.ui`` load on first use (Panel is heavy to import)."""
    if name in _LAZY:
        import importlib

        return importlib.import_module(f"workbench.{name}")
    msg = f"module 'workbench' has no attribute {name!r}"
    raise AttributeError(msg)


def open(path: str) -> Dataset:  # noqa: A001 - the notebook API reads best as wb.open(...)
    """Open a snapshot folder for reading; see :class:`workbench.Dataset`."""
    return open_snapshot(path)
