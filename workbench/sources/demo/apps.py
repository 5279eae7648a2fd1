"""What runs on the demo clusters: the ``shop`` application, system add-ons, batch jobs, and
the workloads that carry incidents. Requests and limits vary so that all three QoS classes occur.

Resource usage (``cpu``, ``mem``) is the mean a container uses when healthy; the metric
generator adds noise, daily shape and incident behaviour on top.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from workbench.sources.demo.ids import quantity_bytes, quantity_cores
from workbench.sources.demo.world import EKS

__all__ = ["AppSpec", "ContainerSpec", "apps_for", "container", "Mi", "SHOP_CALLS", "ECR", "GAR"]

ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
GAR = "europe-west1-docker.pkg.dev/shop-prod-431207/shop"

Mi = 1024**2


@dataclass(frozen=True)
class ContainerSpec:
    """One container of a pod template."""

    name: str
    image: str
    requests: dict[str, str] = field(default_factory=dict)
    limits: dict[str, str] = field(default_factory=dict)
    port: int | None = None
    readiness: str | None = None  # HTTP path of the readiness probe
    liveness: str | None = None
    cpu: float = 0.02  # healthy mean usage, cores
    mem: int = 48 * Mi  # healthy working set, bytes
    log_format: str | None = None  # "json" | "logfmt" | "plain" | None (silent)
    command: tuple[str, ...] = ()

    @property
    def cpu_request(self) -> float | None:
        return quantity_cores(self.requests.get("cpu"))

    @property
    def cpu_limit(self) -> float | None:
        return quantity_cores(self.limits.get("cpu"))

    @property
    def mem_request(self) -> int | None:
        return quantity_bytes(self.requests.get("memory"))

    @property
    def mem_limit(self) -> int | None:
        return quantity_bytes(self.limits.get("memory"))


@dataclass(frozen=True)
class AppSpec:
    """One workload (and its Service) in one namespace."""

    name: str
    namespace: str
    kind: str  # Deployment | StatefulSet | DaemonSet | Job | CronJob
    replicas: int
    containers: tuple[ContainerSpec, ...]
    init_containers: tuple[ContainerSpec, ...] = ()
    service: str | None = None  # ClusterIP | NodePort | LoadBalancer | Headless
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: tuple[dict, ...] = ()
    claim: str | None = None  # a PVC a Deployment mounts
    volume_claim: str | None = None  # StatefulSet volumeClaimTemplate size
    priority_class: str | None = None
    schedule: str | None = None  # CronJob
    system: bool = False  # an add-on: kube-system or monitoring
    component: str | None = None  # app.kubernetes.io/component
    part_of: str = "shop"
    incident: str | None = None  # which incident this workload exists for
    hpa: tuple[int, int, int] | None = None  # min, max, target CPU %
    sa: str = "default"
    #: of ``replicas``, how many are placed after every other workload of the cluster (the
    #: replicas added when the demo grew to ~150 pods: the older pods keep their nodes)
    late: int = 0

    @property
    def labels(self) -> dict[str, str]:
        if self.system:
            key = "k8s-app"
            return {key: "kube-dns" if self.name == "coredns" else self.name}
        return {
            "app": self.name,
            "app.kubernetes.io/name": self.name,
            "app.kubernetes.io/part-of": self.part_of,
        }

    @property
    def selector(self) -> dict[str, str]:
        return {"k8s-app": self.labels["k8s-app"]} if self.system else {"app": self.name}

    def in_namespace(self, namespace: str) -> AppSpec:
        return replace(self, namespace=namespace)


def container(name: str, image: str, cpu_req: str | None, mem_req: str | None, cpu_lim: str | None,
              mem_lim: str | None, **kw: object) -> ContainerSpec:  # fmt: skip
    """A container with its requests and limits as quantity texts (None: not set)."""
    req = {k: v for k, v in (("cpu", cpu_req), ("memory", mem_req)) if v}
    lim = {k: v for k, v in (("cpu", cpu_lim), ("memory", mem_lim)) if v}
    return ContainerSpec(name=name, image=image, requests=req, limits=lim, **kw)  # type: ignore[arg-type]


_c = container


#: Who calls whom in the shop (service -> downstream services), used by traces.
SHOP_CALLS: dict[str, tuple[str, ...]] = {
    "frontend": ("catalogue", "cart", "checkout", "recommendation"),
    "checkout": ("cart", "payment", "shipping", "orders-db"),
    "cart": ("redis",),
    "catalogue": ("orders-db",),
    "payment": ("payment-gateway",),
    "shipping": ("orders-db",),
    "recommendation": ("catalogue",),
}


def _shop(reg: str, *, eks: bool) -> list[AppSpec]:
    r = (lambda a, b: a) if eks else (lambda a, b: b)  # noqa: E731 - replicas per flavour
    web = {"readiness": "/healthz", "liveness": "/healthz"}
    return [
        AppSpec(
            "frontend",
            "shop",
            "Deployment",
            r(6, 3),
            (
                _c(
                    "frontend",
                    f"{reg}/frontend:2.14.1",
                    "250m",
                    "256Mi",
                    "1",
                    "512Mi",
                    port=8080,
                    cpu=0.18,
                    mem=190 * Mi,
                    log_format="json",
                    **web,
                ),
            ),
            service="LoadBalancer",
            hpa=(r(4, 2), 10, 70),
            component="web",
            late=r(2, 1),
        ),
        AppSpec(
            "catalogue",
            "shop",
            "Deployment",
            r(4, 3),
            (
                _c(
                    "catalogue",
                    f"{reg}/catalogue:1.22.0",
                    "200m",
                    "128Mi",
                    "500m",
                    "256Mi",
                    port=8080,
                    cpu=0.08,
                    mem=96 * Mi,
                    log_format="json",
                    **web,
                ),
            ),
            service="ClusterIP",
            late=1,
        ),
        AppSpec(
            "cart",
            "shop",
            "Deployment",
            r(3, 2),
            (
                _c(
                    "cart",
                    f"{reg}/cart:3.4.2",
                    "100m",
                    "128Mi",
                    "500m",
                    "256Mi",
                    port=8080,
                    cpu=0.06,
                    mem=110 * Mi,
                    log_format="logfmt",
                    **web,
                ),
            ),
            service="ClusterIP",
            late=r(0, 1),
        ),
        AppSpec(
            "checkout",
            "shop",
            "Deployment",
            r(3, 3),
            (
                _c(
                    "checkout",
                    f"{reg}/checkout:1.8.2",
                    "250m",
                    "256Mi",
                    "1",
                    "512Mi",
                    port=8080,
                    cpu=0.09,
                    mem=180 * Mi,
                    log_format="json",
                    **web,
                ),
            ),
            service="ClusterIP",
            late=r(0, 1),
        ),
        AppSpec(
            "payment",
            "shop",
            "Deployment",
            r(3, 2),
            (
                _c(
                    "payment",
                    f"{reg}/payment:0.9.7",
                    "250m",
                    "256Mi",
                    "250m",
                    "256Mi",
                    port=8080,
                    cpu=0.05,
                    mem=120 * Mi,
                    log_format="logfmt",
                    **web,
                ),
            ),
            service="NodePort",
            late=1,
        ),
        AppSpec(
            "shipping",
            "shop",
            "Deployment",
            r(3, 2),
            (
                _c(
                    "shipping",
                    f"{reg}/shipping:2.0.4",
                    "100m",
                    "128Mi",
                    None,
                    None,
                    port=8080,
                    cpu=0.03,
                    mem=80 * Mi,
                    log_format="json",
                    **web,
                ),
            ),
            service="ClusterIP",
            late=1,
        ),
        AppSpec(
            "recommendation",
            "shop",
            "Deployment",
            r(2, 2),
            (
                _c(
                    "recommendation",
                    f"{reg}/recommendation:4.1.0",
                    "500m",
                    "1Gi",
                    "2",
                    "1536Mi",
                    port=8080,
                    cpu=0.22,
                    mem=780 * Mi,
                    log_format="plain",
                    readiness="/actuator/health/readiness",
                    liveness="/actuator/health/liveness",
                ),
            ),
            service="ClusterIP",
            hpa=(r(2, 1), 6, 75),
            component="jvm",
            late=r(0, 1),
        ),
        AppSpec(
            "redis",
            "shop",
            "Deployment",
            1,
            (
                _c(
                    "redis",
                    "redis:7.2.5-alpine",
                    "200m",
                    "512Mi",
                    "200m",
                    "512Mi",
                    port=6379,
                    cpu=0.04,
                    mem=210 * Mi,
                ),
            ),
            service="ClusterIP",
            component="cache",
        ),
        AppSpec(
            "orders-db",
            "shop",
            "StatefulSet",
            r(2, 1),
            (_c("postgres", "postgres:16.4", "500m", "1Gi", "1", "2Gi", port=5432, cpu=0.12, mem=900 * Mi),),
            service="Headless",
            volume_claim="20Gi",
            component="database",
            node_selector={"eks.amazonaws.com/nodegroup": "ng-memory"} if eks else {},
        ),
        AppSpec(
            "report-generator",
            "shop",
            "CronJob",
            1,
            (
                _c(
                    "report",
                    f"{reg}/report-generator:1.3.0",
                    None,
                    None,
                    None,
                    None,
                    cpu=0.35,
                    mem=140 * Mi,
                    command=("python", "-m", "reports.daily"),
                ),
            ),
            schedule="*/30 * * * *",
        ),
        AppSpec(
            "db-migrate",
            "shop",
            "Job",
            1,
            (
                _c(
                    "migrate",
                    f"{reg}/checkout:1.8.2",
                    "100m",
                    "128Mi",
                    None,
                    "256Mi",
                    cpu=0.2,
                    mem=90 * Mi,
                    command=("/app/migrate", "up"),
                ),
            ),
        ),
    ]


def _system(*, eks: bool) -> list[AppSpec]:
    sys_tol = ({"operator": "Exists"},)
    apps = [
        AppSpec(
            "kube-proxy",
            "kube-system",
            "DaemonSet",
            1,
            (
                _c(
                    "kube-proxy",
                    "602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/kube-proxy:v1.30.3-minimal-eksbuild.5"
                    if eks
                    else "gke.gcr.io/kube-proxy-amd64:v1.30.5-gke.1014001",
                    "100m",
                    None,
                    None,
                    None,
                    cpu=0.01,
                    mem=28 * Mi,
                ),
            ),
            tolerations=sys_tol,
            system=True,
            priority_class="system-node-critical",
        ),
        AppSpec(
            "coredns",
            "kube-system",
            "Deployment",
            2,
            (
                _c(
                    "coredns",
                    "602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/coredns:v1.11.3-eksbuild.1"
                    if eks
                    else "registry.k8s.io/coredns/coredns:v1.11.3",
                    "100m",
                    "70Mi",
                    None,
                    "170Mi",
                    port=53,
                    cpu=0.006,
                    mem=24 * Mi,
                    readiness="/ready",
                    liveness="/health",
                ),
            ),
            service="ClusterIP",
            system=True,
            priority_class="system-cluster-critical",
        ),
        AppSpec(
            "metrics-server",
            "kube-system",
            "Deployment",
            1,
            (
                _c(
                    "metrics-server",
                    "registry.k8s.io/metrics-server/metrics-server:v0.7.2",
                    "100m",
                    "200Mi",
                    None,
                    None,
                    port=10250,
                    cpu=0.008,
                    mem=42 * Mi,
                ),
            ),
            service="ClusterIP",
            system=True,
            priority_class="system-cluster-critical",
        ),
        AppSpec(
            "node-agent",
            "monitoring",
            "DaemonSet",
            1,
            (
                _c(
                    "node-exporter",
                    "quay.io/prometheus/node-exporter:v1.8.2",
                    "50m",
                    "64Mi",
                    "200m",
                    "128Mi",
                    port=9100,
                    cpu=0.012,
                    mem=22 * Mi,
                ),
                _c(
                    "fluent-bit",
                    "cr.fluentbit.io/fluent/fluent-bit:3.1.9",
                    "50m",
                    "64Mi",
                    "200m",
                    "256Mi",
                    cpu=0.02,
                    mem=40 * Mi,
                ),
            ),
            tolerations=sys_tol,
            system=True,
        ),
        AppSpec(
            "kube-state-metrics",
            "monitoring",
            "Deployment",
            1,
            (
                _c(
                    "kube-state-metrics",
                    "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0",
                    "10m",
                    "190Mi",
                    None,
                    "250Mi",
                    port=8080,
                    cpu=0.01,
                    mem=60 * Mi,
                ),
            ),
            service="ClusterIP",
            system=True,
        ),
    ]
    if eks:
        apps.insert(1, AppSpec("aws-node", "kube-system", "DaemonSet", 1, (
            _c("aws-node", "602401143452.dkr.ecr.us-east-1.amazonaws.com/amazon-k8s-cni:v1.18.5-eksbuild.1", "25m",
               None, None, None, cpu=0.004, mem=45 * Mi),), tolerations=sys_tol, system=True,
            priority_class="system-node-critical"))  # fmt: skip
    return apps


def _incident_apps(reg: str, *, eks: bool) -> list[AppSpec]:
    """Workloads that exist to carry an incident (pending causes, init failure, bad image...)."""
    if not eks:
        return [
            AppSpec(
                "notifications",
                "shop",
                "Deployment",
                1,
                (
                    _c(
                        "notifications",
                        f"{reg}/notifications:1.0.3",
                        "100m",
                        "128Mi",
                        "500m",
                        "256Mi",
                        port=8080,
                        cpu=0.03,
                        mem=70 * Mi,
                        log_format="json",
                    ),
                ),
                init_containers=(
                    _c(
                        "wait-for-db",
                        "busybox:1.36",
                        "10m",
                        "16Mi",
                        "50m",
                        "32Mi",
                        command=("sh", "-c", "nc -z orders-db-0.orders-db 5432"),
                    ),
                ),
                incident="init-crash",
            ),
            AppSpec(
                "legacy-importer",
                "shop",
                "Deployment",
                1,
                (_c("importer", f"{reg}/legacy-importer:0.4.0", None, None, None, None),),
                node_selector={"node.kubernetes.io/instance-type": "n2-highmem-16"},
                incident="pending-selector",
            ),
        ]
    return [
        AppSpec(
            "thumbnailer",
            "shop",
            "Deployment",
            1,
            (
                _c(
                    "thumbnailer",
                    f"{reg}/thumbnailer:0.7.1",
                    "100m",
                    "128Mi",
                    "300m",
                    "256Mi",
                    cpu=0.04,
                    mem=90 * Mi,
                ),
            ),
            incident="cpu-throttle",
        ),
        AppSpec(
            "promo-banner",
            "shop",
            "Deployment",
            1,
            (_c("promo-banner", f"{reg}/promo-banner:v2.0.1-rc", "50m", "64Mi", "200m", "128Mi", port=8080),),
            incident="image-pull",
        ),
        AppSpec(
            "batch-scorer",
            "ml",
            "Deployment",
            1,
            (_c("scorer", f"{reg}/batch-scorer:2.2.0", "12", "16Gi", "12", "16Gi"),),
            part_of="ml",
            incident="pending-cpu",
        ),
        AppSpec(
            "feature-builder",
            "ml",
            "Deployment",
            1,
            (_c("builder", f"{reg}/feature-builder:0.9.0", "1", "40Gi", None, "48Gi"),),
            part_of="ml",
            incident="pending-memory",
        ),
        AppSpec(
            "gpu-inference",
            "ml",
            "Deployment",
            1,
            (_c("inference", f"{reg}/gpu-inference:1.1.0", None, None, None, None),),
            part_of="ml",
            node_selector={"eks.amazonaws.com/nodegroup": "ng-gpu"},
            incident="pending-taint",
        ),
        AppSpec(
            "media-uploader",
            "shop",
            "Deployment",
            1,
            (_c("uploader", f"{reg}/media-uploader:1.0.0", "100m", "128Mi", "500m", "256Mi"),),
            claim="media-uploads",
            incident="pending-pvc",
        ),
        AppSpec(
            "metabase",
            "analytics",
            "Deployment",
            1,
            (
                _c(
                    "metabase",
                    "metabase/metabase:v0.50.20",
                    "1",
                    "2Gi",
                    "2",
                    "3Gi",
                    port=3000,
                    cpu=0.15,
                    mem=1400 * Mi,
                ),
            ),
            service="ClusterIP",
            part_of="analytics",
        ),
        AppSpec(
            "etl-worker",
            "analytics",
            "Deployment",
            1,
            (_c("etl", f"{reg}/etl-worker:5.0.2", "500m", "512Mi", "1", "1Gi", cpu=0.2, mem=300 * Mi),),
            part_of="analytics",
            incident="pending-quota",
        ),
    ]


def apps_for(cluster: str) -> list[AppSpec]:
    """Every workload of one cluster (one scale copy of the application namespaces)."""
    eks = cluster == EKS
    reg = f"{ECR}/shop" if eks else GAR
    return _system(eks=eks) + _shop(reg, eks=eks) + _incident_apps(reg, eks=eks)
