"""A small model of kube-scheduler's filters, enough to place demo pods and to write the
``FailedScheduling`` message exactly as the real scheduler formats it (``FitError.Error()``:
reasons counted per node, ``"%d %s"`` strings sorted, then the preemption post-filter summary).

>>> from workbench.sources.demo.scheduler import NodeView, failure_message
>>> views = [NodeView("a", 4.0, 16 << 30, {}, []), NodeView("b", 4.0, 16 << 30, {}, [])]
>>> failure_message(views, cpu=8.0, memory=0, selector={}, tolerations=[])
'0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.'
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

__all__ = ["NodeView", "failure_message", "node_failures", "tolerates", "pvc_missing_message", "taint_text"]

_NOT_HELPFUL = "Preemption is not helpful for scheduling"
_NO_VICTIMS = "No preemption victims found for incoming pod"


@dataclass
class NodeView:
    """What the scheduler sees of one node at one moment."""

    name: str
    cpu_free: float
    memory_free: int
    labels: dict[str, str]
    taints: list[dict]
    unschedulable: bool = False


def tolerates(tolerations: list[dict], taint: dict) -> bool:
    """``v1.Toleration.ToleratesTaint``: key (or Exists with no key), value, effect."""
    for tol in tolerations:
        if tol.get("effect") and tol["effect"] != taint.get("effect"):
            continue
        if tol.get("key") and tol["key"] != taint.get("key"):
            continue
        if tol.get("operator") == "Exists" or tol.get("value", "") == taint.get("value", ""):
            return True
    return False


def taint_text(taint: dict) -> str:
    """How the TaintToleration plugin prints a taint: ``{key: value}``."""
    return "{" + f"{taint['key']}: {taint.get('value', '')}" + "}"


def node_failures(view: NodeView, *, cpu: float, memory: int, selector: dict[str, str],
                  tolerations: list[dict]) -> tuple[list[str], bool]:  # fmt: skip
    """The reasons one node is filtered out (empty when it fits), in the default plugin order
    (NodeUnschedulable, TaintToleration, NodeAffinity, NodeResourcesFit), stopping at the first
    failing plugin; and whether preemption could help on that node."""
    if view.unschedulable and not tolerates(tolerations, {"key": "node.kubernetes.io/unschedulable",
                                                          "effect": "NoSchedule"}):  # fmt: skip
        return ["node(s) were unschedulable"], False
    for taint in view.taints:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(tolerations, taint):
            return [f"node(s) had untolerated taint {taint_text(taint)}"], False
    if any(view.labels.get(k) != v for k, v in selector.items()):
        return ["node(s) didn't match Pod's node affinity/selector"], False
    reasons = []
    if cpu > view.cpu_free + 1e-9:
        reasons.append("Insufficient cpu")
    if memory > view.memory_free:
        reasons.append("Insufficient memory")
    return reasons, bool(reasons)


def _histogram(counts: Counter[str]) -> str:
    return ", ".join(sorted(f"{n} {reason}" for reason, n in counts.items()))


def failure_message(views: list[NodeView], *, cpu: float, memory: int, selector: dict[str, str],
                    tolerations: list[dict]) -> str | None:  # fmt: skip
    """The scheduler's message when no node fits, or None when one does."""
    reasons: Counter[str] = Counter()
    preempt: Counter[str] = Counter()
    for view in views:
        failed, resources = node_failures(
            view, cpu=cpu, memory=memory, selector=selector, tolerations=tolerations
        )
        if not failed:
            return None
        reasons.update(failed)
        preempt[_NO_VICTIMS if resources else _NOT_HELPFUL] += 1
    n = len(views)
    return (
        f"0/{n} nodes are available: {_histogram(reasons)}. "
        f"preemption: 0/{n} nodes are available: {_histogram(preempt)}."
    )


def pvc_missing_message(n_nodes: int, claim: str) -> str:
    """The VolumeBinding PreFilter rejection: the same status for every node."""
    return (
        f'0/{n_nodes} nodes are available: persistentvolumeclaim "{claim}" not found. '
        f"preemption: 0/{n_nodes} nodes are available: {n_nodes} {_NOT_HELPFUL}."
    )
