"""local.settings.sample.json lists every setting the app reads, each with a working local value."""

from __future__ import annotations

import json
import re

from localdev.demo import AML_PORT, IDENTITY_HEADER, IDENTITY_PORT
from shared.config import load_config
from tests.harness import PROJECT_ROOT

# Settings read by name in the app's code: env.get("X"), env["X"], _number(env, "X", ...), connection="X".
_SETTING_READ = re.compile(r'''(?:env\.get\(|env\[|_number\(env, |connection=)f?"([A-Za-z][A-Za-z0-9_]*)"''')
# Set by Azure itself, or read only to refuse it (schedules run in UTC): not settings to fill in.
_NOT_IN_SAMPLE = {"WEBSITE_INSTANCE_ID", "MSI_ENDPOINT", "WEBSITE_TIME_ZONE"}


def sample_values() -> dict[str, str]:
    return json.loads((PROJECT_ROOT / "local.settings.sample.json").read_text(encoding="utf-8"))["Values"]


def settings_read_by_the_app() -> set[str]:
    sources = [*PROJECT_ROOT.glob("shared/*.py"), *PROJECT_ROOT.glob("triggers/*.py")]
    return {name for path in sources for name in _SETTING_READ.findall(path.read_text(encoding="utf-8"))}


def test_every_setting_the_app_reads_is_in_the_sample():
    read = settings_read_by_the_app()
    assert {"WATCH_CONTAINER", "AML_PIPELINE_URL", "CLAIM_EXPIRY_SECONDS", "WATCH_STORAGE"} <= read  # the scan works
    assert read - _NOT_IN_SAMPLE - set(sample_values()) == set()


def test_the_sample_is_a_valid_configuration_for_the_local_stand_ins():
    values = sample_values()
    config = load_config(values, PROJECT_ROOT)
    assert config.rules[0].run.target.url.startswith(f"http://127.0.0.1:{AML_PORT}/")
    assert values["IDENTITY_ENDPOINT"] == f"http://127.0.0.1:{IDENTITY_PORT}/msi/token"
    assert values["IDENTITY_HEADER"] == IDENTITY_HEADER
    assert values["BLOB_TRIGGER_SOURCE"] == "LogsAndContainerScan"  # Event Grid cannot reach a local host
