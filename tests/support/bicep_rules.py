"""Bicep's deploy-time-constant rules, modelled over pycep-parser's tree, for tests/infra/test_bicep_rules.py:
what a value the deployment must know at its start may read. pycep checks syntax only, so without this a template
that parses can still be refused by ``bicep build`` (and so by ``azd up``).

The rules, from the Bicep compiler (Azure/bicep ``src/Bicep.Core/TypeSystem/DeployTimeConstant*.cs``,
``Providers/Az/AzResourceTypeProvider.cs``, ``Providers/ResourceTypeResolver.cs``, ``LanguageConstants.cs``):

- Containers: a new resource's top-level ``name``, ``location``, ``scope``, ``parent`` and the other properties of
  ``RESOURCE_CONSTANT_PROPERTIES`` (BCP120); a module's ``name``, ``scope``, ``identity`` (BCP120); every resource
  and module ``if`` condition (BCP177); every ``for`` expression (BCP178), and for a ``var`` declared as a loop its
  body too (BCP182). An ``existing`` resource's body is not a container.
- A container may read parameters, literals, loop variables, functions other than ``reference()``, ``list*()`` and
  the other functions Bicep inlines, and variables whose whole value (loop source and body included) is itself
  constant. Of a resource it may read only ``id``, ``name``, ``type``, ``apiVersion``; of an ``existing`` one
  those only while its own ``name``, ``scope`` and ``parent`` are constant; of a module only ``name``. A whole
  resource or module is refused, except as the ``scope`` or ``parent`` of a resource.

Not modelled: nested properties the resource type library flags as constant, function parameters flagged constant,
user-defined functions, extensions, nested resource declarations. pycep writes names and string literals alike as
bare strings, so a literal that looks like a name (``'identity'``) is marked before parsing.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pycep import BicepParser

RESOURCE_CONSTANT_PROPERTIES = (
    "name", "scope", "parent", "location", "kind", "subscriptionId", "resourceGroup", "managedBy",
    "extendedLocation", "zones", "placement", "plan", "sku", "identity", "managedByExtended", "tags", "asserts")
"""AzResourceTypeProvider: the ``ReadWriteDeployTimeConstantPropertyNames`` one may set (name), the
``WriteOnlyDeployTimeConstantPropertyNames``, and the ``scope`` and ``parent`` system properties."""
MODULE_CONSTANT_PROPERTIES = ("name", "scope", "identity")
"""LanguageConstants.CreateModuleType: the module body's deploy-time-constant properties."""
RESOURCE_READABLE = frozenset({"id", "name", "type", "apiVersion"})
"""ReadWriteDeployTimeConstantPropertyNames: the properties of a resource known at the start of a deployment."""
MODULE_READABLE = frozenset({"name", "scope"})
INLINED_FUNCTIONS = frozenset({"reference", "list_func", "listKeys", "exists", "existingResource", "toLogicalZone",
                               "toLogicalZones", "toPhysicalZone", "toPhysicalZones"})
"""Functions flagged RequiresInlining (pycep names every ``list*`` call ``list_func``)."""
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INTERPOLATION = re.compile(r"\$\{([^{}]*)\}")
_QUOTED_WORD = re.compile(r"'([A-Za-z_][A-Za-z0-9_]*)'")
"""A string literal pycep would write as a bare word, the same as a name: marked so it cannot pass for one."""


@dataclass(frozen=True)
class Violation:
    """One value the deployment needs at its start that reads something known only once it runs."""

    file: str
    line: int
    code: str
    where: str
    reads: str

    def __str__(self) -> str:
        return (f"{self.file}:{self.line}: {self.code}: {self.where} needs a value known at the start of the "
                f"deployment but reads {self.reads}")


@cache
def _expression(text: str) -> Any:
    """An expression's pycep tree (an interpolation's or a loop source pycep left as text)."""
    return BicepParser().parse(text=f"var expression = {text}\n")["variables"]["expression"]["value"]


class Template:
    """One parsed .bicep file and the deploy-time-constant violations in it."""

    def __init__(self, text: str, name: str) -> None:
        self.name, self.lines = name, text.splitlines()
        tree: dict[str, Any] = BicepParser().parse(  # type: ignore[assignment]  # pycep's TypedDicts, read as data
            text="\n".join(line if line.startswith("targetScope") else _QUOTED_WORD.sub(r"'-\1'", line)
                            for line in self.lines))
        self.parameters = set(tree.get("parameters", {}))
        self.variables = {key: value["value"] for key, value in tree.get("variables", {}).items()}
        self.resources: dict[str, dict[str, Any]] = tree.get("resources", {})
        self.modules: dict[str, dict[str, Any]] = tree.get("modules", {})
        self.outputs = {key: value.get("value") for key, value in tree.get("outputs", {}).items()}
        self._variable_reads: dict[str, list[str]] = {}
        self._runtime_existing: dict[str, bool] = {}

    @classmethod
    def from_file(cls, path: Path, name: str) -> Template:
        return cls(path.read_text(encoding="utf-8"), name)

    def violations(self) -> list[Violation]:
        found: list[Violation] = []
        for kind, declarations in (("resource", self.resources), ("module", self.modules)):
            for name, declaration in declarations.items():
                if kind == "resource" and declaration.get("existing"):
                    continue
                found += self._declaration(kind, name, declaration["config"])
        for name, value in self.variables.items():
            found += self._loops(f"var {name}", value, frozenset(), variable=name)
        for name, value in self.outputs.items():
            found += self._loops(f"output {name}", value, frozenset())
        return list(dict.fromkeys(found))

    # containers

    def _declaration(self, kind: str, name: str, config: dict[str, Any]) -> list[Violation]:
        header = f"{kind} {name}"
        found: list[Violation] = []
        local: frozenset[str] = frozenset()
        if "loop_type" in config:
            found += self._loop_source(header, config["loop_type"], frozenset())
            local = _loop_names(config["loop_type"])
        if "config" in config and ("loop_type" in config or set(config) == {"condition", "config"}):
            if config.get("condition") is not None:
                found += self._check(header, "BCP177", f"{header}: the if condition", r"\bif\s*\(",
                                     config["condition"], local)
            config = config["config"]
        constants = RESOURCE_CONSTANT_PROPERTIES if kind == "resource" else MODULE_CONSTANT_PROPERTIES
        for key, value in config.items():
            if key in constants and not (key in ("scope", "parent") and self._whole_reference_allowed(value)):
                found += self._check(header, "BCP120", f"{header}: property {key}", rf"^\s*{key}\s*:", value, local)
            found += self._loops(header, value, local)
        return found

    def _loops(self, header: str, value: Any, local: frozenset[str], variable: str | None = None) -> list[Violation]:
        """Every ``for`` inside value: its source (BCP178), and for a variable's own loop its body (BCP182)."""
        if isinstance(value, list):
            return [found for item in value for found in self._loops(header, item, local)]
        if not isinstance(value, dict):
            return []
        if "loop_type" not in value:
            return [found for item in value.values() for found in self._loops(header, item, local)]
        found = self._loop_source(header, value["loop_type"], local)
        inner = local | _loop_names(value["loop_type"])
        if variable is not None:
            found += self._check(header, "BCP182", f"the for-body of var {variable}", r"\bfor\b",
                                 [value.get("condition"), value["config"]], inner)
        return found + self._loops(header, value["config"], inner)

    def _loop_source(self, header: str, loop: dict[str, Any], local: frozenset[str]) -> list[Violation]:
        detail = loop["detail"]
        source = [detail.get("array_name"), detail.get("object_name"), detail.get("start_index"), detail.get("count")]
        named = detail.get("array_name")
        needle = rf"\bfor\b.*\bin\s+{named}\b" if isinstance(named, str) and _IDENTIFIER.match(named) else r"\bfor\b"
        return self._check(header, "BCP178", f"{header}: the for expression", needle,
                           [_literal_text(part) for part in source], local)

    def _check(self, header: str, code: str, where: str, needle: str, value: Any,
               local: frozenset[str]) -> list[Violation]:
        line = self._line(header, needle)
        return [Violation(self.name, line, code, where, reads) for reads in self._runtime_reads(value, local)]

    def _line(self, header: str, needle: str) -> int:
        """The line of needle at or after the declaration's first line (1-based)."""
        start = next(index for index, text in enumerate(self.lines) if re.match(rf"^{header}\b", text))
        return next((index + 1 for index, text in enumerate(self.lines[start:], start)
                     if re.search(needle, text)), start + 1)

    # what a value reads

    def _runtime_reads(self, value: Any, local: frozenset[str]) -> list[str]:
        """What value reads that is known only once the deployment runs, each as written (``a.b``, ``f()``,
        ``var -> a.b`` through a variable)."""
        if isinstance(value, list):
            return [read for item in value for read in self._runtime_reads(item, local)]
        if isinstance(value, str):
            if _IDENTIFIER.match(value):
                return self._access([value], local)
            return [read for text in _INTERPOLATION.findall(value)
                    for read in self._runtime_reads(_expression(text), local)]
        if not isinstance(value, dict):
            return []
        if "loop_type" in value:
            inner = local | _loop_names(value["loop_type"])
            detail = value["loop_type"]["detail"]
            parts = [_literal_text(detail.get(key)) for key in ("array_name", "object_name", "start_index", "count")]
            return self._runtime_reads([*parts, value.get("condition"), value["config"]], inner)
        if "function" in value:
            function = value["function"]
            name = function["parameters"].get("func_name") or function["type"]
            if function["type"] in INLINED_FUNCTIONS or name in INLINED_FUNCTIONS:
                return [f"{name}()"]
            return self._runtime_reads(list(function["parameters"].values()), local)
        operator = value.get("operator", {})
        if operator.get("type") in ("property_accessor", "index_accessor"):
            base, segments, indexes = _chain(value)
            reads = self._runtime_reads(indexes, local)
            if isinstance(base, str):
                return reads + self._access([base, *segments], local)
            return reads + self._runtime_reads(base, local)
        return self._runtime_reads(list(value.values()), local)

    def _access(self, path: list[Any], local: frozenset[str]) -> list[str]:
        base, rest = path[0], path[1:]
        if base in local or base in self.parameters:
            return []
        if base in self.variables:
            return [f"{base} -> {read}" for read in self._variable(base)]
        if base not in self.resources and base not in self.modules:
            return []  # a literal pycep wrote as a bare word, or a built-in namespace
        if "loop_type" in self._declared(base)["config"]:
            rest = rest[1:]  # resources[i].name: the index picks one of the collection
        written = ".".join([base, *(str(part) for part in rest[:1])])
        if not rest or not isinstance(rest[0], str):
            return [written]
        if base in self.modules:
            return [] if rest[0] in MODULE_READABLE else [written]
        if rest[0] in RESOURCE_READABLE and not self._is_runtime_existing(base):
            return []
        return [written]

    def _declared(self, name: str) -> dict[str, Any]:
        return self.resources.get(name) or self.modules[name]

    def _variable(self, name: str) -> list[str]:
        if name not in self._variable_reads:
            self._variable_reads[name] = []  # a cycle reads nothing more (Bicep refuses cycles itself)
            self._variable_reads[name] = self._runtime_reads(self.variables[name], frozenset())
        return self._variable_reads[name]

    def _is_runtime_existing(self, name: str) -> bool:
        """An existing resource whose name, scope or parent is known only at run time: nothing of it is constant."""
        resource = self.resources.get(name)
        if not resource or not resource.get("existing"):
            return False
        if name not in self._runtime_existing:
            self._runtime_existing[name] = False
            body = resource["config"].get("config", resource["config"])
            identity = [value for key, value in body.items() if key in ("name", "scope", "parent")
                        and not (key != "name" and self._whole_reference_allowed(value))]
            self._runtime_existing[name] = bool(self._runtime_reads(identity, frozenset()))
        return self._runtime_existing[name]

    def _whole_reference_allowed(self, value: Any) -> bool:
        """``scope: account`` / ``parent: blobs``: a whole resource, fine unless it is a runtime existing one."""
        return (isinstance(value, str) and value in self.resources and not self._is_runtime_existing(value))


def _chain(value: Any) -> tuple[Any, list[Any], list[Any]]:
    """A property/index access flattened: its base (a name, or a function call's tree), the segments after it
    (property names, indexes; None for a computed one) and the indexes that are expressions, to check too."""
    operator = value.get("operator", {}) if isinstance(value, dict) else {}
    if operator.get("type") not in ("property_accessor", "index_accessor"):
        return value, [], []
    first, second = operator["operands"]["operand_1"], operator["operands"]["operand_2"]
    base, segments, indexes = _chain(first)
    if operator["type"] == "index_accessor":
        computed = [] if isinstance(second, int) else [second]
        return base, [*segments, second if isinstance(second, (int, str)) else None], [*indexes, *computed]
    head, more, more_indexes = _chain(second)
    return base, [*segments, head, *more], [*indexes, *more_indexes]


def _loop_names(loop: dict[str, Any]) -> frozenset[str]:
    detail = loop["detail"]
    return frozenset(name for name in (detail.get("item_name"), detail.get("index_name")) if name)


def _literal_text(value: Any) -> Any:
    """pycep writes an ``items(...)`` loop source as Python's repr of its tree: back to the tree."""
    if isinstance(value, str) and value[:1] in "{[":
        return ast.literal_eval(value)
    return value
