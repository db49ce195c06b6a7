"""shared/core/ledger/decisions.py: one structured line per decision, at a level that says how much it
needs a person."""

from __future__ import annotations

import logging

import pytest

from shared.core.ledger.decisions import Decision, Outcome, log_decision, log_event
from shared.core.ledger.ledger_record import RunState


def only_record(caplog: pytest.LogCaptureFixture) -> logging.LogRecord:
    (record,) = [record for record in caplog.records if record.name == "aml_trigger"]
    return record


@pytest.mark.parametrize("outcome, level", [
    (Outcome.IGNORED, logging.INFO), (Outcome.DUPLICATE, logging.INFO), (Outcome.SKIPPED, logging.INFO),
    (Outcome.SUBMITTED, logging.INFO), (Outcome.REJECTED, logging.WARNING), (Outcome.FAILED, logging.ERROR),
    (Outcome.ARRIVED, logging.INFO), (Outcome.OVERDUE, logging.WARNING), (Outcome.ARRIVED_LATE, logging.INFO),
])
def test_a_rejected_or_overdue_decision_is_logged_as_a_warning_a_failed_one_as_an_error_and_the_rest_as_info(
        caplog, outcome, level):
    caplog.set_level(logging.DEBUG, logger="aml_trigger")
    decision = Decision(outcome, reason="why")
    assert log_decision(decision) is decision
    record = only_record(caplog)
    assert (record.levelno, record.getMessage()) == (level, f'aml_trigger {{"outcome": "{outcome.value}", '
                                                            f'"reason": "why"}}')


def test_the_line_carries_the_set_fields_in_declaration_order_unescaped_and_again_as_plain_attributes(caplog):
    caplog.set_level(logging.INFO, logger="aml_trigger")
    log_decision(Decision(Outcome.DUPLICATE, rule="daily", container="données", blob="été/a.csv", key="k1",
                          state=RunState.SUBMITTED, run_id="run-1", attempts=2, status=409, retryable=False,
                          past_due=None))
    record = only_record(caplog)
    assert record.getMessage() == (
        'aml_trigger {"outcome": "duplicate", "rule": "daily", "container": "données", "blob": "été/a.csv", '
        '"key": "k1", "state": "submitted", "run_id": "run-1", "attempts": 2, "status": 409, "retryable": false}')
    attributes = {name: getattr(record, name) for name in vars(record) if name.startswith("aml_")}
    assert attributes == {"aml_outcome": "duplicate", "aml_rule": "daily", "aml_container": "données",
                          "aml_blob": "été/a.csv", "aml_key": "k1", "aml_state": "submitted", "aml_run_id": "run-1",
                          "aml_attempts": 2, "aml_status": 409, "aml_retryable": False}
    assert type(record.aml_outcome) is str and type(record.aml_state) is str  # values, not enum members


def test_a_secret_echoed_into_a_reason_is_masked_but_a_url_in_it_is_kept_whole():
    reason = ("Azure ML answered 401 for https://host.example/runs/1#details with AccountKey=abc123; "
              "retry with ?sv=2024-01-01&sig=c2VjcmV0")
    assert Decision(Outcome.FAILED, reason=reason, status=401).fields() == {
        "outcome": "failed",
        "reason": "Azure ML answered 401 for https://host.example/runs/1#details with AccountKey=***; "
                  "retry with ?***&***",
        "status": 401,
    }


def test_an_outcome_settles_the_record_state_of_the_same_name_or_none():
    assert {outcome: outcome.state for outcome in Outcome} == {
        Outcome.IGNORED: None, Outcome.DUPLICATE: None, Outcome.COLLECTED: None, Outcome.REJECTED: RunState.REJECTED,
        Outcome.SKIPPED: RunState.SKIPPED, Outcome.SUBMITTED: RunState.SUBMITTED, Outcome.FAILED: RunState.FAILED,
        Outcome.RUN_COMPLETED: None, Outcome.RUN_FAILED: None, Outcome.RUN_CANCELED: None,
        Outcome.WAITING: RunState.WAITING, Outcome.ARRIVED: None, Outcome.OVERDUE: None, Outcome.ARRIVED_LATE: None,
    }


def test_log_event_writes_any_fields_at_the_level_it_is_given(caplog):
    caplog.set_level(logging.DEBUG, logger="aml_trigger")
    log_event(logging.DEBUG, report="sweep", swept=3)
    record = only_record(caplog)
    assert (record.levelno, record.getMessage(), record.aml_report, record.aml_swept) == (
        logging.DEBUG, 'aml_trigger {"report": "sweep", "swept": 3}', "sweep", 3)
