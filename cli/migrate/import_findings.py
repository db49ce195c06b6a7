"""What an importer reports about each part of what it read: kept as it was, translated, or left out and why."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One reported part of the workflow: where it is (a JSON path) and what became of it."""

    where: str
    text: str

    def __str__(self) -> str:
        return f"{self.where}: {self.text}"
