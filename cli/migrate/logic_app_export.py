"""A Logic App workflow as users export it: code view or ``az logic workflow show`` (``{"definition": ...}``), the bare
definition, or an ARM template holding a ``Microsoft.Logic/workflows`` resource (its ``[parameters('x')]`` resolved to
the template's defaults)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cli.migrate.import_findings import Finding
from shared.core.common.errors import InvalidValue

_ARM_PARAMETER = re.compile(r"^\[parameters\('(?P<name>[^']+)'\)\]$")


class LogicAppError(InvalidValue, ValueError):
    """Not a workflow this importer can translate at all: the message says what it expected."""


@dataclass(frozen=True)
class ExportedWorkflow:
    """One workflow of an export: its name, its definition (ARM parameters resolved), where the export holds it."""

    name: str
    definition: Any
    """As exported: the importer checks it is an object with triggers and actions."""
    where: str
    """``resources[i]`` in an ARM template, else ``definition``: how the report names a workflow not imported."""
    unsupported: list[Finding]


def workflow_definitions(document: Any) -> list[ExportedWorkflow]:
    """Every workflow in any of the export forms (an ARM template may hold several), ARM parameters resolved;
    LogicAppError if it holds none. Whether each definition can be translated is the importer's to say."""
    if not isinstance(document, dict):
        raise LogicAppError("a workflow is a JSON object: {\"definition\": {...}}, the definition itself, or an ARM "
                            "template with a Microsoft.Logic/workflows resource")
    if not isinstance(document.get("resources"), list):
        name, definition = (document.get("name"), document["definition"]) if isinstance(
            document.get("definition"), dict) else (None, document)
        return [_workflow(name, definition, "definition", [])]
    defaults = {key: value.get("defaultValue") for key, value in (document.get("parameters") or {}).items()
                if isinstance(value, dict) and "defaultValue" in value}
    workflows = []
    for index, resource in enumerate(document["resources"]):
        if isinstance(resource, dict) and str(resource.get("type", "")).lower() == "microsoft.logic/workflows":
            where = f"resources[{index}]"
            unsupported: list[Finding] = []
            name = _resolve_arm(resource.get("name"), defaults, f"{where}.name", unsupported)
            definition = _resolve_arm((resource.get("properties") or {}).get("definition"), defaults,
                                      f"{where}.properties.definition", unsupported)
            workflows.append(_workflow(name, definition, where, unsupported))
    if not workflows:
        raise LogicAppError("the ARM template has no Microsoft.Logic/workflows resource")
    return workflows


def _workflow(name: Any, definition: Any, where: str, unsupported: list[Finding]) -> ExportedWorkflow:
    return ExportedWorkflow(name if isinstance(name, str) and not name.startswith("[") else "logic-app", definition,
                            where, unsupported)


def _resolve_arm(value: Any, defaults: dict[str, Any], where: str, unsupported: list[Finding]) -> Any:
    """``[parameters('x')]`` replaced by the template's default; other ARM expressions listed, left as written."""
    if isinstance(value, dict):
        return {key: _resolve_arm(item, defaults, f"{where}.{key}", unsupported) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve_arm(item, defaults, f"{where}[{index}]", unsupported) for index, item in enumerate(value)]
    if not isinstance(value, str) or not value.startswith("["):
        return value
    if value.startswith("[["):
        return value[1:]
    match = _ARM_PARAMETER.match(value)
    if match and match["name"] in defaults:
        return defaults[match["name"]]
    unsupported.append(Finding(where, f"ARM expression {value!r} without a default: give the deployed value"))
    return value
