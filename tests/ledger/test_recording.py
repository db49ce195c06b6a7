"""Every outcome is recorded or loudly reported: a ledger failing after a 200, and surprises in the submitter.
(A real ledger outage, a second Azurite stopped and restarted, is in test_ledger_outage.py.)"""

from __future__ import annotations

import logging

import pytest
from azure.core.exceptions import ServiceResponseError

from shared.clients.ledger.ledger import Ledger
from tests.support.decisions import decision_lines
from tests.support.harness import deliver_blob, ledger_record, upload
from tests.support.samples import SAMPLE_CSV


def failing_settle(times: int):
    """Ledger.settle that fails ``times`` times like a storage outage, then works."""
    real_settle = Ledger.settle
    calls = {"count": 0}

    def settle(self, claim, state, **outcome):
        calls["count"] += 1
        if calls["count"] <= times:
            raise ServiceResponseError("storage did not answer")
        return real_settle(self, claim, state, **outcome)

    return settle


def test_a_run_that_cannot_be_recorded_is_still_logged_with_its_id(app_env, aml, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="aml_trigger")
    monkeypatch.setattr(Ledger, "settle", failing_settle(99))
    upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)

    with pytest.raises(ServiceResponseError):
        deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")

    [run] = aml.accepted
    submitted, problem = decision_lines(caplog)
    assert (submitted["outcome"], submitted["run_id"]) == ("submitted", run.run_id)
    assert problem["problem"].startswith("outcome not recorded") and problem["run_id"] == run.run_id


def test_an_unexpected_error_in_the_submitter_releases_the_claim_for_a_retry(app_env, aml, monkeypatch):
    etag = upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)
    from shared.clients.aml.aml_client import PipelineSubmitter

    real_submit = PipelineSubmitter.submit
    monkeypatch.setattr(PipelineSubmitter, "submit", lambda *a, **k: (_ for _ in ()).throw(KeyError("surprise")))
    with pytest.raises(KeyError):
        deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")
    record = ledger_record("default", app_env["WATCH_CONTAINER"], "machines.csv", etag)
    assert (record["state"], record["retryable"]) == ("failed", True)
    assert record["reason"] == "unexpected KeyError: 'surprise'"

    monkeypatch.setattr(PipelineSubmitter, "submit", real_submit)
    deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")  # the host's retry takes over at once

    assert len(aml.accepted) == 1


def test_an_unexpected_error_after_a_lost_answer_keeps_the_outcome_unknown_so_the_next_owner_looks_first(
        app_env, aml, monkeypatch):
    from localdev.aml_standin import AcceptThenDrop
    from shared.clients.aml.aml_client import PipelineSubmitter, TransientSubmitError

    monkeypatch.setenv("RETRY_MAX_ATTEMPTS", "1")
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "machines.csv", SAMPLE_CSV)
    aml.inject(AcceptThenDrop())
    with pytest.raises(TransientSubmitError):
        deliver_blob(container, "machines.csv")  # the run started; its answer was lost
    real_submit = PipelineSubmitter.submit
    monkeypatch.setattr(PipelineSubmitter, "submit", lambda *a, **k: (_ for _ in ()).throw(KeyError("surprise")))
    with pytest.raises(KeyError):
        deliver_blob(container, "machines.csv")  # the next owner fails before it learnt anything
    surprised = ledger_record("default", container, "machines.csv", etag)
    monkeypatch.setattr(PipelineSubmitter, "submit", real_submit)
    deliver_blob(container, "machines.csv")

    [run] = aml.accepted
    assert (surprised["reason"], surprised["outcome_unknown"]) == ("unexpected KeyError: 'surprise'", True)
    record = ledger_record("default", container, "machines.csv", etag)
    assert (record["state"], record["run_id"], record["reconciled"]) == ("submitted", run.run_id, True)


def test_a_problem_line_carries_its_fields_as_aml_attributes_like_a_decision(app_env, aml, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="aml_trigger")
    monkeypatch.setattr(Ledger, "settle", failing_settle(99))
    etag = upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)

    with pytest.raises(ServiceResponseError):
        deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")

    [run] = aml.accepted
    [problem] = [record for record in caplog.records if record.getMessage().startswith('aml_trigger {"problem"')]
    assert problem.levelname == "ERROR"
    assert (problem.aml_problem, problem.aml_state, problem.aml_run_id) == (
        "outcome not recorded: ServiceResponseError", "submitted", run.run_id)
    assert (problem.aml_rule, problem.aml_container, problem.aml_blob, problem.aml_etag) == (
        "default", app_env["WATCH_CONTAINER"], "machines.csv", etag)
