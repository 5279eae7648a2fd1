"""The demo's Services (every type), PersistentVolumeClaims, HorizontalPodAutoscalers, the
ResourceQuota and Namespaces, as (observed_at, manifest) revisions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from workbench.sources.demo.ids import Ids, iso, quantity_bytes
from workbench.sources.demo.model import Workload
from workbench.sources.demo.plan import SYSTEM_PART, Plan
from workbench.sources.demo.world import EKS

__all__ = ["extra_objects", "QUOTA"]

#: The analytics namespace's quota (the quota incident fills requests.cpu).
QUOTA = {"name": "compute-quota", "hard": {"limits.cpu": "6", "limits.memory": "12Gi", "pods": "10",
                                           "requests.cpu": "2", "requests.memory": "8Gi"}}  # fmt: skip
_PORTS = {
    6379: ("redis", 6379),
    5432: ("postgres", 5432),
    10250: ("https", 443),
    53: ("dns", 53),
    9100: ("metrics", 9100),
}


def _meta(
    ids: Ids, kind: str, cluster: str, ns: str | None, name: str, created: dt.datetime, **extra: Any
) -> dict:
    m: dict[str, Any] = {
        "creationTimestamp": iso(created),
        "name": name,
        "uid": ids.uid(kind, cluster, ns, name),
    }
    if ns:
        m["namespace"] = ns
    m.update(extra)
    return m


def _cluster_ip(ids: Ids, cluster: str, ns: str, name: str) -> str:
    k = ids.integer("svc-ip", cluster, ns, name)
    if cluster == EKS:
        return f"172.20.{k % 250 + 1}.{(k >> 8) % 250 + 2}"
    return f"34.118.{224 + k % 15}.{(k >> 8) % 250 + 2}"


def _service(ids: Ids, plan: Plan, w: Workload, created: dt.datetime) -> dict[str, Any]:
    app, cluster = w.app, plan.cluster.name
    name = "kube-dns" if app.name == "coredns" else app.name
    port = app.containers[0].port or 80
    pname, pnum = _PORTS.get(port, ("http", 80))
    ports: list[dict[str, Any]] = [{"name": pname, "port": pnum, "protocol": "TCP", "targetPort": port}]
    if app.name == "coredns":
        ports = [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                 {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                 {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}]  # fmt: skip
    kind = app.service or "ClusterIP"
    ip = "None" if kind == "Headless" else _cluster_ip(ids, cluster, w.namespace, name)
    if name == "kube-dns":
        ip = "172.20.0.10" if cluster == EKS else "34.118.224.10"
    spec: dict[str, Any] = {"clusterIP": ip, "clusterIPs": [ip], "internalTrafficPolicy": "Cluster",
                            "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "ports": ports,
                            "selector": dict(app.selector), "sessionAffinity": "None",
                            "type": "ClusterIP" if kind == "Headless" else kind}  # fmt: skip
    status: dict[str, Any] = {"loadBalancer": {}}
    annotations: dict[str, str] = {}
    if kind in ("NodePort", "LoadBalancer"):
        for p in ports:
            p["nodePort"] = 30000 + ids.integer("nodeport", cluster, w.namespace, name) % 2767
        spec["externalTrafficPolicy"] = "Cluster"
    if kind == "LoadBalancer":
        spec["allocateLoadBalancerNodePorts"] = True
        if cluster == EKS:
            host = f"a{ids.hex('elb', w.namespace, name, length=31)}-{ids.integer('elbn', name) % 10**10}.us-east-1.elb.amazonaws.com"
            status["loadBalancer"] = {"ingress": [{"hostname": host}]}
            annotations["service.beta.kubernetes.io/aws-load-balancer-type"] = "nlb"
        else:
            k = ids.integer("lbip", w.namespace, name)
            status["loadBalancer"] = {"ingress": [{"ip": f"34.{140 + k % 20}.{(k >> 8) % 256}.{(k >> 16) % 254 + 1}",
                                                   "ipMode": "VIP"}]}  # fmt: skip
            annotations["cloud.google.com/neg"] = '{"ingress":true}'
    labels = (
        dict(app.labels)
        if not app.system
        else {
            "k8s-app": app.selector["k8s-app"],
            "kubernetes.io/name": "CoreDNS" if name == "kube-dns" else name,
        }
    )
    meta = _meta(ids, "Service", cluster, w.namespace, name, created, labels=labels)
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec, "status": status}


def _external(ids: Ids, cluster: str, ns: str, created: dt.datetime) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": _meta(ids, "Service", cluster, ns, "payment-gateway", created,
                              labels={"app.kubernetes.io/part-of": "shop"}),
            "spec": {"externalName": "api.paygate.example.com", "sessionAffinity": "None", "type": "ExternalName"},
            "status": {"loadBalancer": {}}}  # fmt: skip


def _pvc(ids: Ids, cluster: str, ns: str, name: str, size: str, created: dt.datetime) -> dict[str, Any]:
    sc = "gp3" if cluster == EKS else "standard-rwo"
    uid = ids.uid("PersistentVolumeClaim", cluster, ns, name)
    prov = "ebs.csi.aws.com" if cluster == EKS else "pd.csi.storage.gke.io"
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {**_meta(ids, "PersistentVolumeClaim", cluster, ns, name, created,
                                 labels={"app": name.split("-", 1)[1].rsplit("-", 1)[0]}),
                         "annotations": {"pv.kubernetes.io/bind-completed": "yes",
                                         "pv.kubernetes.io/bound-by-controller": "yes",
                                         "volume.beta.kubernetes.io/storage-provisioner": prov,
                                         "volume.kubernetes.io/storage-provisioner": prov},
                         "finalizers": ["kubernetes.io/pvc-protection"]},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}},
                     "storageClassName": sc, "volumeMode": "Filesystem", "volumeName": f"pvc-{uid}"},
            "status": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": size}, "phase": "Bound"}}  # fmt: skip


def _hpa(ids: Ids, plan: Plan, w: Workload, t: dt.datetime) -> dict[str, Any]:
    lo, hi, target = w.app.hpa or (1, 1, 80)
    n = w.replicas_at(t)
    cur = target + 9 if any(when <= t and when > plan.start for when, *_ in w.spec[1:]) else target - 18
    scaled = max((when for when, *_ in w.spec if when <= t), default=w.created)
    req = w.app.containers[0].cpu_request or 0.1
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": _meta(ids, "HorizontalPodAutoscaler", plan.cluster.name, w.namespace, w.name, w.created),
            "spec": {"maxReplicas": hi, "minReplicas": lo,
                     "metrics": [{"resource": {"name": "cpu", "target": {"averageUtilization": target,
                                                                         "type": "Utilization"}}, "type": "Resource"}],
                     "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": w.name}},
            "status": {"conditions": [
                {"lastTransitionTime": iso(w.created), "message": "recommended size matches current size",
                 "reason": "ReadyForNewScale", "status": "True", "type": "AbleToScale"},
                {"lastTransitionTime": iso(w.created), "message": "the HPA was able to successfully calculate a "
                 "replica count from cpu resource utilization (percentage of request)", "reason": "ValidMetricFound",
                 "status": "True", "type": "ScalingActive"},
                {"lastTransitionTime": iso(w.created), "message": "the desired count is within the acceptable range",
                 "reason": "DesiredWithinRange", "status": "False", "type": "ScalingLimited"}],
                "currentMetrics": [{"resource": {"current": {"averageUtilization": cur,
                                                             "averageValue": f"{int(req * cur * 10)}m"},
                                                 "name": "cpu"}, "type": "Resource"}],
                "currentReplicas": n, "desiredReplicas": n, "lastScaleTime": iso(scaled)}}  # fmt: skip


def _quota(ids: Ids, plan: Plan, ns: str, t: dt.datetime, created: dt.datetime) -> dict[str, Any]:
    pods = [p for part in plan.parts.values() for p in part.pods if p.namespace == ns and p.node and p.exists_at(t)
            and p.outcome is None]  # fmt: skip

    def total(attr: str) -> float:
        return float(sum(getattr(c, attr) or 0 for p in pods for c in p.containers))

    cpu_r, cpu_l = total("cpu_request"), total("cpu_limit")
    mem_r, mem_l = total("mem_request"), total("mem_limit")
    used = {"limits.cpu": _cpu(cpu_l), "limits.memory": _mem(mem_l), "pods": str(len(pods)),
            "requests.cpu": _cpu(cpu_r), "requests.memory": _mem(mem_r)}  # fmt: skip
    return {"apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": _meta(ids, "ResourceQuota", plan.cluster.name, ns, QUOTA["name"], created),
            "spec": {"hard": dict(QUOTA["hard"])}, "status": {"hard": dict(QUOTA["hard"]), "used": used}}  # fmt: skip


def _cpu(v: float) -> str:
    return str(int(v)) if abs(v - round(v)) < 1e-9 else f"{round(v * 1000)}m"


def _mem(v: float) -> str:
    gi = quantity_bytes("1Gi") or 1
    return f"{int(v // gi)}Gi" if v % gi == 0 else f"{int(v // 1024**2)}Mi"


def extra_objects(ids: Ids, plan: Plan, part: int) -> list[tuple[dt.datetime, dict[str, Any]]]:
    """Services, PVCs, HPAs, the quota and Namespaces of one part, each with its revision times."""
    out: list[tuple[dt.datetime, dict[str, Any]]] = []
    start, cluster = plan.start, plan.cluster.name
    p = plan.parts.get(part)
    if p is None:
        return out
    old = start - dt.timedelta(days=90)
    names = set(p.namespaces)
    if part == SYSTEM_PART:
        names |= {"default", "kube-system", "kube-public", "kube-node-lease", "monitoring"}
        out.append((start, {"apiVersion": "v1", "kind": "Service", "metadata": _meta(
            ids, "Service", cluster, "default", "kubernetes", old, labels={"component": "apiserver",
                                                                            "provider": "kubernetes"}),
            "spec": {"clusterIP": "172.20.0.1" if cluster == EKS else "34.118.224.1", "ports": [
                {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 443}], "type": "ClusterIP",
                "sessionAffinity": "None"}, "status": {"loadBalancer": {}}}))  # fmt: skip
    for ns in sorted(names):
        out.append((start, {"apiVersion": "v1", "kind": "Namespace",
                            "metadata": _meta(ids, "Namespace", cluster, None, ns, old,
                                              labels={"kubernetes.io/metadata.name": ns}),
                            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}))  # fmt: skip
    for w in p.workloads:
        if w.kind in ("Deployment", "StatefulSet") and w.app.service:
            created = min(w.created, start)
            out.append((max(created, start), _service(ids, plan, w, created)))
        if w.kind == "StatefulSet" and w.app.volume_claim:
            for pod in w.pods:
                out.append(
                    (
                        start,
                        _pvc(ids, cluster, w.namespace, f"data-{pod.name}", w.app.volume_claim, w.created),
                    )
                )
        if w.kind == "Deployment" and w.app.hpa:
            for t in sorted({start, *(s[0] for s in w.spec if start < s[0] <= plan.end)}):
                out.append((t, _hpa(ids, plan, w, t)))
        if w.kind == "Deployment" and w.app.name == "checkout" and w.app.namespace == "shop":
            out.append((start, _external(ids, cluster, w.namespace, old)))
        if w.kind == "Deployment" and w.app.name == "etl-worker":
            q_created = start - dt.timedelta(days=30)
            times = {start, *(s[0] + dt.timedelta(seconds=1) for s in w.spec if start < s[0] <= plan.end)}
            out += [(t, _quota(ids, plan, w.namespace, t, q_created)) for t in sorted(times)]
    return out
