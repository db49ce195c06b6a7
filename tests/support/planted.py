"""Secret-looking pipeline parameters planted in an importer's input: a SAS signature and a bearer token, each of
which the report masks, so neither may reach the rules file the importer writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.core.config.rules_file import load_rules_file
from tests.support.settings import LOADED_AT

SAS = "sv=2024-08-04&sig=SECRETVALUE123456"
TOKEN = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhcHAifQ.SECRETTOKENSIGNATURE"
PARAMETERS = {"sas": SAS, "auth": TOKEN}
"""Planted next to a plain parameter: the plain one is written as it is."""
SECRET_PARTS = ("SECRETVALUE123456", "eyJhbGciOiJIUzI1NiJ9", "SECRETTOKENSIGNATURE")


def leaked(*texts: str) -> list[str]:
    """The planted secrets' parts found in any of ``texts``."""
    return [part for part in SECRET_PARTS if any(part in text for text in texts)]


def withheld_lines(kind: str, name: str, setting_stem: str) -> list[str]:
    """The report's lines naming the setting each planted parameter now needs."""
    return [f"  NOT CARRIED OVER: {kind} {name!r} parameters.{parameter}: the value looks secret and is not written: "
            f"the file says %AML_PARAM_{setting_stem}_{parameter.upper()}%; set the app setting "
            f"AML_PARAM_{setting_stem}_{parameter.upper()} to it" for parameter in PARAMETERS]


def loaded_parameters(written: Path, *setting_stems: str) -> dict[str, dict[str, Any]]:
    """Each rule's and schedule's parameters, the written file loaded by the app's loader with the settings it
    names set to the planted values (as the report tells the user to)."""
    env = {f"AML_PARAM_{stem}_{parameter.upper()}": value for stem in setting_stems
           for parameter, value in PARAMETERS.items()}
    rules, schedules = load_rules_file({"TRIGGER_RULES_FILE": written.name, **env}, written.parent, now=LOADED_AT)
    return {item.name: dict(item.run.parameters) for item in (*rules, *schedules)}
