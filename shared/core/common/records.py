"""What the app's value records share. A ``NamedTuple`` (cheap to define at import: CONTRIBUTING.md) has one
default object for every record it makes, so a default must be one nobody can change."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

NO_ENTRIES: Mapping[Any, Any] = MappingProxyType({})
"""An empty mapping that cannot be filled: a record's mapping field defaults to it (a ``{}`` there would be one
dict shared by every record). Copy it (``dict(...)``, ``{**...}``) before writing it as JSON."""
