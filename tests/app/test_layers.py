"""shared/ is four layers of domain packages: each layer imports only those below it, no two packages import each
other (directly or round a cycle), the pure layer does no I/O and reads no clock, and none of it imports the
Functions library. docs/module-map.md explains the shape.

The layers exist in the tree, not by convention: a module's layer and domain are its folders under shared/
(``shared/<layer>/<domain>/<module>.py``), and these tests name the import that breaks the shape. Unit tests: the
sources are parsed, never imported.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.support.module_map import MODULE_MAP, written_order

pytestmark = pytest.mark.unit

LAYERS = ("core", "clients", "flows", "operations")
"""Lowest first: pure core; Azure clients and the ledger; the run flows; operations."""
FORBIDDEN = ("azure.functions", "azurefunctions")
IO_LIBRARIES = ("azure", "requests", "urllib3", "socket", "ssl", "selectors", "select", "socketserver", "http.client",
                "http.server", "urllib.request", "threading", "subprocess", "asyncio", "concurrent", "multiprocessing")
"""What the pure layer never imports: network, storage and Azure clients, servers, threads, processes."""
PURE_EXCEPTIONS = ("urllib3.util.parse_url",)
"""Pure functions of an I/O library the pure layer may import by name: urllib3's URL parser (core parses URLs as
the HTTP client will, see shared/core/aml/targets.py)."""
CLOCK_READS = ("datetime.now", "datetime.utcnow", "datetime.today", "date.today", "time.time", "time.time_ns",
               "time.monotonic", "time.monotonic_ns", "time.perf_counter", "time.sleep")
"""What the pure layer never calls: the time is passed in (shared/clients/common/clock.py holds the clock)."""
CLOCK_MODULE = "shared/clients/common/clock.py"
"""The one module that reads the system's clock: the rest of shared/, triggers/ and function_app.py are handed its
``Clock`` (``services.clock``, ``SYSTEM_CLOCK`` at the edge), so a test or a benchmark can drive every reading."""
ROOT = Path(__file__).resolve().parents[2]


def shared_sources(root: Path = ROOT) -> dict[str, str]:
    """Every module under shared/, by its path relative to the project (``shared/core/config/config_loader.py``)."""
    return {path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
            for path in sorted((root / "shared").rglob("*.py"))}


def edge_sources(root: Path = ROOT) -> dict[str, str]:
    """The Functions edge: every module under triggers/, and function_app.py."""
    paths = [*sorted((root / "triggers").rglob("*.py")), root / "function_app.py"]
    return {path.relative_to(root).as_posix(): path.read_text(encoding="utf-8") for path in paths}


def _imports(path: str, source: str) -> Iterator[str]:
    """The dotted modules one file imports; relative imports resolved against its package."""
    package = path.removesuffix(".py").split("/")[:-1]
    for node in ast.walk(ast.parse(source, filename=path)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1] if node.level else [])
            module = ".".join(part for part in (base, node.module) if part)
            # `from shared.core import config` names a package as an attribute, not in the module path.
            yield from ([f"{module}.{alias.name}" for alias in node.names] if module.count(".") < 2 else [module])


def _place(dotted: str) -> tuple[str, ...]:
    """(layer, domain) of a module of shared/, as far as the dotted name goes; () outside shared/."""
    parts = dotted.split(".")
    return tuple(parts[1:3]) if parts[0] == "shared" else ()


def _misplaced(parts: list[str]) -> str | None:
    """Why a file of shared/ is in no layer's domain, or None when it is in one (or is a package's __init__)."""
    if parts[-1] == "__init__.py" and len(parts) <= 4:
        return None if len(parts) == 2 or parts[1] in LAYERS else f"{parts[1]} is no layer"
    if len(parts) != 4 or parts[1] not in LAYERS:
        return "is in no layer's domain"
    return None


def layering_problems(sources: Mapping[str, str]) -> list[str]:
    """One line per module outside a layer's domain, per import of a higher layer, per import of the Functions
    library, per I/O library or clock read in the pure layer, per system clock read above it (``clock_problems``)."""
    problems = []
    for path, source in sources.items():
        parts = path.split("/")
        misplaced = _misplaced(parts)
        if misplaced:
            problems.append(f"{path} {misplaced}; put it in shared/<layer>/<domain>/, a layer one of "
                            f"{{{','.join(LAYERS)}}}")
            continue
        own = LAYERS.index(parts[1]) if len(parts) > 2 else -1
        for module in _imports(path, source):
            if module.startswith(FORBIDDEN):
                problems.append(f"{path} imports {module}: shared/ stays free of the Functions library")
            elif own == 0 and _within(module, IO_LIBRARIES) and module not in PURE_EXCEPTIONS:
                problems.append(f"{path} imports {module}: {LAYERS[0]}/ does no I/O")
            layer = _place(module)[:1]
            if layer and layer[0] in LAYERS and LAYERS.index(layer[0]) > own:
                problems.append(f"{path} ({LAYERS[own] if own >= 0 else 'shared'}) imports {module} ({layer[0]}), "
                                f"a higher layer")
        if own == 0:
            problems.extend(f"{path}:{line} reads the clock ({call}): {LAYERS[0]}/ is given the time"
                            for line, call in _clock_reads(path, source))
        else:
            problems.extend(clock_problems({path: source}))
    return problems


def clock_problems(sources: Mapping[str, str]) -> list[str]:
    """One line per read of the system's clock outside ``CLOCK_MODULE``."""
    return [f"{path}:{line} reads the system clock ({call}): only {CLOCK_MODULE} does; use the Clock "
            f"(services.clock, or SYSTEM_CLOCK at the edge)"
            for path, source in sources.items() if path != CLOCK_MODULE for line, call in _clock_reads(path, source)]


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == package or module.startswith(f"{package}.") for package in packages)


def _clock_reads(path: str, source: str) -> Iterator[tuple[int, str]]:
    """Calls such as ``datetime.now(UTC)`` or ``time.monotonic()`` and references such as ``default=time.sleep``,
    through any import alias (``import time as t``, ``from datetime import datetime as D``), and clock functions
    imported by name."""
    tree = ast.parse(source, filename=path)
    aliases = _aliases(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            written = _dotted(node)
            head, _, rest = written.partition(".")
            name = f"{aliases.get(head, head)}.{rest}"
            read = next((read for read in CLOCK_READS if name == read or name.endswith(f".{read}")), None)
            if read:
                yield node.lineno, read if written == name else f"{read} as {written}"
        elif isinstance(node, ast.ImportFrom) and node.module in ("time", "datetime"):
            yield from ((node.lineno, f"{node.module}.{alias.name}") for alias in node.names
                        if f"{node.module}.{alias.name}" in CLOCK_READS)


def _aliases(tree: ast.AST) -> dict[str, str]:
    """The names a module binds to other modules' objects under another name: ``{"t": "time"}`` for ``import time
    as t``, ``{"D": "datetime.datetime"}`` for ``from datetime import datetime as D``."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            prefix = f"{node.module}." if isinstance(node, ast.ImportFrom) and node.module else ""
            aliases.update({alias.asname: f"{prefix}{alias.name}" for alias in node.names if alias.asname})
    return aliases


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def _package_edges(sources: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Which domain package imports which (``shared.<layer>.<domain>``), each with the first import that does."""
    edges: dict[str, dict[str, str]] = {}
    for path, source in sources.items():
        parts = path.removesuffix(".py").split("/")
        if len(parts) != 4:
            continue
        own = ".".join(parts[:3])
        for module in _imports(path, source):
            place = _place(module)
            if len(place) == 2 and ".".join(("shared", *place)) != own:
                edges.setdefault(own, {}).setdefault(".".join(("shared", *place)), f"{'.'.join(parts)} -> {module}")
    return edges


def package_cycles(sources: Mapping[str, str]) -> list[str]:
    """One line per import cycle between the domain packages of shared/ (``shared.<layer>.<domain>``), naming one
    import along each step of it. Modules of one package may import each other; packages may not go round."""
    edges = _package_edges(sources)
    return [" -> ".join([*cycle, cycle[0]]) + ": "
            + "; ".join(edges[a][b] for a, b in zip(cycle, [*cycle[1:], cycle[0]], strict=True))
            for cycle in _cycles(edges)]


def _cycles(edges: Mapping[str, Mapping[str, str]]) -> list[list[str]]:
    """One cycle in each group of packages that reach each other (depth-first), from the smallest package name."""
    found: list[list[str]] = []
    seen: set[str] = set()
    for start in sorted(edges):
        path = _cycle_from(start, edges, [start], seen)
        if path:
            found.append(path)
            seen.update(path)
    return found


def _cycle_from(start: str, edges: Mapping[str, Mapping[str, str]], path: list[str], seen: set[str]) -> list[str]:
    for target in sorted(edges.get(path[-1], {})):
        if target == start:
            return path
        if target not in path and target not in seen:
            longer = _cycle_from(start, edges, [*path, target], seen)
            if longer:
                return longer
    return []


def test_no_module_of_shared_imports_a_higher_layer_does_io_in_core_or_imports_the_functions_library():
    sources = shared_sources()
    assert {path.split("/")[1] for path in sources if path.count("/") >= 2} == set(LAYERS)
    assert layering_problems(sources) == []


def test_nothing_at_the_functions_edge_reads_the_system_clock():
    assert clock_problems(edge_sources()) == []


def test_a_system_clock_read_outside_the_clock_module_is_named_in_shared_and_at_the_edge():
    reads = ("import time\nfrom datetime import UTC, datetime\n\n"
             "def f(sleep=time.sleep):\n    return datetime.now(UTC), time.monotonic()\n")
    sources = {"shared/flows/sweep/sweep.py": reads, CLOCK_MODULE: reads}
    assert layering_problems(sources) == [
        "shared/flows/sweep/sweep.py:4 reads the system clock (time.sleep): only shared/clients/common/clock.py does; "
        "use the Clock (services.clock, or SYSTEM_CLOCK at the edge)",
        "shared/flows/sweep/sweep.py:5 reads the system clock (datetime.now): only shared/clients/common/clock.py "
        "does; use the Clock (services.clock, or SYSTEM_CLOCK at the edge)",
        "shared/flows/sweep/sweep.py:5 reads the system clock (time.monotonic): only shared/clients/common/clock.py "
        "does; use the Clock (services.clock, or SYSTEM_CLOCK at the edge)",
    ]
    assert clock_problems({"triggers/timers.py": reads, "function_app.py": "import time\ntime.sleep(1)\n"}) == [
        *(problem.replace("shared/flows/sweep/sweep.py", "triggers/timers.py")
          for problem in layering_problems(sources)),
        "function_app.py:2 reads the system clock (time.sleep): only shared/clients/common/clock.py does; use the "
        "Clock (services.clock, or SYSTEM_CLOCK at the edge)",
    ]


def test_no_two_packages_of_shared_import_each_other_round_a_cycle():
    assert package_cycles(shared_sources()) == []


def test_a_lower_layer_importing_a_higher_one_is_named_with_the_import():
    sources = {"shared/core/ledger/keys.py": "from shared.flows.blobs.blob_runs import process_blob\n",
               "shared/clients/ledger/ledger.py": "from ...operations import http\n",
               "shared/flows/sweep/sweep.py": "import shared.operations.http.records\n",
               "shared/operations/http/records.py":
                   "from shared.core.ledger import keys\nfrom shared.flows import sweep\n"}
    assert layering_problems(sources) == [
        "shared/core/ledger/keys.py (core) imports shared.flows.blobs.blob_runs (flows), a higher layer",
        "shared/clients/ledger/ledger.py (clients) imports shared.operations.http (operations), a higher layer",
        "shared/flows/sweep/sweep.py (flows) imports shared.operations.http.records (operations), a higher layer",
    ]


def test_a_module_outside_the_domains_or_importing_the_functions_library_is_named():
    sources = {"shared/helpers.py": "import os\n",
               "shared/core/keys.py": "import os\n",
               "shared/core/ledger/keys.py": "import azure.functions as func\n",
               "shared/flows/blobs/blob_runs.py": "from azurefunctions.extensions.bindings.blob import BlobClient\n",
               "shared/__init__.py": "from shared import flows\n"}
    assert layering_problems(sources) == [
        "shared/helpers.py is in no layer's domain; put it in shared/<layer>/<domain>/, a layer one of "
        "{core,clients,flows,operations}",
        "shared/core/keys.py is in no layer's domain; put it in shared/<layer>/<domain>/, a layer one of "
        "{core,clients,flows,operations}",
        "shared/core/ledger/keys.py imports azure.functions: shared/ stays free of the Functions library",
        "shared/flows/blobs/blob_runs.py imports azurefunctions.extensions.bindings.blob: shared/ stays free of the "
        "Functions library",
        "shared/__init__.py (shared) imports shared.flows (flows), a higher layer",
    ]


def test_io_or_a_clock_read_in_the_pure_layer_is_named_and_allowed_in_the_clock_module():
    io_and_clock = ("import socket\nimport time\nfrom azure.storage.blob import BlobClient\n"
                    "from datetime import UTC, datetime\nfrom time import monotonic\n\n"
                    "def f():\n    return datetime.now(UTC), time.sleep(1)\n")
    sources = {"shared/core/aml/targets.py": io_and_clock, "shared/clients/common/clock.py": io_and_clock}
    assert layering_problems(sources) == [
        "shared/core/aml/targets.py imports socket: core/ does no I/O",
        "shared/core/aml/targets.py imports azure.storage.blob: core/ does no I/O",
        "shared/core/aml/targets.py:5 reads the clock (time.monotonic): core/ is given the time",
        "shared/core/aml/targets.py:8 reads the clock (datetime.now): core/ is given the time",
        "shared/core/aml/targets.py:8 reads the clock (time.sleep): core/ is given the time",
    ]


def test_io_libraries_and_clock_reads_under_another_name_are_named_and_urllib3s_url_parser_is_allowed():
    aliased = ("import time as t\nimport datetime as dt\nfrom datetime import datetime as D\n"
               "import urllib3\nfrom urllib3.util import parse_url\nfrom urllib3.util import Retry\n"
               "from http.server import HTTPServer\nimport selectors\n\n"
               "def f(wait=t.sleep):\n    return t.monotonic(), D.now(), dt.datetime.now(), dt.date.today()\n")
    path = "shared/core/storage/storage_endpoints.py"
    assert layering_problems({path: aliased}) == [
        f"{path} imports urllib3: core/ does no I/O",
        f"{path} imports urllib3.util.Retry: core/ does no I/O",
        f"{path} imports http.server.HTTPServer: core/ does no I/O",
        f"{path} imports selectors: core/ does no I/O",
        f"{path}:10 reads the clock (time.sleep as t.sleep): core/ is given the time",
        f"{path}:11 reads the clock (time.monotonic as t.monotonic): core/ is given the time",
        f"{path}:11 reads the clock (datetime.now as D.now): core/ is given the time",
        f"{path}:11 reads the clock (datetime.now as dt.datetime.now): core/ is given the time",
        f"{path}:11 reads the clock (date.today as dt.date.today): core/ is given the time",
    ]
    assert clock_problems({"triggers/timers.py": aliased}) == [
        f"triggers/timers.py:{line} reads the system clock ({call}): only shared/clients/common/clock.py does; use "
        "the Clock (services.clock, or SYSTEM_CLOCK at the edge)"
        for line, call in ((10, "time.sleep as t.sleep"), (11, "time.monotonic as t.monotonic"),
                           (11, "datetime.now as D.now"), (11, "datetime.now as dt.datetime.now"),
                           (11, "date.today as dt.date.today"))]


def test_packages_importing_each_other_round_a_cycle_are_named_with_one_import_per_step():
    sources = {"shared/core/config/config_model.py": "from shared.core.aml.targets import Target\n",
               "shared/core/aml/payloads.py": "from shared.core.config import config_model\n",
               "shared/core/aml/targets.py": "from shared.core.common.errors import InvalidValue\n",
               "shared/flows/runs/run_steps.py": "from shared.flows.blobs.blob_data import read\n",
               "shared/flows/blobs/blob_runs.py": "from shared.flows.runs.run_steps import execute\n",
               "shared/flows/blobs/blob_data.py": "from shared.core.aml.targets import Target\n"}
    assert package_cycles(sources) == [
        "shared.core.aml -> shared.core.config -> shared.core.aml: shared.core.aml.payloads -> shared.core.config; "
        "shared.core.config.config_model -> shared.core.aml.targets",
        "shared.flows.blobs -> shared.flows.runs -> shared.flows.blobs: shared.flows.blobs.blob_runs -> "
        "shared.flows.runs.run_steps; shared.flows.runs.run_steps -> shared.flows.blobs.blob_data",
    ]


def order_problems(sources: Mapping[str, str], written: Mapping[str, list[str]]) -> list[str]:
    """One line per domain a layer has that the written order leaves out or it lists in vain, and per domain listed
    before one it imports from its own layer (docs/module-map.md's order table, checked against the imports)."""
    edges = _package_edges(sources)
    problems = []
    for layer in LAYERS:
        listed = written.get(layer, [])
        domains = {path.split("/")[2] for path in sources if path.count("/") == 3 and path.split("/")[1] == layer}
        problems.extend(f"{layer}/ has {domain}, which the order does not list"
                        for domain in sorted(domains.difference(listed)))
        problems.extend(f"the order lists {domain}, which {layer}/ does not have"
                        for domain in listed if domain not in domains)
        problems.extend(_listed_too_early(layer, listed, edges))
    return problems


def _listed_too_early(layer: str, listed: list[str], edges: Mapping[str, Mapping[str, str]]) -> Iterator[str]:
    position = {domain: index for index, domain in enumerate(listed)}
    for domain in listed:
        for imported, step in edges.get(f"shared.{layer}.{domain}", {}).items():
            _, imported_layer, imported_domain = imported.split(".")
            if imported_layer == layer and position.get(imported_domain, -1) > position[domain]:
                yield f"{layer}/: {domain} is listed before {imported_domain}, which it imports ({step})"


def test_the_module_maps_order_lists_every_domain_after_those_it_imports():
    written = written_order(MODULE_MAP.read_text(encoding="utf-8"))
    assert set(written) == set(LAYERS)
    assert order_problems(shared_sources(), written) == []


def test_a_domain_missing_from_the_order_listed_in_vain_or_before_one_it_imports_is_named():
    sources = {"shared/core/aml/targets.py": "from shared.core.common.errors import InvalidValue\n",
               "shared/core/common/errors.py": "import json\n",
               "shared/core/ledger/keys.py": "from shared.core.aml import targets\n",
               "shared/flows/runs/run_steps.py": "from shared.core.ledger.keys import record_name\n"}
    assert order_problems(sources, {"core": ["aml", "common", "backfill"], "flows": ["runs"]}) == [
        "core/ has ledger, which the order does not list",
        "the order lists backfill, which core/ does not have",
        "core/: aml is listed before common, which it imports (shared.core.aml.targets -> "
        "shared.core.common.errors)",
    ]


DEPLOYED = ("function_app.py", "triggers", "shared")
"""What the Functions package ships (.funcignore leaves cli/ out): none of it may import the CLI."""
CLI_ONLY_IO = ("cli/migrate/v1_schedules.py", "cli/migrate/imports.py")
"""The importers' modules that do I/O; every other module of cli/migrate/ is pure, as core/ is."""


def sources_under(*names: str, root: Path = ROOT) -> dict[str, str]:
    """Every module of the named files and folders, by its path relative to the project."""
    paths = [root / name for name in names]
    return {path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
            for path in sorted(p for top in paths for p in ([top] if top.is_file() else top.rglob("*.py")))}


def cli_problems(sources: Mapping[str, str]) -> list[str]:
    """One line per deployed module importing the CLI, and per I/O library or clock read in a pure importer."""
    problems = []
    for path, source in sources.items():
        if path.startswith(DEPLOYED):
            problems.extend(f"{path} imports {module}: the deployed app does not ship cli/"
                            for module in _imports(path, source) if _within(module, ("cli",)))
        elif path.startswith("cli/migrate/") and path not in CLI_ONLY_IO:
            problems.extend(f"{path} imports {module}: the importers' pure modules do no I/O"
                            for module in _imports(path, source) if _within(module, IO_LIBRARIES))
            problems.extend(f"{path}:{line} reads the clock ({call}): the importers are given the time"
                            for line, call in _clock_reads(path, source))
    return problems


def test_the_deployed_app_never_imports_the_cli_and_the_importers_pure_modules_do_no_io():
    assert cli_problems(sources_under(*DEPLOYED, "cli")) == []


def test_a_deployed_module_importing_the_cli_or_a_pure_importer_doing_io_is_named():
    sources = {"triggers/blobs.py": "from cli.migrate import imports\n",
               "shared/operations/http/explain.py": "import cli\n",
               "cli/migrate/parity.py": "import requests\nfrom datetime import datetime\n\nx = datetime.now()\n",
               "cli/migrate/imports.py": "import tempfile\nimport requests\n"}
    assert cli_problems(sources) == [
        "triggers/blobs.py imports cli.migrate.imports: the deployed app does not ship cli/",
        "shared/operations/http/explain.py imports cli: the deployed app does not ship cli/",
        "cli/migrate/parity.py imports requests: the importers' pure modules do no I/O",
        "cli/migrate/parity.py:4 reads the clock (datetime.now): the importers are given the time",
    ]



def imports_of_test_modules(sources: Mapping[str, str]) -> list[str]:
    """One line per module under tests/ importing a test module (``tests.<domain>.test_*``): what two test modules
    share lives in tests/support/, so a test module can move, or be run alone, without taking another with it."""
    return [f"{path} imports {module}: no test module imports another; move what they share to tests/support/"
            for path, source in sources.items() for module in _imports(path, source)
            if module.startswith("tests.") and any(part.startswith("test_") for part in module.split(".")[1:])]


def test_no_module_of_the_tests_imports_a_test_module():
    assert imports_of_test_modules(sources_under("tests")) == []


def test_a_test_module_imported_by_another_or_by_a_helper_is_named():
    sources = {"tests/runs/test_defaults.py": "from tests.blobs.test_markers import FOLDER\nfrom tests.support import "
                                              "harness\n",
               "tests/support/workers.py": "import tests.runs.test_exactly_once\n",
               "tests/ledger/test_max_active_runs.py": "from tests.schedules import test_schedules\n"
                                                       "from .test_ledger import ledger\n"}
    assert imports_of_test_modules(sources) == [
        "tests/runs/test_defaults.py imports tests.blobs.test_markers: no test module imports another; move what "
        "they share to tests/support/",
        "tests/support/workers.py imports tests.runs.test_exactly_once: no test module imports another; move what "
        "they share to tests/support/",
        "tests/ledger/test_max_active_runs.py imports tests.schedules.test_schedules: no test module imports "
        "another; move what they share to tests/support/",
        "tests/ledger/test_max_active_runs.py imports tests.ledger.test_ledger: no test module imports another; "
        "move what they share to tests/support/",
    ]


def test_every_pure_module_is_mutation_tested():
    """The pure layers (``shared/core/``, and ``cli/migrate/`` but its I/O modules) are exactly ``./dev mutate``'s set:
    a new pure module joins it, with its unit tests, or this names it."""
    pure = {path.relative_to(ROOT).as_posix() for path in [*(ROOT / "shared" / "core").rglob("*.py"),
                                                           *(ROOT / "cli" / "migrate").glob("*.py")]
            if path.name != "__init__.py"} - set(CLI_ONLY_IO)
    mutated = set(tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["mutmut"]["only_mutate"])
    assert (sorted(pure - mutated), sorted(mutated - pure)) == ([], [])
