"""deploy/clusterrole.yaml: read-only, no Secrets, and enough for everything the collector reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from workbench.sources.kubernetes import KINDS

ROLE_FILE = Path(__file__).resolve().parents[2] / "deploy" / "clusterrole.yaml"
READ_VERBS = {"get", "list", "watch"}


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(ROLE_FILE.read_text(encoding="utf-8")) if d]
    return {d["kind"]: d for d in docs}


def _group(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def _grants(role: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    """(API group, resource) → verbs granted."""
    out: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                out.setdefault((group, resource), set()).update(rule["verbs"])
    return out


def test_role_is_read_only_without_secrets_or_wildcards(documents: dict[str, dict[str, Any]]) -> None:
    role = documents["ClusterRole"]
    for rule in role["rules"]:
        assert "nonResourceURLs" not in rule and "resourceNames" not in rule, rule
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], rule
        assert set(rule["verbs"]) <= READ_VERBS, rule
        assert not any(r.split("/")[0] in ("secrets", "configmaps") for r in rule["resources"]), rule
    # pods/log needs only get (the log endpoint is read, never listed)
    assert _grants(role)[("", "pods/log")] == {"get"}


def test_every_kind_the_collector_lists_is_granted(documents: dict[str, dict[str, Any]]) -> None:
    grants = _grants(documents["ClusterRole"])
    needed = {(_group(spec.api_version), spec.plural) for spec in KINDS}
    assert ("", "secrets") not in needed
    for key in sorted(needed):
        assert grants.get(key) == READ_VERBS, f"{key} needs get/list/watch (collect lists, watch watches)"
    # and nothing beyond them, except core Endpoints (kept for tools that read them beside slices)
    extra = set(grants) - needed - {("", "pods/log")}
    assert extra == {("", "endpoints")}


def test_binding_gives_the_role_to_the_service_account(documents: dict[str, dict[str, Any]]) -> None:
    account = documents["ServiceAccount"]["metadata"]
    binding = documents["ClusterRoleBinding"]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": documents["ClusterRole"]["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["name"], "namespace": account["namespace"]}
    ]
    assert documents["Namespace"]["metadata"]["name"] == account["namespace"]
