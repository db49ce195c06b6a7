"""checkov's Bicep policies over infra/, in their own virtualenv (./dev infra): no failed check, every skip carries
its reason inside the resource it excuses, and the scan does catch a weakened template (so a clean result means
the resources were scanned, not skipped by a parsing error)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

INFRA = Path(__file__).resolve().parent.parent / "infra"
CHECKOV = Path(sys.executable).with_name("checkov")


def scan(folder: Path) -> dict:
    """checkov's JSON report for ``folder`` (``--skip-download``: no network, no guidelines fetched)."""
    result = subprocess.run([str(CHECKOV), "-d", str(folder), "--framework", "bicep", "--skip-download", "-o", "json",
                             "--soft-fail"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def report() -> dict:
    return scan(INFRA)


def test_checkov_scans_every_template_and_finds_no_failed_check(report):
    summary = report["summary"]
    failed = [(check["check_id"], check["resource"], check["file_path"])
              for check in report["results"]["failed_checks"]]
    assert failed == [] and summary["failed"] == 0
    assert summary["parsing_errors"] == 0 and summary["passed"] >= 15
    scanned = {check["file_path"] for check in report["results"]["passed_checks"]}
    assert {"/app/storage.bicep", "/app/function.bicep"} <= scanned


def test_every_skipped_check_is_justified_in_the_resource_it_excuses(report):
    skipped = report["results"]["skipped_checks"]
    assert skipped
    for check in skipped:
        reason = (check.get("check_result") or {}).get("suppress_comment", "")
        assert len(reason.strip()) > 20, (check["check_id"], check["resource"], reason)


def test_a_weakened_template_fails_the_scan(tmp_path):
    weakened = tmp_path / "infra"
    shutil.copytree(INFRA, weakened)
    storage = weakened / "app" / "storage.bicep"
    text = storage.read_text(encoding="utf-8")
    weaker = text.replace("minimumTlsVersion: 'TLS1_2'", "minimumTlsVersion: 'TLS1_0'")
    storage.write_text(weaker.replace("// checkov:skip=CKV_AZURE_59:", "// (no skip) CKV_AZURE_59:"), encoding="utf-8")

    failed = {check["check_id"] for check in scan(weakened)["results"]["failed_checks"]}

    assert failed == {"CKV_AZURE_44", "CKV_AZURE_59"}
