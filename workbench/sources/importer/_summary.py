"""What an import did: per format the files read, the rows written per table and the problems."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["FormatSummary", "ImportProgress", "ImportSummary", "Progress"]


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """One progress report: ``done`` of ``total`` files, the file just read and its format."""

    done: int
    total: int
    path: Path
    #: The format read (``None``: the file was skipped or unreadable).
    format: str | None
    #: Rows this file gave (Kubernetes objects are counted as read, before normalising).
    rows: int = 0


Progress = Callable[[ImportProgress], None]


@dataclass
class FormatSummary:
    """One format's share of an import."""

    files: int = 0
    #: Rows written per table.
    rows: dict[str, int] = field(default_factory=dict)
    #: Warnings recorded for files of this format.
    problems: int = 0

    def add_rows(self, table: str, count: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + count


@dataclass
class ImportSummary:
    """The result of :func:`~workbench.sources.importer.import_paths`.

    ``formats`` is keyed by format: ``kubernetes`` (every Kubernetes table, whichever file its
    objects came from), ``exposition``, ``otlp``, ``zipkin``, ``jaeger``, ``log`` (container and
    node log files), ``cluster-info-logs`` (a cluster-info dump's ``logs.txt``),
    ``cluster-info-dump`` (its single-file form) and ``unreadable`` (files that could not be read
    at all: binary, empty, damaged).
    """

    out: Path
    clusters: list[str] = field(default_factory=list)
    formats: dict[str, FormatSummary] = field(default_factory=dict)
    #: Files passed over without a warning (README, certificates…) and why.
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    #: The warnings recorded in the snapshot's manifest by this import.
    warnings: list[str] = field(default_factory=list)

    def format(self, name: str) -> FormatSummary:
        """The summary of one format (created empty when absent)."""
        return self.formats.setdefault(name, FormatSummary())

    def rows(self, table: str) -> int:
        """Rows written to ``table`` over all formats."""
        return sum(f.rows.get(table, 0) for f in self.formats.values())

    @property
    def files(self) -> int:
        """Files read (skipped ones not counted)."""
        return sum(f.files for name, f in self.formats.items() if name != "unreadable")

    def lines(self) -> list[str]:
        """The summary as aligned text lines, one per format and table (for the CLI)."""
        out = [f"{'format':<20} {'files':>6} {'table':<12} {'rows':>10} {'problems':>8}"]
        for name in sorted(self.formats):
            entry = self.formats[name]
            tables = sorted(entry.rows.items()) or [("-", 0)]
            for i, (table, count) in enumerate(tables):
                first = i == 0
                out.append(
                    f"{name if first else '':<20} {entry.files if first else '':>6} {table:<12} {count:>10} "
                    f"{entry.problems if first else '':>8}"
                )
        if self.skipped:
            out.append(f"{len(self.skipped)} file(s) skipped (not a format the import reads)")
        return out
