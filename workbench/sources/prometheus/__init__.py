"""Metrics from Prometheus-compatible servers (Prometheus, Thanos, Mimir, VictoriaMetrics) and
from exposition files (Prometheus text format, OpenMetrics).

>>> from workbench.sources.prometheus import PrometheusSettings, collect_prometheus
>>> settings = PrometheusSettings.from_env(url="http://localhost:9090")        # doctest: +SKIP
>>> with SnapshotWriter("data/prod") as w:                                     # doctest: +SKIP
...     collect_prometheus(w, settings, start="2026-11-01T00:00Z", end="2026-11-02T00:00Z")

What is collected and how it is named: :mod:`workbench.sources.prometheus.catalogue`.
"""

from workbench.sources.prometheus._frame import WIDE_SCHEMA
from workbench.sources.prometheus.catalogue import CATALOGUE, FAMILIES, QuerySpec, spec
from workbench.sources.prometheus.client import (
    PrometheusClient,
    PrometheusQueryError,
    PrometheusUnavailable,
    choose_step,
    plan_chunks,
)
from workbench.sources.prometheus.collect import (
    ChunkProgress,
    CollectStats,
    collect_prometheus,
    matrix_to_wide,
)
from workbench.sources.prometheus.exposition import (
    ExpositionProblem,
    import_exposition,
    parse_exposition,
    read_exposition,
)
from workbench.sources.prometheus.settings import PrometheusSettings

__all__ = [
    "CATALOGUE",
    "FAMILIES",
    "WIDE_SCHEMA",
    "ChunkProgress",
    "CollectStats",
    "ExpositionProblem",
    "PrometheusClient",
    "PrometheusQueryError",
    "PrometheusSettings",
    "PrometheusUnavailable",
    "QuerySpec",
    "choose_step",
    "collect_prometheus",
    "import_exposition",
    "matrix_to_wide",
    "parse_exposition",
    "plan_chunks",
    "read_exposition",
    "spec",
]
