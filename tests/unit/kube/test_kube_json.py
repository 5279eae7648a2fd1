"""JSON in and out of the normaliser: ``parse_json`` reads like ``json.loads``; the stored
manifest text and the sorted JSON columns keep the form :mod:`json` gave them (analyses and
earlier snapshots read them back)."""

from __future__ import annotations

import gc
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from workbench.kube import Normalizer, normalize, normalize_json, parse_json
from workbench.kube._common import gc_paused, json_text, manifest_text
from workbench.sources.files import read_manifest_tree


def _compact(value: object, *, sort: bool = False) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=sort)


def test_manifest_text_is_what_json_dumps_wrote_for_every_real_object(realdata: Path) -> None:
    objects = [m.obj for m in read_manifest_tree(realdata / "k8s")]
    assert len(objects) > 300
    for obj in objects:
        assert manifest_text(obj) == _compact(obj)
        for key in ("labels", "annotations"):
            value = (obj.get("metadata") or {}).get(key)
            if value:
                assert json_text(value) == _compact(value, sort=True)


def test_stored_manifest_reads_back_to_the_object_without_managed_fields(realdata: Path) -> None:
    pods = [m.obj for m in read_manifest_tree(realdata / "k8s/nri_kubernetes_k8s_1_35/kubelet/pods")]
    pod = next(p for p in pods if "managedFields" in p["metadata"])  # the kubelet's copies carry them
    n = Normalizer(cluster="c")
    n.add(pod, observed_at=datetime(2026, 1, 1, tzinfo=UTC))
    stored = n.tables()["objects"]["manifest"][0]
    expected = {**pod, "metadata": {k: v for k, v in pod["metadata"].items() if k != "managedFields"}}
    assert stored == _compact(expected)
    assert list(json.loads(stored)) == list(expected)  # keys keep their order


def test_text_orjson_refuses_still_gets_stored_as_json_did() -> None:
    odd = {
        "big": 2**70,  # beyond 64 bits
        "keys": {1: "one"},  # a YAML loader's integer key
        "when": datetime(2024, 5, 1, 12, 0, tzinfo=UTC),  # a YAML loader's timestamp
        "text": "lone \ud800 surrogate",
        "tags": {"b", "a"},
    }
    text = manifest_text(odd)
    assert json.loads(text)["big"] == 2**70
    assert json.loads(text)["keys"] == {"1": "one"}
    assert json.loads(text)["when"] == "2024-05-01T12:00:00Z"
    assert json.loads(text)["tags"] == ["a", "b"]
    assert json_text({"z": 2**70, "a": 1}) == '{"a":1,"z":1180591620717411303424}'


def test_floats_keep_their_value_with_the_documented_spelling() -> None:
    # the one difference from json.dumps: negative exponents without a leading zero, and
    # NaN (not JSON) as null
    assert manifest_text({"a": 1e-7, "b": 0.5, "c": 1e16}) == '{"a":1e-7,"b":0.5,"c":1e+16}'
    assert json.loads(manifest_text({"a": 1e-7}))["a"] == 1e-7
    assert manifest_text({"a": float("nan")}) == '{"a":null}'


def test_parse_json_reads_every_real_json_file_as_json_loads_does(realdata: Path) -> None:
    files = sorted((realdata / "k8s").rglob("*.json"))
    assert len(files) > 50
    for path in files:
        data = path.read_bytes()
        assert parse_json(data) == json.loads(data), path


def test_parse_json_falls_back_to_json_for_what_orjson_refuses() -> None:
    assert str(parse_json(b'{"a": NaN}')["a"]) == "nan"
    assert parse_json('{"a": "\\ud800"}')["a"] == "\ud800"
    assert parse_json(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}
    assert parse_json('{"a": 1, "a": 2}') == {"a": 2}
    with pytest.raises(json.JSONDecodeError) as err:
        parse_json(b'{\n  "items": [1,\n  ]\n}')
    assert (err.value.lineno, err.value.colno) == (3, 3)


def test_gc_paused_restores_the_collector() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner pause leaves the outer one alone
    assert gc.isenabled()
    with pytest.raises(ValueError, match="boom"), gc_paused():
        raise ValueError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # a collector the caller switched off stays off
    finally:
        gc.enable()


def test_a_lone_surrogate_escape_is_read_as_the_replacement_character() -> None:
    # "\ud800" is valid JSON but no UTF-8 text (Parquet cannot hold it): the tables hold U+FFFD
    raw = json.dumps({"apiVersion": "v1", "kind": "PodList", "items": [{
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-\ud800", "namespace": "shop", "uid": "u1", "labels": {"app": "w\udc00b"}},
        "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "web:1"}]},
        "status": {"phase": "Running"}}] * 60}).encode()  # fmt: skip
    at = datetime(2024, 5, 1, tzinfo=UTC)
    for tables in (normalize([parse_json(raw)], cluster="c", observed_at=at),
                   normalize_json(raw, cluster="c", observed_at=at)):  # fmt: skip
        pods = tables["pods"]
        assert pods["name"][0] == "web-\ufffd"
        assert json.loads(pods["labels"][0]) == {"app": "w\ufffdb"}
        assert tables["containers"]["pod"][0] == "web-\ufffd"
        assert json.loads(tables["objects"]["manifest"][0])["metadata"]["name"] == "web-\ufffd"
