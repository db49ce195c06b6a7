"""The settings declaration (shared.core.config.settings) is the one list of settings: the code reads nothing outside
it, docs/configuration.md's table is rendered from it, and local.settings.sample.json holds each with a working
value."""

from __future__ import annotations

import json
import re

from localdev.demo import AML_PORT, IDENTITY_HEADER, IDENTITY_PORT
from shared.core.config.config_loader import load_config
from shared.core.config.settings import SETTINGS, markdown_table
from tests.support.harness import PROJECT_ROOT
from tests.support.settings import LOADED_AT

# A setting read by its literal name, bypassing the declaration: env.get("X"), env["X"], environ.get("X"),
# getenv("X"), connection="X" (a binding's connection setting).
_LITERAL_READ = re.compile(
    r'''(?:env\.get\(|env\[|environ\.get\(|environ\[|getenv\(|connection=)f?"([A-Za-z][A-Za-z0-9_]*)"''')
_HOST_ONLY = {"FUNCTIONS_WORKER_RUNTIME"}
"""Read by the Functions host, not the app."""
DECLARED = {setting.name for setting in SETTINGS}


def sample_values() -> dict[str, str]:
    return json.loads((PROJECT_ROOT / "local.settings.sample.json").read_text(encoding="utf-8"))["Values"]


def settings_read_by_literal_name() -> set[str]:
    sources = [*PROJECT_ROOT.glob("shared/**/*.py"), *PROJECT_ROOT.glob("triggers/*.py"),
               PROJECT_ROOT / "function_app.py"]
    return {name for path in sources for name in _LITERAL_READ.findall(path.read_text(encoding="utf-8"))}


def test_the_scan_finds_a_setting_read_by_its_literal_name():
    assert _LITERAL_READ.findall('x = env.get("NEW_SETTING") or os.environ["OTHER"]; connection="CONN"') == [
        "NEW_SETTING", "OTHER", "CONN"]
    assert "WATCH_STORAGE" in settings_read_by_literal_name()  # the blob trigger's connection="WATCH_STORAGE"


def test_no_setting_is_read_outside_the_declaration():
    assert settings_read_by_literal_name() - DECLARED == set()


def test_every_declared_setting_is_in_the_sample_and_the_sample_holds_nothing_undeclared():
    to_fill_in = {setting.name for setting in SETTINGS if not setting.platform}
    assert to_fill_in - set(sample_values()) == set()
    assert set(sample_values()) - DECLARED - _HOST_ONLY == set()


def test_the_documented_settings_table_is_the_one_rendered_from_the_declaration():
    page = (PROJECT_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert markdown_table() in page, (
        "docs/configuration.md's settings table differs from shared/core/config/settings.py; paste the output of\n"
        "  .venv/bin/python -c 'from shared.core.config.settings import markdown_table; print(markdown_table())'")


def test_the_sample_is_a_valid_configuration_for_the_local_stand_ins():
    values = sample_values()
    config = load_config(values, PROJECT_ROOT, now=LOADED_AT)
    assert config.rules[0].run.target.url.startswith(f"http://127.0.0.1:{AML_PORT}/")
    assert values["IDENTITY_ENDPOINT"] == f"http://127.0.0.1:{IDENTITY_PORT}/msi/token"
    assert values["IDENTITY_HEADER"] == IDENTITY_HEADER
    assert values["BLOB_TRIGGER_SOURCE"] == "LogsAndContainerScan"  # Event Grid cannot reach a local host
