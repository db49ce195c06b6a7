"""The infra/ templates as data (parsed with pycep-parser, no Bicep CLI needed) and the postdeploy hooks run
against the fake ``az`` (tests/support/fake_az.py), for tests/infra/test_infra.py."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

from pycep import BicepParser

from tests.support.harness import PROJECT_ROOT

INFRA = PROJECT_ROOT / "infra"
HOOK_SH = PROJECT_ROOT / "scripts" / "postdeploy.sh"
HOOK_PS1 = PROJECT_ROOT / "scripts" / "postdeploy.ps1"
FAKE_AZ = Path(__file__).with_name("fake_az.py")


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


@cache
def parsed(relative: str) -> dict[str, Any]:
    """A template under infra/ as pycep's dict: parameters, variables, resources, modules, outputs (each present,
    empty when the template has none)."""
    template = BicepParser().parse(file_path=INFRA / relative)
    return {section: {} for section in ("parameters", "variables", "resources", "modules", "outputs")} | template


def dotted(value: Any) -> str | None:
    """``a.b.c`` for a pycep property access (``watched.outputs.blobEndpoint``), else None."""
    if not isinstance(value, dict) or value.get("operator", {}).get("type") != "property_accessor":
        return None
    operands = value["operator"]["operands"]
    rest = dotted(operands["operand_2"]) if isinstance(operands["operand_2"], dict) else operands["operand_2"]
    return f"{operands['operand_1']}.{rest}"


def resolve(value: Any, names: dict[str, str]) -> str:
    """A Bicep value as the string it deploys as: a name (parameter, variable, property access) looked up in
    ``names``, ``string(name)`` as the name, ``${name}`` interpolations filled in, any other string a
    literal. pycep writes names and literals
    alike as strings, so a name is recognised by being in ``names``; an unknown access is an error."""
    if isinstance(value, dict) and value.get("function", {}).get("type") == "string":  # string(aNumber)
        return resolve(value["function"]["parameters"]["value_to_convert"], names)
    if isinstance(value, dict):
        path = dotted(value)
        if path not in names:
            raise KeyError(f"no placeholder for {path or value}")
        return names[path]
    if value in names:
        return names[value]
    text = str(value)
    for name, replacement in names.items():
        text = text.replace("${" + name + "}", replacement)
    assert "${" not in text, f"unresolved interpolation in {value!r}"
    return text


HOOK_ENV = {
    "AZURE_FUNCTION_APP_NAME": "func-abc123",
    "RESOURCE_GROUP": "rg-dev",
    "SERVICE_APP_HOSTNAME": "func-abc123.azurewebsites.net",
    "EVENT_GRID_TOPIC_ID": "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-dev/providers/"
                           "Microsoft.EventGrid/systemTopics/evgt-abc123",
    "WATCHED_STORAGE_ACCOUNT_ID": "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-dev/"
                                  "providers/Microsoft.Storage/storageAccounts/stdataabc123",
    "AZURE_MANAGED_IDENTITY_ID": "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-dev/"
                                 "providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-abc123",
    "DEAD_LETTER_CONTAINER": "aml-trigger-deadletter",
    "WATCH_CONTAINER": "training-data",
    "WATCH_PREFIX": "incoming/",
    "WATCH_SUFFIX": ".csv",
    "TRIGGER_RULES_FILE": "",
}
"""What azd exports to the hook: main.bicep's outputs, with values of their real shape."""


class FakeAz:
    """A bin folder whose ``az`` is the fake, its state (the webhook keys, the resources it holds, the
    provisioningState answers) and its calls."""

    def __init__(self, folder: Path, blobs_extension: str | None, eventgrid_extension: str | None = None,
                 provisioning: tuple[str, ...] = ("Succeeded",)) -> None:
        self.folder = folder
        (folder / "bin").mkdir()
        az = folder / "bin" / "az"
        az.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_AZ}" "$@"\n', encoding="utf-8")
        az.chmod(0o755)
        self.state = folder / "state.json"
        keys = {"blobs_extension": blobs_extension, "eventgrid_extension": eventgrid_extension}
        self.state.write_text(json.dumps({**keys, "resources": {}, "provisioning": list(provisioning)}),
                              encoding="utf-8")
        self.calls_file = folder / "calls.jsonl"
        self.calls_file.touch()
        self.tmp = folder / "tmp"
        self.tmp.mkdir()

    def run_hook(self, hook: Path = HOOK_SH, **env: str) -> subprocess.CompletedProcess[str]:
        """A hook (scripts/postdeploy.sh by default) under POSIX sh, as azd's ``shell: sh`` runs it, from the
        project root."""
        return subprocess.run(
            ["sh", str(hook)], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60,
            env={"PATH": f"{self.folder / 'bin'}:/usr/bin:/bin", "HOME": str(self.folder),
                 "FAKE_AZ_STATE": str(self.state), "FAKE_AZ_CALLS": str(self.calls_file),
                 "TMPDIR": str(self.tmp), **HOOK_ENV, **env})

    def calls(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.calls_file.read_text(encoding="utf-8").splitlines()]

    def resources(self) -> dict[str, Any]:
        return json.loads(self.state.read_text(encoding="utf-8"))["resources"]
