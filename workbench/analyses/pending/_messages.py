"""Reading kube-scheduler's verdicts: ``PodScheduled`` messages and ``FailedScheduling`` events,
and the ``exceeded quota`` refusals of ReplicaSet/Job ``FailedCreate`` events.

The scheduler prints one count per reason (``FitError.Error()``: ``"0/6 nodes are available:
1 node(s) had untolerated taint {dedicated: gpu}, 3 Insufficient memory, 4 Insufficient cpu.
preemption: 0/6 nodes are available: 2 Preemption is not helpful for scheduling, 4 No
preemption victims found for incoming pod."``). Older schedulers (≤ 1.22) wrote taints as
``had taint {k: v}, that the pod didn't tolerate``; a PreFilter rejection (a missing PVC) has
no count and applies to every node.

>>> m = parse_message("0/6 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, "
...                   "3 Insufficient memory, 4 Insufficient cpu. preemption: 0/6 nodes are available: "
...                   "6 No preemption victims found for incoming pod.")
>>> m.nodes_total, m.primary, [(r.category, r.nodes) for r in m.reasons]
(6, 'insufficient_cpu', [('untolerated_taint', 1), ('insufficient_memory', 3), ('insufficient_cpu', 4)])
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "CATEGORIES",
    "RESOURCE_CATEGORIES",
    "ParsedMessage",
    "Reason",
    "parse_message",
    "parse_quota_message",
]

#: Reason categories, in the order that breaks ties between equal node counts.
CATEGORIES: tuple[str, ...] = (
    "insufficient_cpu",
    "insufficient_memory",
    "insufficient_resource",
    "too_many_pods",
    "host_ports",
    "pvc_missing",
    "pvc_unbound",
    "volume",
    "pod_affinity",
    "topology_spread",
    "untolerated_taint",
    "node_unschedulable",
    "node_not_ready",
    "node_selector",
    "quota_exceeded",
    "scheduling_gated",
    "other",
)

#: Categories a bigger node (or smaller requests) would solve.
RESOURCE_CATEGORIES: frozenset[str] = frozenset(
    {"insufficient_cpu", "insufficient_memory", "insufficient_resource", "too_many_pods"}
)

_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("insufficient_cpu", re.compile(r"^Insufficient cpu$", re.I)),
    ("insufficient_memory", re.compile(r"^Insufficient memory$", re.I)),
    ("insufficient_resource", re.compile(r"^Insufficient (?P<detail>\S+)$", re.I)),
    ("too_many_pods", re.compile(r"Too many pods", re.I)),
    ("host_ports", re.compile(r"free ports", re.I)),
    ("untolerated_taint", re.compile(
        r"had untolerated taints?(?:\(s\))?\s*(?P<detail>\{.*\})?|had taints? (?P<detail2>\{.*?\}), that the pod didn't tolerate",
        re.I)),
    ("node_unschedulable", re.compile(r"were unschedulable|node\(s\) were cordoned", re.I)),
    ("node_not_ready", re.compile(r"not ready|NotReady|unreachable", re.I)),
    ("node_selector", re.compile(r"didn't match (?:Pod's )?node (?:affinity|selector)|node affinity/selector|"
                                 r"didn't match node selector|MatchNodeSelector", re.I)),
    ("pod_affinity", re.compile(r"pod (?:anti-)?affinity|anti-affinity|affinity rules", re.I)),
    ("topology_spread", re.compile(r"topology spread", re.I)),
    ("pvc_missing", re.compile(r'persistentvolumeclaim "(?P<detail>[^"]+)" (?:not found|is being deleted|'
                               r"bound to non-existent)", re.I)),
    ("pvc_unbound", re.compile(r"unbound (?:immediate )?PersistentVolumeClaims|didn't find available persistent "
                               r"volumes|waiting for first consumer|pvc .* not bound", re.I)),
    ("volume", re.compile(r"volume node affinity conflict|max volume count|volume", re.I)),
    ("quota_exceeded", re.compile(r"exceeded quota", re.I)),
    ("scheduling_gated", re.compile(r"scheduling ?gate", re.I)),
)  # fmt: skip

_HEAD = re.compile(r"^\s*(?P<avail>\d+)/(?P<total>\d+) nodes are available:?\s*(?P<body>.*)$", re.S)
_NO_NODES = re.compile(r"no nodes available to schedule pods", re.I)
_SPLIT = re.compile(r",\s+(?=\d+ )")
_COUNTED = re.compile(r"^(?P<n>\d+) (?P<text>.+)$", re.S)
_PREEMPTION = re.compile(r"\bpreemption:\s*", re.I)
_QUOTA = re.compile(
    r'pods "(?P<pod>[^"]*)" is forbidden: exceeded quota: (?P<quota>[^,]+), requested: (?P<requested>.*?), '
    r"used: (?P<used>.*?), limited: (?P<limited>.*?)$",
    re.S,
)


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason of a scheduler message: its category, how many nodes gave it, the detail
    (the taint, the resource, the claim) and the text as printed."""

    category: str
    nodes: int | None
    detail: str | None
    text: str


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """A scheduler message taken apart.

    ``primary`` is the category with the most nodes; nodes that did not match the pod's node
    selector or affinity count only when no other reason is given (the pod never wanted them, so
    the reason the nodes it wanted refused it is the one to act on). Ties go to the category
    listed first in :data:`CATEGORIES`.
    """

    message: str
    nodes_total: int | None
    reasons: tuple[Reason, ...] = ()
    preemption: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def categories(self) -> list[str]:
        """The distinct categories, primary first."""
        seen: list[str] = [self.primary] if self.primary else []
        for r in self.reasons:
            if r.category not in seen:
                seen.append(r.category)
        return seen

    @property
    def primary(self) -> str | None:
        if not self.reasons:
            return None
        counts: dict[str, int] = {}
        for r in self.reasons:
            counts[r.category] = counts.get(r.category, 0) + (
                r.nodes if r.nodes is not None else self.nodes_total or 1
            )
        pool = {c: n for c, n in counts.items() if c != "node_selector"} or counts
        return min(pool, key=lambda c: (-pool[c], CATEGORIES.index(c)))


def classify(text: str) -> tuple[str, str | None]:
    """The category and detail of one reason text (``"Insufficient cpu"``, ``"node(s) had
    untolerated taint {dedicated: gpu}"``…)."""
    body = text.strip().rstrip(".").strip()
    for category, rule in _RULES:
        m = rule.search(body)
        if m:
            groups = {k: v for k, v in m.groupdict().items() if v}
            detail = groups.get("detail") or groups.get("detail2")
            return category, detail
    return "other", None


def parse_message(message: str | None) -> ParsedMessage:
    """Take a PodScheduled message or FailedScheduling event message apart (see the module doc).

    Text that is not in the scheduler's format becomes one reason with no node count."""
    text = (message or "").strip()
    if not text:
        return ParsedMessage(message=text, nodes_total=None)
    if _NO_NODES.search(text):
        return ParsedMessage(
            message=text, nodes_total=0, reasons=(Reason("other", 0, None, "no nodes available"),)
        )
    head = _HEAD.match(text)
    if head is None:
        category, detail = classify(text)
        return ParsedMessage(message=text, nodes_total=None, reasons=(Reason(category, None, detail, text),))
    total = int(head["total"])
    body = head["body"]
    preemption = None
    split = _PREEMPTION.search(body)
    if split:
        body, after = body[: split.start()], body[split.end() :]
        preemption = _preemption_text(after)
    body = body.strip()
    stop = re.search(r"\.\s+", body)
    main, rest = (body[: stop.start()], body[stop.end() :]) if stop else (body, "")
    notes = tuple(
        n.strip().rstrip(",.").strip() for n in re.split(r"\.\s+", rest) if n.strip().rstrip(",.").strip()
    )
    reasons = []
    for item in _SPLIT.split(main.strip().rstrip(".")):
        item = item.strip().rstrip(".,").strip()
        if not item:
            continue
        counted = _COUNTED.match(item)
        nodes, reason_text = (int(counted["n"]), counted["text"]) if counted else (total, item)
        category, detail = classify(reason_text)
        reasons.append(Reason(category, nodes, detail, reason_text))
    return ParsedMessage(
        message=text, nodes_total=total, reasons=tuple(reasons), preemption=preemption, notes=notes
    )


def _preemption_text(after: str) -> str:
    """``"0/6 nodes are available: 2 Preemption is not helpful…"`` → the part after the colon."""
    m = _HEAD.match(after.strip())
    return (m["body"] if m else after).strip().rstrip(".").strip()


@dataclass(frozen=True, slots=True)
class QuotaRefusal:
    """A pod creation refused by a ResourceQuota (from a FailedCreate event)."""

    pod: str | None
    quota: str
    requested: str
    used: str
    limited: str

    @property
    def detail(self) -> str:
        return f"{self.quota}: requested {self.requested}, used {self.used}, limited {self.limited}"


def parse_quota_message(message: str | None) -> QuotaRefusal | None:
    """The refused pod and the quota numbers of an ``exceeded quota`` FailedCreate message.

    >>> parse_quota_message('Error creating: pods "w-1" is forbidden: exceeded quota: q, '
    ...     'requested: requests.cpu=1, used: requests.cpu=2, limited: requests.cpu=2').quota
    'q'
    """
    m = _QUOTA.search(message or "")
    if m is None:
        return None
    return QuotaRefusal(m["pod"] or None, m["quota"].strip(), m["requested"].strip(), m["used"].strip(),
                        m["limited"].strip())  # fmt: skip
