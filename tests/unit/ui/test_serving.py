"""Which snapshot a served page shows: the catalog of one server, the lookup of ``?snapshot=``
names (never a path), the server-wide dataset cache and the app helper's arguments."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.snapshots import T1, write_small_snapshot
from workbench.cli import serve as serve_module
from workbench.errors import SnapshotError
from workbench.schema import conform
from workbench.store import SnapshotWriter
from workbench.ui.serving import (
    SnapshotCatalog,
    UnknownSnapshotError,
    open_dataset,
    snapshot_argument,
    snapshot_folders,
    snapshots_argument,
)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``prod`` and ``staging`` snapshots, a hidden writer's temporary folder holding a manifest,
    a folder that is no snapshot and a file."""
    root = tmp_path_factory.mktemp("snapshots")
    write_small_snapshot(root / "prod")
    write_small_snapshot(root / "staging")
    (root / ".prod.tmp-0123").mkdir()
    (root / ".prod.tmp-0123" / "manifest.json").write_text("{}")
    (root / "notes").mkdir()
    (root / "README.md").write_text("not a snapshot")
    return root


def test_the_folder_lists_only_snapshot_folders(root: Path) -> None:
    assert snapshot_folders(root) == {"prod": root / "prod", "staging": root / "staging"}
    assert snapshot_folders(root / "missing") == {}
    # the CLI lists them by the same rule (it must not import panel to do it)
    assert serve_module.snapshot_folders(root) == snapshot_folders(root)


def test_names_resolve_to_their_folders_and_no_name_to_the_default(root: Path) -> None:
    catalog = SnapshotCatalog(root / "prod", root)
    assert catalog.resolve(None) == ("prod", root / "prod")
    assert catalog.resolve("") == ("prod", root / "prod")
    assert catalog.resolve("staging") == ("staging", root / "staging")
    assert list(catalog.available()) == ["prod", "staging"]


@pytest.mark.parametrize(
    "name",
    [
        "..",
        ".",
        "../snapshots",
        "staging/..",
        "prod/../staging",
        "/etc",
        "~",
        ".prod.tmp-0123",
        "notes",
        "nope",
    ],
)
def test_anything_but_a_listed_name_is_refused_with_the_list(root: Path, name: str) -> None:
    catalog = SnapshotCatalog(root / "prod", root)
    with pytest.raises(UnknownSnapshotError) as info:
        catalog.resolve(name)
    assert isinstance(info.value, SnapshotError)  # the apps show the error page for it
    assert str(info.value).endswith("available snapshots: prod, staging")
    assert info.value.available == ["prod", "staging"]


def test_an_absolute_path_of_a_real_snapshot_is_refused(root: Path, tmp_path: Path) -> None:
    elsewhere = write_small_snapshot(tmp_path / "secret")
    catalog = SnapshotCatalog(root / "prod", root)
    for name in (str(elsewhere), str(root / "staging"), os.path.relpath(elsewhere, root)):
        with pytest.raises(UnknownSnapshotError, match="never by a path"):
            catalog.resolve(name)


def test_a_default_outside_the_folder_is_offered_under_its_name(root: Path, tmp_path: Path) -> None:
    default = write_small_snapshot(tmp_path / "demo")
    catalog = SnapshotCatalog(default, root)
    assert list(catalog.available()) == ["demo", "prod", "staging"]
    assert catalog.resolve("demo") == ("demo", default)
    # a folder's snapshot of the same name wins the name (the default stays the page without ?snapshot=)
    clash = SnapshotCatalog(tmp_path / "other" / "prod", root)
    assert clash.resolve("prod") == ("prod", root / "prod")
    assert clash.resolve(None)[1] == tmp_path / "other" / "prod"


def test_the_default_goes_by_the_name_it_was_given(root: Path, tmp_path: Path) -> None:
    """The header and the snapshot menu name the default as given: a symlink by its own name
    (not its target's), a benchmark-style ``NAME/snapshot`` folder by ``NAME``; the default is
    listed once, and its other name (the target's, ``snapshot``) still opens it."""
    link = root / "current"
    link.symlink_to(root / "prod", target_is_directory=True)
    try:
        catalog = SnapshotCatalog(link, root)
        assert catalog.default_name == "current"
        assert catalog.resolve(None) == ("current", link)
        assert list(catalog.available()) == ["current", "staging"]  # prod is the default: once
        assert catalog.resolve("prod") == ("current", link)  # an older link's name still opens it
        assert catalog.resolve("staging") == ("staging", root / "staging")
    finally:
        link.unlink()
    inner = write_small_snapshot(tmp_path / "demo-s1-h6-seed0-v1" / "snapshot")
    nested = SnapshotCatalog(inner, inner.parent)
    assert nested.default_name == "demo-s1-h6-seed0-v1"
    assert list(nested.available()) == ["demo-s1-h6-seed0-v1"]
    assert nested.resolve(None) == ("demo-s1-h6-seed0-v1", inner)
    assert nested.resolve("snapshot") == ("demo-s1-h6-seed0-v1", inner)
    with pytest.raises(UnknownSnapshotError, match="available snapshots: demo-s1-h6-seed0-v1$"):
        nested.resolve("nope")


def test_arguments_give_default_and_folder(tmp_path: Path) -> None:
    assert snapshot_argument(["--snapshot", "a/b"], {}) == Path("a/b")
    assert snapshots_argument(["--snapshot", "a/b"], {}) == Path("a").absolute()
    assert snapshots_argument(["--snapshot", "a/b", "--snapshots", "c"], {}) == Path("c")
    assert snapshots_argument([], {"WORKBENCH_SNAPSHOTS": "d", "WORKBENCH_SNAPSHOT": "e/f"}) == Path("d")
    assert snapshots_argument([], {}) == Path("data").absolute()  # data/demo's parent
    catalog = SnapshotCatalog.from_arguments(["--snapshot", str(tmp_path / "x"), "--other", "1"], {})
    assert catalog == SnapshotCatalog(tmp_path / "x", tmp_path)


def test_datasets_are_shared_until_the_snapshot_changes(tmp_path: Path) -> None:
    path = write_small_snapshot(tmp_path / "snap")
    first = open_dataset(path)
    assert open_dataset(path) is first
    assert open_dataset(tmp_path / "." / "snap") is first  # the same folder, spelled otherwise
    before = first.events().height
    with SnapshotWriter(path, mode="append") as w:  # what a running `workbench watch` does
        w.write("events", conform("events", [{"cluster": "kind-a", "namespace": "shop", "name": "late",
                                              "type": "Normal", "reason": "Late", "message": "appended",
                                              "first_time": T1, "last_time": T1, "count": 1, "observed_at": T1}]))  # fmt: skip
    second = open_dataset(path)
    assert second is not first and second.events().height == before + 1
    assert first.events().height == before  # a session's dataset changes only when it refreshes
    with pytest.raises(SnapshotError, match="no snapshot at"):
        open_dataset(tmp_path / "missing")


def test_the_server_warm_up_imports_the_pages_opens_the_snapshot_and_freezes(root: Path) -> None:
    """``panel serve --setup workbench/ui/warmup.py`` (what ``workbench serve`` runs), as Panel
    runs it, in a fresh process: every app's page module is imported, the default snapshot is
    open, no page is built, and the objects made so far are out of the garbage collector's way."""
    import subprocess
    import sys

    code = """
import gc, json, sys
from types import ModuleType
path = sys.argv[1]
module = ModuleType("panel_setup_module")
module.__dict__["__file__"] = path
before = set(sys.modules)
exec(compile(open(path).read(), path, "exec"), module.__dict__)
from workbench.ui import serving, warmup
print(json.dumps({
    "modules": sorted(m for m in set(sys.modules) - before if m.startswith("workbench.ui.")),
    "frozen": gc.get_freeze_count(),
    "datasets": [str(k) for k in serving._DATASETS],
    "again": warmup.warm_up(),
    "pages": len(serving._SESSIONS),
}))
"""
    env = {
        **os.environ,
        "WORKBENCH_SNAPSHOT": str(root / "prod"),
        "WORKBENCH_APPS": str(Path("apps").resolve()),
    }
    out = subprocess.run([sys.executable, "-c", code, str(serve_module.WARM_UP)], env=env, capture_output=True,
                         text=True, check=True, timeout=300)  # fmt: skip
    got = __import__("json").loads(out.stdout.strip().splitlines()[-1])
    pages = {f"workbench.ui.{m}" for m in ("logs", "overview", "cluster", "triage", "rightsizing")}
    assert pages <= set(got["modules"]), got["modules"]
    assert got["frozen"] > 100_000  # the imports' objects
    assert got["datasets"] == [str((root / "prod").resolve())]
    assert got["again"] == [] and got["pages"] == 0  # once per process; no page built
