"""Root pytest configuration: the scenario notebooks under ``notebooks/`` are run as-is by nbval
(``--nbval-lax``), and their default ``snapshot`` parameter is ``../data/demo``; make sure the
demo snapshot exists (made by the current code) before any notebook runs."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent


def pytest_collection_finish(session: pytest.Session) -> None:
    if any(Path(str(item.path)).suffix == ".ipynb" for item in session.items):
        from tests.support.demo import ensure_demo

        ensure_demo(ROOT / "data" / "demo")
