"""The cluster overview notebook for one cluster and namespace (papermill, real kernel)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.notebooks import run_notebook, text_outputs


@pytest.mark.slow
def test_cluster_overview_notebook_for_one_cluster(demo_snapshot: Path, tmp_path: Path) -> None:
    nb = run_notebook(
        "cluster_overview",
        tmp_path,
        snapshot=str(demo_snapshot),
        cluster="gke-prod-europe-west1",
        namespace="shop",
        step="15m",
    )
    text = text_outputs(nb)
    assert "**gke-prod-europe-west1**: 4/4 nodes Ready" in text
    assert "eks-prod-us-east-1" not in text  # the other cluster is left out everywhere
    assert "problem pods" in text
