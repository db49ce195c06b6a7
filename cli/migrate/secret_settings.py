"""A value the report would mask is never written to the imported rules file: the file says ``%SETTING%`` instead
(the loader substitutes app settings into any string), and the report names that setting, never the value, so a
secret lives in app settings (or a Key Vault reference) only."""

from __future__ import annotations

import re
from typing import Any

from cli.migrate.import_findings import Finding
from shared.core.common.redaction import mask_text, secret_name

PARAMETER_PREFIX = "AML_PARAM_"
"""A withheld pipeline parameter's setting: ``AML_PARAM_<RULE>_<PARAMETER>``."""
FIELD_PREFIX = "AML_IMPORT_"
"""Any other withheld value's setting: ``AML_IMPORT_<RULE>_<FIELD>``."""


def withhold_secrets(entry: dict[str, Any], kind: str, values: dict[str, str], taken: set[str]) -> list[Finding]:
    """Replace, in the named ``entry`` (a rule or a schedule), each value masking would hide with a %SETTING%
    reference, and leave out each key masking would hide. ``values`` gets each setting's value (for the import's
    own load check only, never written); ``taken`` holds the setting names already used by this import, so two
    values never share one. One finding per value, naming the setting."""
    found: list[Finding] = []
    owner = str(entry["name"])  # written itself: the deploy hook reads names as written
    for key in [key for key in entry if key != "name"]:
        entry[key] = _withheld(entry[key], [key], f"{kind} {owner!r}", owner, values, taken, found)
    return found


def _withheld(value: Any, path: list[str], where: str, owner: str, values: dict[str, str], taken: set[str],
              found: list[Finding]) -> Any:
    here = f"{where} {'.'.join(path)}"
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            if mask_text(str(key)) != str(key):
                found.append(Finding(f"{here}.{key}", "a name that looks secret: left out of the file"))
            else:
                kept[key] = _withheld(item, [*path, str(key)], where, owner, values, taken, found)
        return kept
    if isinstance(value, list):
        return [_withheld(item, [*path, str(index)], where, owner, values, taken, found)
                for index, item in enumerate(value)]
    if not isinstance(value, str) or not _would_mask(value, path):
        return value
    setting = _setting_name(owner, path, taken)
    values[setting] = value
    found.append(Finding(here, f"the value looks secret and is not written: the file says %{setting}%; set the app "
                               f"setting {setting} to it"))
    return f"%{setting}%"


def _would_mask(value: str, path: list[str]) -> bool:
    """Whether the report shows ``value`` masked: by its shape anywhere, by its name as a pipeline parameter."""
    named_secret = len(path) == 2 and path[0] == "parameters" and secret_name(path[1])
    return bool(value) and (named_secret or mask_text(value) != value)


def _setting_name(owner: str, path: list[str], taken: set[str]) -> str:
    """``AML_PARAM_<RULE>_<NAME>`` (or ``AML_IMPORT_<RULE>_<FIELD>``) in capitals, digits and ``_``; a name already
    used by this import gets ``_2``, ``_3``..."""
    prefix, parts = (PARAMETER_PREFIX, path[1:]) if path[0] == "parameters" else (FIELD_PREFIX, path)
    base = prefix + re.sub(r"[^A-Z0-9]+", "_", "_".join([owner, *parts]).upper()).strip("_")
    name, count = base, 1
    while name in taken:
        count += 1
        name = f"{base}_{count}"
    taken.add(name)
    return name
