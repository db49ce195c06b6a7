"""shared/ is four layers, each importing only those below it, and none of it imports the Functions library.

The layers exist in the tree, not by convention: a module's layer is its package under shared/, and this test
names the import that breaks the order. Unit tests: the sources are parsed, never imported.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

LAYERS = ("rules", "clients", "flows", "operations")
"""Lowest first: pure rules; Azure clients and the ledger; the run flows; operations."""
FORBIDDEN = ("azure.functions", "azurefunctions")
ROOT = Path(__file__).resolve().parents[1]


def shared_sources(root: Path = ROOT) -> dict[str, str]:
    """Every module under shared/, by its path relative to the project (``shared/core/config/config_loader.py``)."""
    return {path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
            for path in sorted((root / "shared").rglob("*.py"))}


def _imports(path: str, source: str) -> Iterator[str]:
    """The dotted modules one file imports; relative imports resolved against its package."""
    package = path.removesuffix(".py").split("/")[:-1]
    for node in ast.walk(ast.parse(source, filename=path)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1] if node.level else [])
            module = ".".join(part for part in (base, node.module) if part)
            # `from shared import flows` names a layer as an attribute, not in the module path.
            yield from ([f"{module}.{alias.name}" for alias in node.names] if module == "shared" else [module])


def _layer(dotted: str) -> str | None:
    parts = dotted.split(".")
    return parts[1] if parts[0] == "shared" and len(parts) > 1 else None


def layering_problems(sources: Mapping[str, str]) -> list[str]:
    """One line per module outside a layer, per import of a higher layer, per import of the Functions library."""
    problems = []
    for path, source in sources.items():
        parts = path.split("/")
        if parts == ["shared", "__init__.py"]:
            own = -1
        elif len(parts) < 3 or parts[1] not in LAYERS:
            problems.append(f"{path} is in no layer; put it in one of shared/{{{','.join(LAYERS)}}}/")
            continue
        else:
            own = LAYERS.index(parts[1])
        for module in _imports(path, source):
            if module.startswith(FORBIDDEN):
                problems.append(f"{path} imports {module}: shared/ stays free of the Functions library")
            layer = _layer(module)
            if layer in LAYERS and LAYERS.index(layer) > own:
                problems.append(f"{path} ({LAYERS[own] if own >= 0 else 'shared'}) imports {module} ({layer}), "
                                f"a higher layer")
    return problems


def test_no_module_of_shared_imports_a_higher_layer_or_the_functions_library():
    sources = shared_sources()
    assert {path.split("/")[1] for path in sources if path.count("/") == 2} == set(LAYERS)
    assert layering_problems(sources) == []


def test_a_lower_layer_importing_a_higher_one_is_named_with_the_import():
    sources = {"shared/core/ledger/keys.py": "from shared.flows.blobs.blob_runs import process_blob\n",
               "shared/clients/ledger/ledger.py": "from ..operations import actions\n",
               "shared/flows/sweep/sweep.py": "import shared.operations.actions\n",
               "shared/operations/actions.py": "from shared.rules import keys\nfrom shared.flows import blob_runs\n"}
    assert layering_problems(sources) == [
        "shared/core/ledger/keys.py (rules) imports shared.flows.blobs.blob_runs (flows), a higher layer",
        "shared/clients/ledger/ledger.py (clients) imports shared.operations (operations), a higher layer",
        "shared/flows/sweep/sweep.py (flows) imports shared.operations.actions (operations), a higher layer",
    ]


def test_a_module_outside_the_layers_or_importing_the_functions_library_is_named():
    sources = {"shared/helpers.py": "import os\n",
               "shared/core/ledger/keys.py": "import azure.functions as func\n",
               "shared/flows/blobs/blob_runs.py": "from azurefunctions.extensions.bindings.blob import BlobClient\n",
               "shared/__init__.py": "from shared import flows\n"}
    assert layering_problems(sources) == [
        "shared/helpers.py is in no layer; put it in one of shared/{rules,clients,flows,operations}/",
        "shared/core/ledger/keys.py imports azure.functions: shared/ stays free of the Functions library",
        "shared/flows/blobs/blob_runs.py imports azurefunctions.extensions.bindings.blob: shared/ stays free of the "
        "Functions library",
        "shared/__init__.py (shared) imports shared.flows (flows), a higher layer",
    ]
