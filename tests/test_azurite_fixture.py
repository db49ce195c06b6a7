"""A machine without Azurite gets a failure that says how to install it, never a silent skip."""

import pytest

from localdev import azurite


def test_missing_azurite_fails_with_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setattr(azurite, "AZURITE_SCRIPT", tmp_path / "node_modules" / "azurite" / "azurite.js")

    with pytest.raises(azurite.AzuriteNotInstalled, match=r"run `npm ci` in the project root"):
        azurite.Azurite().start()
