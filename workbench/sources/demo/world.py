"""The demo's topology: two clusters (EKS-like and GKE-like) and their nodes.

Node shapes follow the real instance types: capacity as the kubelet reports it, allocatable a
little less (kube-reserved, system-reserved and the eviction threshold taken off), the EKS
pod limit from the instance's ENIs, GKE's 110. ``scale`` multiplies the general-purpose nodes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from workbench.sources.demo.ids import Ids

__all__ = ["Cluster", "Node", "build_clusters", "EKS", "GKE"]

EKS = "eks-prod-us-east-1"
GKE = "gke-prod-europe-west1"

# instance type -> (cpu capacity, memory capacity Ki, cpu allocatable milli, memory allocatable Ki, pods)
_SHAPES: dict[str, tuple[int, int, int, int, int]] = {
    "m5.xlarge": (4, 15896092, 3920, 14747116, 58),
    "m5.2xlarge": (8, 32122564, 7910, 31209668, 58),
    "c5.2xlarge": (8, 15900468, 7910, 14751492, 58),
    "g4dn.xlarge": (4, 16009040, 3920, 15108368, 29),
    "e2-standard-4": (4, 16393220, 3920, 13211140, 110),
    "n2-standard-8": (8, 32882672, 7910, 29286384, 110),
}


@dataclass
class Node:
    """One node as it stands at the start of the window (its changes live in the timeline)."""

    cluster: str
    name: str
    uid: str
    zone: str
    instance_type: str
    pool: str
    internal_ip: str
    external_ip: str | None
    provider_id: str
    created: dt.datetime
    kubelet_version: str
    os_image: str
    kernel: str
    runtime: str
    group: int
    pod_cidr: str | None = None
    taints: list[dict] = field(default_factory=list)
    extra_labels: dict[str, str] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int, int, int]:
        return _SHAPES[self.instance_type]

    @property
    def cpu_capacity(self) -> int:
        return self.shape[0]

    @property
    def cpu_allocatable(self) -> float:
        return self.shape[2] / 1000

    @property
    def memory_capacity(self) -> int:
        return self.shape[1] * 1024

    @property
    def memory_allocatable(self) -> int:
        return self.shape[3] * 1024

    @property
    def pods_allocatable(self) -> int:
        return self.shape[4]

    @property
    def region(self) -> str:
        return self.zone[:-1] if self.cluster == EKS else self.zone.rsplit("-", 1)[0]

    def labels(self) -> dict[str, str]:
        """The node's labels as the cloud's node controller and kubelet set them."""
        arch = {"beta.kubernetes.io/arch": "amd64", "kubernetes.io/arch": "amd64"}
        base = {
            **arch,
            "beta.kubernetes.io/instance-type": self.instance_type,
            "beta.kubernetes.io/os": "linux",
            "failure-domain.beta.kubernetes.io/region": self.region,
            "failure-domain.beta.kubernetes.io/zone": self.zone,
            "kubernetes.io/hostname": self.name,
            "kubernetes.io/os": "linux",
            "node.kubernetes.io/instance-type": self.instance_type,
            "topology.kubernetes.io/region": self.region,
            "topology.kubernetes.io/zone": self.zone,
        }
        if self.cluster == EKS:
            base.update(
                {
                    "eks.amazonaws.com/capacityType": "ON_DEMAND",
                    "eks.amazonaws.com/nodegroup": self.pool,
                    "eks.amazonaws.com/nodegroup-image": "ami-0c1f3b1c2d4e5f678",
                    "k8s.io/cloud-provider-aws": "6a9e5bd2c7f4e1b0a3d8c6f2e9b7a1c4",
                    "topology.k8s.aws/zone-id": {"us-east-1a": "use1-az1", "us-east-1b": "use1-az2"}.get(
                        self.zone, "use1-az4"
                    ),
                }
            )
        else:
            base.update(
                {
                    "cloud.google.com/gke-boot-disk": "pd-balanced",
                    "cloud.google.com/gke-container-runtime": "containerd",
                    "cloud.google.com/gke-nodepool": self.pool,
                    "cloud.google.com/gke-os-distribution": "cos",
                    "cloud.google.com/machine-family": self.instance_type.split("-")[0],
                    "cloud.google.com/private-node": "false",
                    "topology.gke.io/zone": self.zone,
                }
            )
        base.update(self.extra_labels)
        return base


@dataclass
class Cluster:
    """One cluster: its name, flavour, version and nodes."""

    name: str
    flavour: str  # "eks" | "gke"
    version: str
    nodes: list[Node]
    #: per-scale-copy groups of nodes an application copy is placed on
    groups: int = 1
    _by_name: dict[str, Node] = field(default_factory=dict, repr=False, compare=False)

    def node(self, name: str) -> Node:
        if len(self._by_name) != len(self.nodes):
            self._by_name = {n.name: n for n in self.nodes}
        try:
            return self._by_name[name]
        except KeyError:
            msg = f"no node {name!r} in cluster {self.name!r}"
            raise KeyError(msg) from None


def _eks_nodes(ids: Ids, start: dt.datetime, scale: int) -> list[Node]:
    zones = ("us-east-1a", "us-east-1b", "us-east-1c")
    plan = [("ng-general", "m5.xlarge"), ("ng-general", "m5.xlarge"), ("ng-compute", "c5.2xlarge"),
            ("ng-compute", "c5.2xlarge"), ("ng-memory", "m5.2xlarge")]  # fmt: skip
    counters = dict.fromkeys(zones, 0)

    def ip_in(zone: str) -> str:
        # one /19 subnet per zone; addresses handed out in order from a seed-chosen offset
        k = counters[zone] + ids.integer("eks-ip", zone) % 400
        counters[zone] += 1
        return f"10.0.{zones.index(zone) * 32 + k // 250}.{4 + k % 250}"

    nodes: list[Node] = []
    for group in range(scale):
        for i, (pool, itype) in enumerate(plan):
            zone = zones[(i + group) % 3]
            ip = ip_in(zone)
            name = "ip-" + ip.replace(".", "-") + ".ec2.internal"
            nodes.append(_node(ids, EKS, name, zone, itype, pool, ip, None, start, group, i))
    gpu_ip = ip_in("us-east-1c")
    gpu = _node(ids, EKS, "ip-" + gpu_ip.replace(".", "-") + ".ec2.internal", "us-east-1c", "g4dn.xlarge",
                "ng-gpu", gpu_ip, None, start, 0, 99)  # fmt: skip
    gpu.taints = [{"effect": "NoSchedule", "key": "dedicated", "value": "gpu"}]
    gpu.extra_labels = {"nvidia.com/gpu.present": "true", "dedicated": "gpu"}
    nodes.append(gpu)
    return nodes


def _gke_nodes(ids: Ids, start: dt.datetime, scale: int) -> list[Node]:
    zones = ("europe-west1-b", "europe-west1-c", "europe-west1-d")
    plan = [("default-pool", "e2-standard-4"), ("default-pool", "e2-standard-4"),
            ("default-pool", "e2-standard-4"), ("highmem-pool", "n2-standard-8")]  # fmt: skip
    nodes: list[Node] = []
    for group in range(scale):
        for i, (pool, itype) in enumerate(plan):
            zone = zones[i % 3]
            igm = ids.hex("gke-igm", pool, zone, length=8)
            name = f"gke-prod-{pool}-{igm}-{ids.suffix('gke-node', group, i, length=4)}"
            n = group * len(plan) + i
            ip = f"10.132.{n // 250}.{2 + n % 250}"
            ext = f"34.{76 + ids.integer('gke-ext', n) % 100}.{ids.integer('gke-ext3', n) % 256}.{1 + ids.integer('gke-ext4', n) % 254}"
            node = _node(ids, GKE, name, zone, itype, pool, ip, ext, start, group, i)
            node.pod_cidr = f"10.{8 + n // 256}.{n % 256}.0/24"
            nodes.append(node)
    return nodes


def _node(ids: Ids, cluster: str, name: str, zone: str, itype: str, pool: str, ip: str, ext: str | None,
          start: dt.datetime, group: int, i: int) -> Node:  # fmt: skip
    age = dt.timedelta(
        days=3 + ids.integer("node-age", cluster, name) % 20, seconds=ids.integer("s", name) % 86400
    )
    if cluster == EKS:
        instance = "i-0" + ids.hex("instance", name, length=16)
        provider = f"aws:///{zone}/{instance}"
        version, osi = "v1.30.4-eks-a737599", "Amazon Linux 2023.5.20240916"
        kernel, runtime = "6.1.109-118.189.amzn2023.x86_64", "containerd://1.7.22"
    else:
        provider = f"gce://shop-prod-431207/{zone}/{name}"
        version, osi = "v1.30.5-gke.1014001", "Container-Optimized OS from Google"
        kernel, runtime = "6.1.100+", "containerd://1.7.22"
    return Node(
        cluster=cluster, name=name, uid=ids.uid("Node", cluster, name), zone=zone, instance_type=itype,
        pool=pool, internal_ip=ip, external_ip=ext, provider_id=provider, created=start - age,
        kubelet_version=version, os_image=osi, kernel=kernel, runtime=runtime, group=group,
    )  # fmt: skip


def build_clusters(ids: Ids, *, start: dt.datetime, scale: int) -> list[Cluster]:
    """The two demo clusters with ``scale`` groups of general-purpose nodes each."""
    return [
        Cluster(EKS, "eks", "v1.30.4-eks-a737599", _eks_nodes(ids, start, scale), groups=scale),
        Cluster(GKE, "gke", "v1.30.5-gke.1014001", _gke_nodes(ids, start, scale), groups=scale),
    ]
