"""What every source shares."""

from __future__ import annotations

import os
from dataclasses import dataclass

from workbench.errors import InputError

__all__ = ["Problem"]


@dataclass(frozen=True, slots=True)
class Problem:
    """A part of an input that could not be read: the file, where in it, and why. The rest of
    the file was still read."""

    file: str | os.PathLike[str]
    position: str | None
    reason: str

    def __str__(self) -> str:
        return (
            f"{self.file}: {self.position}: {self.reason}" if self.position else f"{self.file}: {self.reason}"
        )

    def error(self) -> InputError:
        """The problem as an :class:`~workbench.errors.InputError`, for callers that must fail."""
        return InputError(str(self))
