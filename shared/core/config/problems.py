"""Configuration problems: each named by where it was found, its value masked, all reported together.

A ``Problems`` collector is handed down the configuration as it is read; ``at``, ``index`` and ``entry`` give a
collector for one place inside it (``problems.at("rules").index(0).at("target")``), so each check reports under
the place it was handed and never builds a name itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from shared.core.common.errors import InvalidValue
from shared.core.common.records import NO_ENTRIES
from shared.core.common.redaction import MASK, mask_text, masked, secret_values

_SECRET_HINTS = ("KEY", "SECRET", "TOKEN", "PASSWORD", "CONNECTIONSTRING", "STORAGE", "SAS")

Found = tuple[str, float, str] | None
"""A cross-field check's finding: (setting, value, expected) for ConfigError, or None when the settings agree."""


@dataclass(frozen=True)
class Problem:
    where: str
    value: Any
    expected: str
    secrets: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    """Values of secret-named settings, masked wherever they appear in the line."""

    def __str__(self) -> str:
        shown = _shown(self.where, self.value, self.secrets)
        # Masked whole: a key is written by whoever wrote the value, and lands in ``where`` and in ``shown`` too.
        return mask_text(f"{self.where} = {shown}: {self.expected}", self.secrets)


class ConfigError(InvalidValue, ValueError):
    """The configuration is unusable; the message lists every problem found, one per line."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"invalid configuration ({len(problems)} problem{'s' * (len(problems) != 1)}):\n{lines}")


def _shown(where: str, value: Any, secrets: frozenset[str] = frozenset()) -> str:
    """A value as an error may show it: secrets masked by name and by value, URLs without query, long text cut."""
    if value is None:
        return "(not set)"
    text = repr(_redacted(where, value, secrets))
    return text if len(text) <= 400 else text[:397] + "..."


def _redacted(where: str, value: Any, secrets: frozenset[str]) -> Any:
    """``value`` masked (shared.core.common.redaction), inside lists and objects too; a ``Key=Value`` text under a
    storage- or secret-named field is masked whole."""
    if isinstance(value, dict):
        return {key: _redacted(f"{where}.{key}", item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(where, item, secrets) for item in value]
    hinted = any(hint in where.upper().replace("_", "") for hint in _SECRET_HINTS)
    if isinstance(value, str) and "=" in value and hinted:
        return MASK
    return masked(value, secrets, name=where)


class _Place(NamedTuple):
    """A place in the configuration: ``path`` (keys joined by '.', list items as ``[i]``) after ``prefix``, unless
    ``names`` gives the path a name of its own (a one-rule key is reported as the app setting that fills it)."""

    prefix: str = ""
    path: str = ""
    names: Mapping[str, str] = NO_ENTRIES

    @property
    def where(self) -> str:
        return self.names.get(self.path) or f"{self.prefix}{self.path}"


_TOP = _Place()
"""The configuration's top: no prefix, no path (a new collector reports here)."""


@dataclass(frozen=True, eq=False)
class Problems:
    """Every problem found in one reading of the configuration (``of``), each masking the values of secret-named
    settings; this collector reports under its own place in the configuration, into the one shared list."""

    found: list[Problem] = field(default_factory=list)
    secrets: frozenset[str] = frozenset()
    place: _Place = _TOP

    @classmethod
    def of(cls, env: Mapping[str, str] | None = None) -> Problems:
        """An empty collector that masks the values of the secret-named settings in ``env``."""
        return cls(secrets=secret_values(env or {}))

    def _moved(self, place: _Place) -> Problems:
        return dataclasses.replace(self, place=place)

    @property
    def where(self) -> str:
        """The name problems found here are reported under."""
        return self.place.where

    def at(self, key: str) -> Problems:
        """The collector for ``key`` of the object here."""
        path = self.place.path
        return self._moved(self.place._replace(path=f"{path}.{key}" if path else key))

    def index(self, index: int) -> Problems:
        """The collector for item ``index`` of the list here."""
        return self._moved(self.place._replace(path=f"{self.place.path}[{index}]"))

    def entry(self, name: str) -> Problems:
        """The collector for entry ``name`` of a mapping value (a parameter, an output): a name chosen by whoever
        wrote the value, so it is appended to this place's name and never looked up as a key."""
        return self._moved(_Place(prefix=f"{self.where}.", path=name))

    def setting(self, name: str) -> Problems:
        """The collector for app setting ``name``, wherever this one is (a rule's value may come from one)."""
        return self._moved(_Place(path=name))

    def under(self, prefix: str, names: Mapping[str, str] | None = None) -> Problems:
        """The collector for a document whose places are named after ``prefix`` (``"rules.json: "``), or by
        ``names`` where it gives a path its own name."""
        return self._moved(_Place(prefix=prefix, names=names or NO_ENTRIES))

    def add(self, value: Any, expected: str) -> None:
        """A problem with ``value`` found here: it should have been ``expected``."""
        self.found.append(Problem(self.where, value, expected, self.secrets))

    def report(self, key: str, value: Any, expected: str) -> None:
        """A problem with ``key`` here (the shape ``shared.core.config.settings`` reports in)."""
        self.at(key).add(value, expected)

    def add_found(self, found: Found) -> None:
        """A cross-field check's finding, if it found something."""
        if found:
            self.report(*found)

    def extend(self, problems: Iterable[Problem]) -> None:
        self.found.extend(problems)

    def __len__(self) -> int:
        return len(self.found)

    def raise_any(self) -> None:
        """Raise ConfigError listing every problem found, if any was."""
        if self.found:
            raise ConfigError(list(self.found))
