"""How a setting's default is shown in docs/configuration.md's generated table, the table's shape, the numeric
defaults AppConfig falls back on, and a setting read at indexing that falls back on a bad value, saying so."""

from __future__ import annotations

import logging

import pytest

from shared.core.config import settings
from shared.core.config.config_loader import read_at_indexing
from shared.core.config.config_model import _default
from shared.core.config.problems import Problems
from shared.core.config.settings import Setting, markdown_table

pytestmark = pytest.mark.unit


def test_a_default_is_shown_in_backticks_or_as_none_or_as_declared() -> None:
    assert Setting("A_B", "doc", default="5").shown() == "`5`"
    assert Setting("A_B", "doc", default="").shown() == "`''`"
    assert Setting("A_B", "doc").shown() == "none"
    assert Setting("A_B", "doc", default="5", shown_default="required").shown() == "required"


def test_the_table_has_a_header_and_a_row_per_setting_but_the_platforms() -> None:
    lines = markdown_table().split("\n")
    assert lines[:2] == ["| setting | meaning | default |", "|---|---|---|"]
    wanted = [setting for setting in settings.SETTINGS if not setting.platform]
    assert lines[2:] == [f"| `{setting.name}` | {setting.doc} | {setting.shown()} |" for setting in wanted]
    assert not any(line.startswith("| `IDENTITY_ENDPOINT`") for line in lines)


def test_a_numeric_default_is_its_declared_value_and_zero_without_one() -> None:
    assert _default(settings.CLAIM_EXPIRY) == float(settings.CLAIM_EXPIRY.text({}))
    assert _default(Setting("A_B", "doc", default="2.5")) == 2.5
    assert _default(Setting("A_B", "doc")) == 0.0


def test_a_bad_setting_read_at_indexing_falls_back_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    def bad() -> int:
        problems = Problems.of()
        problems.setting("SWEEP_MAX_BLOBS").add("x", "a whole number")
        problems.raise_any()
        return 1

    caplog.set_level(logging.ERROR, logger="aml_trigger")
    assert read_at_indexing(bad, 7) == 7
    assert [(record.name, record.getMessage()) for record in caplog.records] == [
        ("aml_trigger", "at indexing: invalid configuration (1 problem):\n  - SWEEP_MAX_BLOBS = 'x': a whole number")]
    assert read_at_indexing(lambda: 3, 7) == 3
