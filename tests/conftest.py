"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

#: Real samples recorded from clusters; CI clones the repo with ``shared/`` beside it.
REALDATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "realdata"


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The folder of real-world samples (``<repo>/../shared/realdata``)."""
    if not REALDATA.is_dir():
        pytest.fail(
            f"real data samples not found at {REALDATA.resolve()}; "
            "check out the shared/ folder beside the repository (CI does this)",
            pytrace=False,
        )
    return REALDATA.resolve()


#: The demo snapshot shared by notebook, app and ground-truth tests (the notebooks' default
#: ``snapshot`` parameter points here).
DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


@pytest.fixture(scope="session")
def demo_snapshot() -> Path:
    """``data/demo`` generated with the default parameters by the current code.

    Regenerated when absent or made by other code (a stale demo would test old behaviour)."""
    from tests.support.demo import ensure_demo

    return ensure_demo(DEMO)


@pytest.fixture(scope="session")
def browser():  # noqa: ANN201 - a playwright Browser
    """One Debian Chromium for the whole session. Playwright's sync API runs an event loop in
    this thread while it is open, so every browser test must share this one (a second
    ``sync_playwright()`` would fail inside the first one's loop)."""
    from playwright.sync_api import sync_playwright

    from tests.support.browser import launch, require_chromium

    require_chromium()
    with sync_playwright() as pw, launch(pw) as b:
        yield b
