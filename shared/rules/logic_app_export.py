"""A Logic App workflow as users export it: code view or ``az logic workflow show`` (``{"definition": ...}``), the bare
definition, or an ARM template holding a ``Microsoft.Logic/workflows`` resource (its ``[parameters('x')]`` resolved to
the template's defaults)."""

from __future__ import annotations

import re
from typing import Any

from shared.rules.errors import InvalidValue
from shared.rules.import_findings import Finding

_ARM_PARAMETER = re.compile(r"^\[parameters\('(?P<name>[^']+)'\)\]$")


class LogicAppError(InvalidValue, ValueError):
    """Not a workflow this importer can translate at all: the message says what it expected."""


def workflow_definition(document: Any) -> tuple[str, dict[str, Any], list[Finding]]:
    """The workflow's name and definition, from any of the export forms; ARM parameters resolved."""
    unsupported: list[Finding] = []
    if not isinstance(document, dict):
        raise LogicAppError("a workflow is a JSON object: {\"definition\": {...}}, the definition itself, or an ARM "
                            "template with a Microsoft.Logic/workflows resource")
    if isinstance(document.get("resources"), list):
        workflows = [resource for resource in document["resources"] if isinstance(resource, dict)
                     and str(resource.get("type", "")).lower() == "microsoft.logic/workflows"]
        if not workflows:
            raise LogicAppError("the ARM template has no Microsoft.Logic/workflows resource")
        defaults = {key: value.get("defaultValue") for key, value in (document.get("parameters") or {}).items()
                    if isinstance(value, dict) and "defaultValue" in value}
        workflow = workflows[0]
        name = _resolve_arm(workflow.get("name"), defaults, "resources[0].name", unsupported)
        definition = _resolve_arm((workflow.get("properties") or {}).get("definition"), defaults,
                                  "resources[0].properties.definition", unsupported)
    elif isinstance(document.get("definition"), dict):
        name, definition = document.get("name"), document["definition"]
    else:
        name, definition = None, document
    if not isinstance(definition, dict) or "triggers" not in definition:
        raise LogicAppError("no workflow definition (an object with triggers and actions) found")
    return (name if isinstance(name, str) and not name.startswith("[") else "logic-app"), definition, unsupported


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
