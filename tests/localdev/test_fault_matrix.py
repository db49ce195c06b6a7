"""The fault matrix (./dev faults): two cheap rows through the same scenario code, so the command cannot rot."""

from __future__ import annotations

import logging
import os
import uuid

import pytest
from azure.core.exceptions import ServiceRequestError
from azure.storage.blob import BlobServiceClient

from bench.faults import HEADER, Row, Settings, main, run_row
from localdev.azurite import ACCOUNT, ACCOUNT_KEY
from localdev.tcp_switch import TcpSwitch


def test_the_duplicates_row_counts_one_post_and_one_run_for_an_event_delivered_three_times(azurite):
    row = run_row("duplicates", azurite, azurite, Settings())

    assert row == Row("duplicates", posts=1, runs=1, lost=0, duplicate_runs=0)
    assert row.ok and "met" in str(row)


def test_the_5xx_row_counts_every_post_and_one_run(azurite):
    environment = dict(os.environ)

    row = run_row("5xx", azurite, azurite, Settings())

    assert (row.posts, row.runs, row.lost, row.duplicate_runs) == (4, 1, 0, 0)  # 503, 500, 502, then accepted
    assert dict(os.environ) == environment  # the row's app settings are gone with it


def test_the_pipeline_job_rows_count_puts_and_one_job_when_the_answer_was_lost_after_acceptance(azurite):
    row = run_row("job: accept then drop", azurite, azurite, Settings())

    assert row == Row("job: accept then drop", posts=2, runs=1, lost=0, duplicate_runs=0)  # the second PUT adopts


def test_a_row_with_a_duplicate_run_misses_the_target():
    row = Row("accept then drop", posts=2, runs=2, lost=0, duplicate_runs=1)

    assert not row.ok and "MISSED" in str(row)


@pytest.mark.integration  # runs the matrix: Azurite and the stand-ins
def test_the_command_prints_its_settings_above_the_table_and_exits_zero_when_every_row_meets_the_target(capsys):
    assert main(["--only", "duplicates"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("settings: attempt timeout 1 s (SUBMIT_ATTEMPT_TIMEOUT_SECONDS), deadline 2.5 s "
                        "(SUBMIT_DEADLINE_SECONDS),")
    assert lines[1].strip().startswith("claim expiry 5 s (CLAIM_EXPIRY_SECONDS), host function timeout 8 s")
    assert lines[2].strip().startswith("listing delay 1.2 s (RUN_LISTING_DELAY_SECONDS)")
    assert lines[4] == HEADER and lines[5] == f"{'duplicates':<26}     1     1     0              0  met"
    assert lines[-1] == "1 of 1 rows met the target (0 lost, 0 duplicate runs)"


def test_an_unknown_fault_is_refused_with_the_known_ones(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--only", "duplicates,meteor strike"])

    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert "unknown faults: meteor strike" in error and "blob deleted" in error


def test_a_switched_off_ledger_refuses_connections_and_comes_back_on_its_port_with_its_records(azurite):
    storage_port = int(azurite.endpoints["blob"].rpartition(":")[2])
    with TcpSwitch(storage_port) as switch:
        ledger = BlobServiceClient(f"{switch.url}/{ACCOUNT}", credential={"account_name": ACCOUNT,
                                                                         "account_key": ACCOUNT_KEY},
                                   retry_total=0).get_container_client(f"switched-{uuid.uuid4().hex[:8]}")
        ledger.create_container()
        ledger.upload_blob("record.json", b"{}")
        port = switch.port

        switch.down()
        with pytest.raises(ServiceRequestError):
            ledger.get_blob_client("record.json").download_blob()
        switch.up()

        assert switch.port == port
        assert ledger.get_blob_client("record.json").download_blob().readall() == b"{}"


@pytest.mark.integration  # runs the matrix: Azurite and the stand-ins
def test_the_command_leaves_the_app_s_decision_log_as_it_found_it(caplog):
    caplog.set_level(logging.INFO, logger="aml_trigger")
    main(["--only", "duplicates"])

    logging.getLogger("aml_trigger").info("after the matrix")

    assert caplog.messages == ["after the matrix"]
