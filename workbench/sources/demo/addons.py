"""The cluster add-ons a production cluster runs besides the shop: storage CSI drivers, the
cloud's node agents, an ingress controller, cert-manager, the cluster autoscaler, and (on EKS)
a Prometheus/Alertmanager/Grafana stack. One set per cluster (they do not scale with the
application copies; their DaemonSets do with the nodes).

Requests and usage follow the projects' own charts and what they use on small clusters. Every
Deployment here uses less memory than it requests, as healthy add-ons do (so none of them is
the kubelet's first choice under memory pressure). The demo builds them after the application
namespaces, so their pods fill the nodes the shop already runs on.
"""

from __future__ import annotations

from workbench.sources.demo.apps import AppSpec, ContainerSpec, Mi, container
from workbench.sources.demo.world import EKS

__all__ = ["addons_for"]

_TOLERATE_ALL = ({"operator": "Exists"},)
_EKS_ECR = "602401143452.dkr.ecr.us-east-1.amazonaws.com/eks"
_CSI = "public.ecr.aws/eks-distro/kubernetes-csi"
_GKE = "gke.gcr.io"


def _ds(name: str, namespace: str, *containers: ContainerSpec) -> AppSpec:
    return AppSpec(name, namespace, "DaemonSet", 1, containers, tolerations=_TOLERATE_ALL, system=True,
                   priority_class="system-node-critical")  # fmt: skip


def _dep(name: str, namespace: str, replicas: int, *containers: ContainerSpec, service: str | None = None,
         priority: str | None = None) -> AppSpec:  # fmt: skip
    return AppSpec(name, namespace, "Deployment", replicas, containers, service=service, system=True,
                   priority_class=priority)  # fmt: skip


def _sts(name: str, namespace: str, replicas: int, *containers: ContainerSpec) -> AppSpec:
    return AppSpec(name, namespace, "StatefulSet", replicas, containers, service="ClusterIP", system=True,
                   volume_claim="20Gi")  # fmt: skip


def _cert_manager() -> list[AppSpec]:
    reg = "quay.io/jetstack"
    return [
        _dep("cert-manager", "cert-manager", 1, container(
            "cert-manager-controller", f"{reg}/cert-manager-controller:v1.15.3", "10m", "64Mi", None, None,
            port=9402, cpu=0.003, mem=28 * Mi)),
        _dep("cert-manager-cainjector", "cert-manager", 1, container(
            "cert-manager-cainjector", f"{reg}/cert-manager-cainjector:v1.15.3", "10m", "64Mi", None, None,
            cpu=0.002, mem=30 * Mi)),
        _dep("cert-manager-webhook", "cert-manager", 1, container(
            "cert-manager-webhook", f"{reg}/cert-manager-webhook:v1.15.3", "10m", "64Mi", None, None,
            port=10250, cpu=0.001, mem=16 * Mi, readiness="/healthz", liveness="/livez"), service="ClusterIP"),
    ]  # fmt: skip


def _eks() -> list[AppSpec]:
    mon = "quay.io/prometheus"
    return [
        _ds("ebs-csi-node", "kube-system",
            container("ebs-plugin", "public.ecr.aws/ebs-csi-driver/aws-ebs-csi-driver:v1.35.0", "10m", "40Mi", None,
                      "256Mi", cpu=0.003, mem=22 * Mi),
            container("node-driver-registrar", f"{_CSI}/node-driver-registrar:v2.11.1-eks-1-31-2", "10m", "40Mi",
                      None, "256Mi", cpu=0.001, mem=10 * Mi),
            container("liveness-probe", f"{_CSI}/livenessprobe:v2.13.1-eks-1-31-2", "10m", "40Mi", None, "256Mi",
                      cpu=0.001, mem=9 * Mi)),
        _ds("eks-pod-identity-agent", "kube-system",
            container("eks-pod-identity-agent", f"{_EKS_ECR}/eks-pod-identity-agent:0.1.10", "25m", "32Mi", None,
                      None, port=2703, cpu=0.002, mem=14 * Mi)),
        _dep("ebs-csi-controller", "kube-system", 2,
             container("ebs-plugin", "public.ecr.aws/ebs-csi-driver/aws-ebs-csi-driver:v1.35.0", "10m", "64Mi",
                       None, "256Mi", cpu=0.002, mem=24 * Mi),
             container("csi-provisioner", f"{_CSI}/external-provisioner:v5.1.0-eks-1-31-2", "10m", "40Mi", None,
                       "256Mi", cpu=0.002, mem=20 * Mi),
             container("csi-attacher", f"{_CSI}/external-attacher:v4.7.0-eks-1-31-2", "10m", "40Mi", None, "256Mi",
                       cpu=0.001, mem=16 * Mi), priority="system-cluster-critical"),
        _dep("cluster-autoscaler", "kube-system", 1,
             container("cluster-autoscaler", "registry.k8s.io/autoscaling/cluster-autoscaler:v1.30.2", "100m",
                       "600Mi", "100m", "600Mi", port=8085, cpu=0.012, mem=180 * Mi), priority="system-cluster-critical"),
        _dep("ingress-nginx-controller", "ingress-nginx", 2,
             container("controller", "registry.k8s.io/ingress-nginx/controller:v1.11.3", "100m", "256Mi", None,
                       "512Mi", port=80, cpu=0.035, mem=140 * Mi, readiness="/healthz", liveness="/healthz"),
             service="LoadBalancer"),
        *_cert_manager(),
        _sts("prometheus", "monitoring", 1,
             container("prometheus", f"{mon}/prometheus:v2.54.1", "500m", "2Gi", "1", "4Gi", port=9090, cpu=0.3,
                       mem=1500 * Mi, readiness="/-/ready", liveness="/-/healthy"),
             container("config-reloader", "quay.io/prometheus-operator/prometheus-config-reloader:v0.77.1", "10m",
                       "50Mi", "10m", "50Mi", cpu=0.001, mem=12 * Mi)),
        _sts("alertmanager", "monitoring", 2,
             container("alertmanager", f"{mon}/alertmanager:v0.27.0", "50m", "128Mi", None, "256Mi", port=9093,
                       cpu=0.003, mem=30 * Mi, readiness="/-/ready", liveness="/-/healthy")),
        _dep("grafana", "monitoring", 1,
             container("grafana", "grafana/grafana:11.2.2", "100m", "256Mi", None, "512Mi", port=3000, cpu=0.02,
                       mem=120 * Mi, readiness="/api/health", liveness="/api/health"), service="ClusterIP"),
    ]  # fmt: skip


def _gke() -> list[AppSpec]:
    return [
        _ds("pdcsi-node", "kube-system",
            container("csi-driver-registrar", f"{_GKE}/csi-node-driver-registrar:v2.9.4-gke.1", "5m", "10Mi", None,
                      "50Mi", cpu=0.001, mem=8 * Mi),
            container("gce-pd-driver", f"{_GKE}/gcp-compute-persistent-disk-csi-driver:v1.13.2-gke.0", "5m", "10Mi",
                      None, "50Mi", cpu=0.001, mem=9 * Mi)),
        _ds("fluentbit-gke", "kube-system",
            container("fluentbit", f"{_GKE}/fluent-bit:v1.8.12-gke.33", "50m", "100Mi", None, "250Mi", cpu=0.018,
                      mem=46 * Mi),
            container("fluentbit-gke", f"{_GKE}/fluent-bit-gke-exporter:v0.28.0-gke.0", "5m", "30Mi", None, "250Mi",
                      cpu=0.002, mem=14 * Mi)),
        _ds("gke-metrics-agent", "kube-system",
            container("gke-metrics-agent", f"{_GKE}/gke-metrics-agent:1.12.3-gke.1", "8m", "60Mi", None, "60Mi",
                      cpu=0.006, mem=34 * Mi)),
        _dep("konnectivity-agent", "kube-system", 3,
             container("konnectivity-agent", f"{_GKE}/proxy-agent:v0.30.3-gke.0", "10m", "30Mi", None, "125Mi",
                       port=8093, cpu=0.004, mem=12 * Mi), priority="system-cluster-critical"),
        _dep("l7-default-backend", "kube-system", 1,
             container("default-http-backend", f"{_GKE}/ingress-gce-404-server-with-metrics:v1.28.0", "10m", "20Mi",
                       "10m", "20Mi", port=8080, cpu=0.001, mem=5 * Mi), service="NodePort"),
        _dep("event-exporter-gke", "kube-system", 1,
             container("event-exporter", f"{_GKE}/event-exporter:v0.4.0-gke.16", "10m", "64Mi", None, None,
                       cpu=0.001, mem=18 * Mi)),
        *_cert_manager(),
    ]  # fmt: skip


def addons_for(cluster: str) -> list[AppSpec]:
    """The add-ons of one cluster, built after its application namespaces."""
    return _eks() if cluster == EKS else _gke()
