"""Test modules have unique names: pytest imports them by basename (no __init__.py in tests/)."""

from collections import Counter
from pathlib import Path


def test_test_module_names_are_unique() -> None:
    names = Counter(p.name for p in (Path(__file__).resolve().parents[1]).rglob("test_*.py"))
    assert [n for n, c in names.items() if c > 1] == []
