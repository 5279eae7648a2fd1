"""Kubernetes manifests → snapshot tables, and what kubectl would show for them.

>>> from workbench.kube import normalize
>>> tables = normalize([{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
...     "status": {"allocatable": {"cpu": "3500m", "memory": "7Gi"}}}], cluster="c1")
>>> tables["nodes"].select("name", "status", "cpu_allocatable", "memory_allocatable").row(0)
('n1', 'Unknown', 3.5, 7516192768)
"""

from workbench.kube._common import parse_json
from workbench.kube.kinds import expand, infer_kind, looks_like_object
from workbench.kube.normalize import NORMALIZED_TABLES, Normalizer, load_kernels, normalize, normalize_json
from workbench.kube.status import PodSummary, node_status, pod_reason, pod_status, pod_summary, qos_class

__all__ = [
    "NORMALIZED_TABLES",
    "Normalizer",
    "PodSummary",
    "expand",
    "infer_kind",
    "load_kernels",
    "looks_like_object",
    "node_status",
    "normalize",
    "normalize_json",
    "parse_json",
    "pod_reason",
    "pod_status",
    "pod_summary",
    "qos_class",
]
