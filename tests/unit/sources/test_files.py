"""Reading manifests from files and folders: every real sample, every format, every kind of damage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from workbench.errors import InputError, SourceError
from workbench.sources.files import read_manifest_tree, read_manifests

ARGO = ("k8s", "argo_gitops_engine_health")


def test_every_kubernetes_sample_reads_without_problems(realdata: Path) -> None:
    stream = read_manifest_tree(realdata / "k8s")
    manifests = list(stream)
    assert stream.problems == []
    kinds = {m.obj["kind"] for m in manifests}
    assert {
        "Pod",
        "Node",
        "Event",
        "Service",
        "Deployment",
        "DaemonSet",
        "StatefulSet",
        "Job",
        "CronJob",
    } <= kinds
    # every YAML and JSON file that holds an object yields it, with its origin
    files = {m.file for m in manifests}
    for path in (realdata / "k8s" / "argo_gitops_engine_health").glob("*.yaml"):
        assert path in files, path
    skipped = {s.file.name for s in stream.skipped}
    assert "summary" in skipped  # kubelet /stats/summary: JSON, but not a Kubernetes object
    assert "current.log" in skipped and "README.md" in skipped


def test_insights_archive_pods_without_kind_are_recognised(realdata: Path) -> None:
    root = realdata / "k8s" / "openshift_insights_archive_sample"
    pods = [m for m in read_manifest_tree(root / "config" / "pod") if m.obj["kind"] == "Pod"]
    assert len(pods) == 35  # the archive's 35 Pod JSONs, stored without kind/apiVersion
    assert all("kind" not in json.loads(m.file.read_text()) for m in pods)
    nodes = list(read_manifest_tree(root / "config" / "node"))
    assert [m.obj["kind"] for m in nodes] == ["Node", "Node"]
    events = list(read_manifests(root / "events" / "openshift-machine-api.json"))
    assert [(m.obj["kind"], m.item) for m in events] == [("Event", 0), ("Event", 1)]


def test_yaml_counts_match_a_plain_yaml_parser(realdata: Path) -> None:
    for path in sorted((realdata / "k8s").rglob("*.yaml")):
        documents = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        expected = sum(len(d["items"]) if "items" in d else 1 for d in documents)
        assert len(list(read_manifests(path))) == expected, path


def test_list_items_carry_their_position(realdata: Path) -> None:
    path = realdata / "k8s" / "nri_kubernetes_k8s_1_35" / "pods.yaml"
    manifests = list(read_manifests(path))
    assert len(manifests) == 25
    assert [m.item for m in manifests] == list(range(25))
    assert {(m.document, m.line) for m in manifests} == {(0, 1)}
    assert manifests[3].origin == f"{path}: document 1 (line 1), item 3"


def test_timestamps_stay_text_as_in_the_api(realdata: Path) -> None:
    (pod,) = list(read_manifests(realdata.joinpath(*ARGO, "pod-deletion.yaml")))
    assert "deletionTimestamp: 2018-12-03T10:16:04Z" in pod.file.read_text()  # unquoted in the file
    assert pod.obj["metadata"]["deletionTimestamp"] == "2018-12-03T10:16:04Z"


def _docs(realdata: Path, *names: str) -> list[str]:
    return [realdata.joinpath(*ARGO, f"{n}.yaml").read_text().strip() for n in names]


def test_bad_yaml_document_in_the_middle_keeps_the_others(realdata: Path, tmp_path: Path) -> None:
    first, last = _docs(realdata, "pod-crashloop", "svc-clusterip")
    bad = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\n   labels: [oops\n"
    path = tmp_path / "mixed.yaml"
    path.write_text(f"{first}\n---\n{bad}---\n{last}\n")
    stream = read_manifests(path)
    kinds = [m.obj["kind"] for m in stream]
    assert kinds == ["Pod", "Service"]
    (problem,) = stream.problems
    separator = first.count("\n") + 2  # the document starts at its "---" line
    assert problem.file == path
    assert (
        problem.position == f"document 2 (line {separator}), line {separator + 5}, column 10"
    )  # at "labels:"
    assert "invalid YAML" in problem.reason
    assert str(problem).startswith(f"{path}: document 2")
    assert isinstance(problem.error(), InputError)


def test_truncated_json_is_a_problem_naming_the_position(realdata: Path, tmp_path: Path) -> None:
    text = (realdata / "k8s/k9s_testdata/render/testdata/po.json").read_text()
    path = tmp_path / "cut.json"
    path.write_text(text[: len(text) // 2])
    stream = read_manifests(path)
    assert list(stream) == []
    (problem,) = stream.problems
    assert problem.file == path and "invalid JSON" in problem.reason
    assert problem.position is not None and "line" in problem.position and "column" in problem.position


def test_concatenated_json_reads_each_value_and_resumes_after_a_bad_one(
    realdata: Path, tmp_path: Path
) -> None:
    pod = (realdata / "k8s/k9s_testdata/render/testdata/po.json").read_text().strip()
    node = (realdata / "k8s/k9s_testdata/render/testdata/no.json").read_text().strip()
    path = tmp_path / "watch.json"  # what `kubectl get -w -o json` writes
    path.write_text(f'{pod}\n{{"kind": "Pod", broken\n{node}\n')
    stream = read_manifests(path)
    manifests = list(stream)
    assert [(m.obj["kind"], m.document) for m in manifests] == [("Pod", 0), ("Node", 2)]
    assert manifests[1].line == pod.count("\n") + 3
    assert len(stream.problems) == 1 and stream.problems[0].position.startswith("document 2")  # type: ignore[union-attr]


def test_binary_and_empty_files_are_problems(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.yaml"
    garbage.write_bytes(bytes(range(256)) * 4)
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"kind": "Pod", "metadata": {"name": "caf\xe9"}}')
    empty = tmp_path / "empty.yaml"
    empty.write_text("  \n")
    for path, reason in ((garbage, "binary"), (latin, "not UTF-8"), (empty, "empty file")):
        stream = read_manifests(path)
        assert list(stream) == []
        (problem,) = stream.problems
        assert problem.file == path and reason in problem.reason


def test_a_folder_with_damage_keeps_every_good_document(realdata: Path, tmp_path: Path) -> None:
    (first,) = _docs(realdata, "pod-failed")
    (tmp_path / "good.yaml").write_text(first)
    (tmp_path / "empty.json").write_text("")
    (tmp_path / "cut.json").write_text('{"apiVersion": "v1", "kind": "Pod", "metad')
    (tmp_path / "notes.txt").write_text("not a manifest")
    (tmp_path / "stats").write_text('{"node": {"nodeName": "n1"}, "pods": []}')
    (tmp_path / "ini").write_text("[global]\nproject = x\n")
    (tmp_path / ".hidden.yaml").write_text("::: not yaml")
    stream = read_manifest_tree(tmp_path)
    assert [m.file.name for m in stream] == ["good.yaml"]
    assert sorted(p.file.name for p in stream.problems) == ["cut.json", "empty.json"]
    assert sorted(s.file.name for s in stream.skipped) == ["ini", "notes.txt", "stats"]
    assert len(list(stream)) == 1 and len(stream.problems) == 2  # iterating again starts afresh


def test_json_arrays_secrets_and_non_objects(tmp_path: Path) -> None:
    path = tmp_path / "objects.json"
    path.write_text(
        json.dumps(
            [
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "x"}},
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": "s", "namespace": "x"},
                    "data": {"k": "dg=="},
                },
                {"hello": "world"},
            ]
        )
    )
    stream = read_manifests(path)
    assert [(m.obj["metadata"]["name"], m.item) for m in stream] == [("a", 0)]
    assert [s.reason for s in stream.skipped] == ["a Secret (never collected)", "not a Kubernetes object"]
    assert stream.problems == []


def test_missing_paths_raise_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        read_manifests(tmp_path / "nope.yaml")
    with pytest.raises(SourceError, match="read_manifest_tree"):
        read_manifests(tmp_path)
    with pytest.raises(SourceError, match="does not exist"):
        read_manifest_tree(tmp_path / "nope")


def test_a_single_json_list_after_blank_lines_keeps_its_line(realdata: Path, tmp_path: Path) -> None:
    pods = (realdata / "k8s/datadog_dd_agent_gke_2016/pods_list_1.2.json").read_text()
    path = tmp_path / "pods.json"
    path.write_text("\n\n\n" + pods)
    manifests = list(read_manifests(path))
    expected = json.loads(pods)["items"]
    assert [m.obj["metadata"]["name"] for m in manifests] == [p["metadata"]["name"] for p in expected]
    assert {(m.document, m.line) for m in manifests} == {(0, 4)}
    assert [m.item for m in manifests] == list(range(len(expected)))


def test_json_that_only_pythons_parser_accepts_is_still_read(realdata: Path, tmp_path: Path) -> None:
    pod = json.loads((realdata / "k8s/k9s_testdata/render/testdata/po.json").read_text())
    pod["metadata"]["annotations"] = {"note": "\ud83d"}  # a lone surrogate, as json.dumps escapes it
    text = json.dumps(pod).replace('"uid":', '"ratio": NaN, "uid":', 1)  # and a NaN
    path = tmp_path / "odd.json"
    path.write_text(text)
    stream = read_manifests(path)
    (manifest,) = list(stream)
    assert stream.problems == []
    assert manifest.obj["metadata"]["annotations"] == {"note": "\ud83d"}
    assert str(manifest.obj["metadata"]["ratio"]) == "nan"
