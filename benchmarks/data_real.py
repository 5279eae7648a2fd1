"""Benchmark data grown from real samples (``shared/realdata``): Kubernetes lists and logs.

- :func:`pod_list`: a PodList JSON of ``n`` pods, copies of the real pods recorded from a
  minikube cluster (Kubernetes 1.34 and 1.35) and an OpenShift cluster, each copy with a new
  name, uid and pod IP (managedFields and everything else as recorded).
- :func:`event_list`: an EventList JSON of ``n`` core/v1 events, copies of the real events of
  a GKE cluster and an OpenShift must-gather, with new names and uids.
- :func:`logs_snapshot`: a snapshot whose ``logs`` table holds ``n`` lines: the real container
  log lines (etcd, installer, operators, alertmanager…, parsed by the workbench's own log
  reader), each repeated in variants whose digits differ, spread over 2,000 pods of 40
  namespaces over a day, frequent lines more frequent (Zipf).

Only objects that the official client's models accept are used, so both sides of B3 read the
same input.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import re
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import yaml

from benchmarks import REALDATA
from benchmarks.data import CLUSTER, START, VERSION, cached
from workbench.schema import SCHEMAS
from workbench.store import SnapshotWriter

__all__ = ["event_list", "logs_snapshot", "pod_list", "real_events", "real_pods"]

_K8S = REALDATA / "k8s"


def _need(path: Path) -> Path:
    if not path.exists():
        msg = (f"real data sample {path} not found; check out shared/ beside the repository "
               "(the benchmarks grow their Kubernetes and log data from it)")  # fmt: skip
        raise FileNotFoundError(msg)
    return path


@functools.cache
def real_pods() -> list[dict[str, Any]]:
    """The real Pod objects the benchmark copies (PodLists of two minikube clusters, OpenShift pods);
    do not modify them (copies are deep copies)."""
    pods: list[dict[str, Any]] = []
    for name in ("nri_kubernetes_k8s_1_35", "nri_kubernetes_k8s_1_34"):
        pods += yaml.safe_load(_need(_K8S / name / "pods.yaml").read_text(encoding="utf-8"))["items"]
    for f in sorted(_need(_K8S / "openshift_insights_archive_sample" / "config" / "pod").rglob("*.json")):
        obj = json.loads(f.read_text(encoding="utf-8"))
        if obj.get("kind", "Pod") == "Pod" and isinstance(obj.get("metadata"), dict):
            pods.append(obj)
    return pods


@functools.cache
def real_events() -> list[dict[str, Any]]:
    """The real core/v1 Events the benchmark copies (a GKE EventList and a must-gather's)."""
    gke = json.loads(_need(_K8S / "datadog_dd_agent_gke_2016" / "events.json").read_text(encoding="utf-8"))
    mg = _need(
        _K8S / "openshift_must_gather_4.8_partial" / "namespaces" / "kube-system" / "core" / "events.yaml"
    )
    events = gke["items"] + yaml.safe_load(mg.read_text(encoding="utf-8"))["items"]
    return [
        e for e in events if isinstance(e.get("involvedObject"), dict) and isinstance(e.get("metadata"), dict)
    ]


def _uid(rng: np.random.Generator) -> str:
    return str(uuid.UUID(bytes=rng.bytes(16), version=4))


def _copies(originals: list[dict[str, Any]], n: int, seed: int, rename: Any) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        obj = copy.deepcopy(originals[i % len(originals)])
        rename(obj, i, rng)
        out.append(obj)
    return out


def _rename_pod(pod: dict[str, Any], i: int, rng: np.random.Generator) -> None:
    md = pod["metadata"]
    md["name"] = f"{md['name'][:48]}-{i:05x}"
    md["uid"] = _uid(rng)
    status = pod.setdefault("status", {})
    if status.get("podIP"):
        ip = f"10.{64 + (i >> 16) % 64}.{(i >> 8) & 255}.{i & 255}"
        status["podIP"] = ip
        status["podIPs"] = [{"ip": ip}]


def _rename_event(event: dict[str, Any], i: int, rng: np.random.Generator) -> None:
    md = event["metadata"]
    md["name"] = f"{event['involvedObject'].get('name', 'x')}.{i:016x}"
    md["uid"] = _uid(rng)


def _write_list(path: Path, kind: str, items: list[dict[str, Any]]) -> None:
    doc = {"apiVersion": "v1", "kind": kind, "metadata": {"resourceVersion": "1"}, "items": items}
    path.write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")


def pod_list(workdir: Path, *, n: int, seed: int = 0) -> Path:
    """A PodList JSON file of ``n`` copies of the real pods. Cached."""
    key = f"podlist-n{n}-seed{seed}-v{VERSION}"
    cached(workdir / key, lambda tmp: _write_list(tmp / "pods.json", "PodList",
                                                  _copies(real_pods(), n, seed, _rename_pod)))  # fmt: skip
    return workdir / key / "pods.json"


def event_list(workdir: Path, *, n: int, seed: int = 0) -> Path:
    """An EventList JSON file of ``n`` copies of the real events. Cached."""
    key = f"eventlist-n{n}-seed{seed}-v{VERSION}"
    cached(workdir / key, lambda tmp: _write_list(tmp / "events.json", "EventList",
                                                  _copies(real_events(), n, seed, _rename_event)))  # fmt: skip
    return workdir / key / "events.json"


# --- logs --------------------------------------------------------------------------------------
def real_log_lines() -> pl.DataFrame:
    """Every real container log line in the samples, parsed by the workbench (message, level, fields)."""
    from workbench.sources.logs import read_log_file

    frames = []
    for f in sorted(_need(REALDATA).rglob("*.log")):
        imp = read_log_file(f, cluster=CLUSTER, namespace="x", pod="x", container="x")
        frames.append(imp.logs.select("message", "level", "fields", "stream"))
    return pl.concat(frames).filter(pl.col("message").str.len_chars() > 0)


#: Digit runs not glued to letters: numbers, IPs, ports, times, durations vary between lines;
#: names such as ``tomcat9`` or ``etcd-pod-2``'s ``pod`` do not.
_DIGITS = re.compile(r"(?<![A-Za-z])\d+")


def _variants(lines: pl.DataFrame, per_line: int, rng: np.random.Generator) -> pl.DataFrame:
    """``per_line`` versions of each line whose numbers (:data:`_DIGITS`) are replaced by random digits."""
    rows = []
    for msg, level, fields, stream in lines.iter_rows():
        for v in range(per_line):
            text = (
                msg
                if v == 0
                else _DIGITS.sub(lambda m: "".join(rng.choice(list("0123456789"), len(m.group()))), msg)
            )
            rows.append((text, level, fields, stream))
    return pl.DataFrame(rows, schema={"message": pl.String, "level": SCHEMAS["logs"]["level"], "fields": pl.String,
                                      "stream": SCHEMAS["logs"]["stream"]}, orient="row")  # fmt: skip


def _log_chunk(variants: pl.DataFrame, weights: np.ndarray, pods: pl.DataFrame, rng: np.random.Generator,
               n: int, t0_us: int, span_us: int) -> pl.DataFrame:  # fmt: skip
    pick = rng.choice(variants.height, n, p=weights)
    who = rng.integers(0, pods.height, n)
    ts = np.sort(t0_us + rng.integers(0, span_us, n))
    lines = variants[pick]
    where = pods[who]
    return pl.DataFrame({
        "cluster": pl.Series([CLUSTER]).new_from_index(0, n),
        "ts": pl.Series(ts).cast(pl.Datetime("us", "UTC")),
        "namespace": where["namespace"], "pod": where["pod"], "container": where["container"],
        "stream": lines["stream"], "level": lines["level"], "message": lines["message"], "fields": lines["fields"],
        "trace_id": pl.Series([None], dtype=pl.String).new_from_index(0, n),
        "span_id": pl.Series([None], dtype=pl.String).new_from_index(0, n),
        "truncated": pl.Series([False]).new_from_index(0, n),
    }).select([pl.col(c).cast(t) for c, t in SCHEMAS["logs"].items()])  # fmt: skip


def logs_snapshot(workdir: Path, *, n: int, per_line: int = 1000, seed: int = 0) -> Path:
    """A snapshot whose ``logs`` table holds ``n`` lines grown from the real log lines. Cached."""
    key = f"logs-n{n}-v{per_line}-seed{seed}-v{VERSION}.3"
    chunk = 1_000_000

    def build(tmp: Path) -> None:
        rng = np.random.default_rng(seed)
        base = real_log_lines()
        variants = _variants(base, per_line, rng)
        rank = rng.permutation(base.height) + 1.0  # Zipf over the real lines; variants share a line's weight
        w = np.repeat(1.0 / rank, per_line)
        pods = pl.DataFrame({"namespace": [f"ns-{i % 40:02d}" for i in range(2000)],
                             "pod": [f"app-{i // 4:04d}-{(i * 40503) % 65536:04x}" for i in range(2000)],
                             "container": [("main", "sidecar", "init")[i % 3] for i in range(2000)]})  # fmt: skip
        t0, span = int(START.timestamp()) * 1_000_000, 86_400 * 1_000_000
        pieces = -(-n // chunk)
        with SnapshotWriter(tmp / "snapshot") as wr:
            wr.add_source(
                "benchmarks", generator="logs", n=n, per_line=per_line, seed=seed, real_lines=base.height
            )
            wr.set_window(START, START + dt.timedelta(days=1))
            for i in range(pieces):
                size = min(chunk, n - i * chunk)
                wr.write("logs", _log_chunk(variants, w / w.sum(), pods, rng, size, t0 + span * i // pieces,
                                            span // pieces))  # fmt: skip

    return cached(workdir / key, build) / "snapshot"
