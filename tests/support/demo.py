"""Generate the default demo snapshot once, and again only when the code that makes it changed."""

from __future__ import annotations

import hashlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Code whose change makes a previously generated demo stale.
_INPUTS = ("workbench/sources/demo", "workbench/kube", "workbench/store", "workbench/schema.py")


def code_hash() -> str:
    h = hashlib.sha256()
    for item in _INPUTS:
        path = ROOT / item
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for f in files:
            h.update(str(f.relative_to(ROOT)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def ensure_demo(out: Path) -> Path:
    """Return ``out`` holding the default demo made by the current code (generate if needed)."""
    from workbench.sources.demo import generate

    stamp = out.parent / f".{out.name}.code"
    want = code_hash()
    if out.is_dir() and (out / "manifest.json").is_file() and stamp.is_file() and stamp.read_text() == want:
        return out
    generate(out, overwrite=True)
    stamp.write_text(want)
    return out
