"""docs/architecture.md stays true to the schema."""

from pathlib import Path

from workbench.schema import SCHEMA_VERSION, SCHEMAS

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def test_every_table_and_column_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip().strip("`"): line for line in text.splitlines() if line.startswith("| `")
    }
    for table, schema in SCHEMAS.items():
        assert table in rows, f"table {table} missing from docs/architecture.md"
        documented = [c.strip() for c in rows[table].rstrip(" |").rsplit("|", 1)[1].split(",")]
        assert documented == list(schema), (
            f"columns of {table} in docs/architecture.md differ from the schema"
        )
    assert f"`SCHEMA_VERSION` is {SCHEMA_VERSION}" in text


def test_links_in_readme_and_docs_point_to_files_that_exist() -> None:
    import re

    root = DOC.parents[1]
    pages = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(root)} → {target}")
    assert not broken, "broken links: " + ", ".join(broken)
