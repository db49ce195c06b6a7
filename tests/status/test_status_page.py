"""The status page: served by the app's own HTTP function through a real local HTTP server that checks the function
key as the host does, against Azurite and the Azure ML stand-in; driven in headless Chromium where it is installed,
and called as the worker calls it for what needs no browser."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

import azure.functions as func
import pytest
from azure.storage.blob import BlobServiceClient

from localdev.functions_http import FunctionsHttp
from localdev.host import fire_timer, indexed_function
from localdev.http_counter import counting_requests
from localdev.status_screenshots import XSS_BLOB, rules_document, seed
from shared.clients.process.services import process_services
from shared.core.run_index.run_index import SUMMARY_NAME
from shared.core.status.status_html import CONTENT_SECURITY_POLICY, View, page
from shared.operations.status import status_page
from tests.support.browser import drive
from tests.support.harness import PROJECT_ROOT, deliver_blob, ledger_record, service_client, upload
from tests.support.samples import SAMPLE_CSV

SECRET = "s" * 40


@pytest.fixture
def rules_file(app_env, tmp_path, monkeypatch):
    """One blob rule and one daily schedule, both on the stand-in; Retry on."""
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules_document()))
    monkeypatch.setenv("TRIGGER_RULES_FILE", str(path))
    monkeypatch.setenv("STATUS_PAGE_SECRET", SECRET)
    process_services.cache_clear()
    return path


@pytest.fixture
def site(rules_file):
    """The app's HTTP functions on loopback, behind a function key; its URL and key."""
    key = f"key-{uuid.uuid4().hex}"
    with FunctionsHttp(key) as server:
        yield server.url, key


def seeded(app_env, aml) -> None:
    seed(service_client(), app_env["WATCH_CONTAINER"], aml, SAMPLE_CSV)


def page_call(method: str = "GET", body: bytes = b"", cookie: str | None = None,
              params: dict | None = None) -> func.HttpResponse:
    """The status function called as the worker calls it."""
    headers = {"Content-Type": "application/x-www-form-urlencoded", **({"Cookie": cookie} if cookie else {})}
    request = func.HttpRequest(method=method, url="https://app/api/status", headers=headers, params=params or {},
                               body=body)
    return indexed_function("http_status_page").get_user_function()(request)


def test_the_status_page_is_behind_a_function_key(site):
    url, _ = site
    binding = json.loads(indexed_function("http_status_page").get_function_json())["bindings"][0]
    assert (binding["authLevel"], binding["route"], binding["methods"]) == ("FUNCTION", "status", ["GET", "POST"])
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{url}/api/status")
    assert refused.value.code == 401


def test_the_page_shows_health_rules_schedules_runs_and_sweeps_in_a_browser(app_env, aml, site):
    seeded(app_env, aml)
    url, key = site

    seen = drive([{"goto": f"{url}/api/status?code={key}"}, {"text": "table"}, {"count": "img"},
                  {"text": "section[aria-labelledby=runs] tbody tr"}])

    health, rules, schedules, _, sweeps = seen["results"][1]
    assert "configuration\tok" in health and "ledger\tok" in health and "watched container\tok" in health
    assert "token for https://management.azure.com/.default\tok" in health
    assert "machines\t\t.csv\tpublished_pipeline\t127.0.0.1:" in rules and "failed 1, running 2" in rules
    assert re.search(r"nightly\t0 30 2 \* \* \*\t\d{4}-\d\d-\d\dT02:30:00Z\n\d{4}-\d\d-\d\dT02:30:00Z\n", schedules)
    assert "no record\tenabled" in schedules
    rows = seen["results"][3]
    cells = {row.split("\t")[2]: row.split("\t") for row in rows}
    assert rows[0].split("\t")[2] == XSS_BLOB and set(cells) == {XSS_BLOB, "broken.csv", "machines.csv"}
    # outcome (the chart's words), run status, duration (none yet: no run event has arrived), studio, attempts
    assert cells["broken.csv"][1] == "rule:machines" and cells["broken.csv"][3:8] == ["failed", "", "", "", "1"]
    assert cells["broken.csv"][8:] == ["Azure ML answered 404 PipelineNotFound: pipeline <b>not</b> published yet",
                                       "Retry"]  # the error's markup shown as text
    assert cells["machines.csv"][3:10] == ["running", "", "", "studio", "1", "", ""]
    assert "missing" in sweeps and "processed" in sweeps
    assert seen["results"][2] == 0 and seen["dialogs"] == [] and seen["errors"] == []  # the XSS name stays inert


def test_at_1280_px_the_page_has_no_horizontal_overflow_and_its_charts_are_inline_svg_the_policy_allows(
        app_env, aml, site):
    seeded(app_env, aml)
    long_name = "measurements_from_a_partner_system_" * 4 + "20261207.csv"  # no hyphen or space to wrap at
    upload(app_env["WATCH_CONTAINER"], long_name, SAMPLE_CSV)
    deliver_blob(app_env["WATCH_CONTAINER"], long_name)
    url, key = site

    seen = drive([{"goto": f"{url}/api/status?code={key}"}, {"widths": True}, {"count": "svg.chart"},
                  {"count": f'span.long[title="{long_name}"]'}], width=1280)

    scroll_width, window_width = seen["results"][1]
    assert window_width == 1280 and scroll_width <= window_width
    assert seen["results"][2:] == [2, 1]
    assert [message for message in seen["console"] if "Content Security Policy" in message["text"]] == []
    [navigation] = seen["navigations"]
    assert navigation["headers"]["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert CONTENT_SECURITY_POLICY.startswith("default-src 'none'; style-src 'sha256-")


def test_a_page_view_never_carries_the_function_key_and_sends_a_strict_policy(app_env, aml, site):
    seeded(app_env, aml)
    url, key = site

    seen = drive([{"goto": f"{url}/api/status?code={key}"}, {"select": "#f-state", "value": "failed"},
                  {"click": "button[value=filter]"}])
    with urllib.request.urlopen(f"{url}/api/status?code={key}") as response:
        html = response.read().decode()

    assert key not in html and "code=" not in html and "<script" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;.csv" in html and XSS_BLOB not in html
    for navigation in seen["navigations"]:
        headers = navigation["headers"]
        assert navigation["status"] == 200 and headers["x-content-type-options"] == "nosniff"
        assert headers["content-security-policy"].startswith("default-src 'none'; style-src 'sha256-")
        assert headers["referrer-policy"] == "no-referrer"
    assert [message for message in seen["console"] if "Content Security Policy" in message["text"]] == []


def test_filters_narrow_the_runs_by_state_and_by_rule_or_schedule(app_env, aml, site):
    seeded(app_env, aml)
    url, key = site
    rows = "section[aria-labelledby=runs] tbody tr"

    seen = drive([{"goto": f"{url}/api/status?code={key}"}, {"select": "#f-state", "value": "failed"},
                  {"click": "button[value=filter]"}, {"text": rows},
                  {"select": "#f-state", "value": ""}, {"select": "#f-owner", "value": "schedule:nightly"},
                  {"click": "button[value=filter]"}, {"text": "section[aria-labelledby=runs]"},
                  {"select": "#f-owner", "value": "rule:machines"},
                  {"fill": "#f-since", "value": "2999-01-01T00:00:00Z"},
                  {"click": "button[value=filter]"}, {"text": "section[aria-labelledby=runs]"}], javascript=False)

    [failed] = seen["results"][3]
    assert "broken.csv" in failed and "\tfailed\t" in failed
    assert "No runs match." in seen["results"][7][0] and "Runs" not in seen["results"][7][0]
    assert "No runs match." in seen["results"][11][0]
    assert all(navigation["status"] == 200 for navigation in seen["navigations"])


def test_retry_in_the_browser_reopens_the_failed_record_and_the_stand_in_receives_the_run(app_env, aml, site):
    seeded(app_env, aml)
    url, key = site
    accepted_before = len(aml.accepted)

    seen = drive([{"goto": f"{url}/api/status?code={key}"}, {"click": "button[aria-label*='broken.csv']"},
                  {"text": ".notice"}], javascript=False)

    [notice] = seen["results"][2]
    assert notice.startswith("Retried rules/machines/") and notice.endswith(": submitted")
    assert len(aml.accepted) == accepted_before + 1
    assert aml.accepted[-1].body["DataPathAssignments"]["input_datapath"]["RelativePath"] == "broken.csv"
    etag = ledger_record("machines", app_env["WATCH_CONTAINER"], "broken.csv",
                         aml.accepted[-1].body["tags"]["trigger_etag"])
    assert etag["state"] == "submitted" and etag["run_id"] == aml.accepted[-1].run_id


def test_explain_shows_what_would_be_sent_and_sends_nothing(app_env, aml, site):
    seeded(app_env, aml)
    url, key = site
    posted = len(aml.received)

    seen = drive([{"goto": f"{url}/api/status?code={key}"}, {"fill": "#f-blob", "value": "machines.csv"},
                  {"click": "button[value=explain]"}, {"text": "#explained"}], javascript=False)

    [explained] = seen["results"][3]
    assert explained.startswith("machines.csv: runs would start") and "machines\tyes\twould submit" in explained
    assert '"ExperimentName": "retrain"' in explained and '"RelativePath": "machines.csv"' in explained
    assert len(aml.received) == posted


def page_session() -> tuple[str, str, str]:
    """A first view of the page: its session cookie, the form's CSRF token and the record its Retry names."""
    first = page_call()
    page = first.get_body().decode()
    token = re.search(r'name="csrf" value="([0-9a-f]{64})"', page).group(1)
    record = re.search(r'name="record" value="(rules/machines/[0-9a-f]{64}\.json)"', page)[1]
    return first.headers["Set-Cookie"].split(";")[0], token, record


def test_a_retry_whose_token_does_not_match_the_session_is_refused_and_nothing_is_retried(app_env, aml, rules_file):
    seeded(app_env, aml)
    session, token, record = page_session()
    accepted = len(aml.accepted)
    other_session = f"{status_page.SESSION_COOKIE}={'0' * 32}"

    refusals = [page_call("POST", f"action=retry&record={record}&csrf={token}".encode(), other_session),
                page_call("POST", f"action=retry&record={record}".encode(), session),
                page_call("POST", f"action=retry&record={record}&csrf={token}".encode())]

    assert [response.status_code for response in refusals] == [403, 403, 403]
    assert "does not match your session" in refusals[0].get_body().decode()
    assert len(aml.accepted) == accepted
    assert page_call("POST", f"action=retry&record={record}&csrf={token}".encode(), session).status_code == 200
    assert len(aml.accepted) == accepted + 1


def stored_record(name: str) -> bytes:
    """A record exactly as the ledger holds it."""
    connection = os.environ[os.environ.get("LEDGER_STORAGE") or "AzureWebJobsStorage"]
    ledger = BlobServiceClient.from_connection_string(connection).get_container_client(os.environ["LEDGER_CONTAINER"])
    return ledger.get_blob_client(name).download_blob().readall()


def test_a_get_asking_for_a_retry_is_405_and_changes_nothing_while_the_post_retries(app_env, aml, rules_file):
    seeded(app_env, aml)
    session, token, record = page_session()
    before, accepted = stored_record(record), len(aml.accepted)

    refused = page_call("GET", cookie=session, params={"action": "retry", "record": record, "csrf": token})

    assert refused.status_code == 405 and refused.headers.get("Allow") == "POST"
    assert "Retry changes state: it is sent by the page&#x27;s form (POST), never by a GET." in \
        refused.get_body().decode()
    assert stored_record(record) == before and len(aml.accepted) == accepted
    posted = page_call("POST", f"action=retry&record={record}&csrf={token}".encode(), session)
    assert posted.status_code == 200 and len(aml.accepted) == accepted + 1
    assert json.loads(stored_record(record))["run_id"] == aml.accepted[-1].run_id


def test_without_a_secret_the_page_is_read_only_and_says_why(app_env, aml, rules_file, monkeypatch):
    seeded(app_env, aml)
    monkeypatch.setenv("STATUS_PAGE_SECRET", "too-short")

    shown = page_call()
    refused = page_call("POST", b"action=retry&record=rules/machines/x.json&csrf=0")

    html = shown.get_body().decode()
    assert shown.status_code == 200 and 'value="retry"' not in html and "too-short" not in html
    assert "Retry is off: STATUS_PAGE_SECRET is shorter than 32 characters." in html
    assert refused.status_code == 403 and "Retry is off" in refused.get_body().decode()


def test_a_get_over_a_corrupted_run_index_shows_the_page_rebuilt_from_the_records(app_env, aml, rules_file):
    container = app_env["WATCH_CONTAINER"]
    for name in ("c1.csv", "c2.csv"):
        upload(container, name, SAMPLE_CSV)
        deliver_blob(container, name)
    process_services().ledger.container.upload_blob(SUMMARY_NAME, b'{"schema": 1, "rows": [', overwrite=True)

    response = page_call()

    assert response.status_code == 200
    assert re.findall(r'title="(c\d\.csv)"', response.get_body().decode()) == ["c2.csv", "c1.csv"]


def test_a_page_view_reads_no_record_once_the_run_index_is_built_and_a_filtered_one_only_those_it_shows(
        app_env, aml, rules_file, monkeypatch):
    container = app_env["WATCH_CONTAINER"]
    for index in range(status_page.PAGE_SIZE + 3):
        upload(container, f"m{index:02}.csv", SAMPLE_CSV)
        deliver_blob(container, f"m{index:02}.csv")
    ledger = process_services().ledger
    reads: list[str] = []
    for method in ("read", "read_dated"):  # a record or the index read, and the index read with its date
        monkeypatch.setattr(ledger, method, _noting(reads, getattr(ledger, method)))

    page_call()  # the first view ever builds the run index: one listing, the newest records read
    built, reads[:] = _records_read(reads), []
    first = page_call().get_body().decode()
    first_reads, reads[:] = _records_read(reads), []
    second = page_call("POST", b"action=filter&page=2").get_body().decode()
    second_reads, reads[:] = _records_read(reads), []
    failed = page_call("POST", b"action=filter&state=running&page=2").get_body().decode()

    # the index looked for (with its date), then by the catch-up, then each record once
    assert built[:2] == [SUMMARY_NAME] * 2 and len(set(built[2:])) == len(built) - 2 == status_page.PAGE_SIZE + 3
    assert first_reads == second_reads == [SUMMARY_NAME]
    assert len(_records_read(reads)) == 1 + 3  # a filtered page reads the records it shows
    shown = [re.findall(r'title="(m\d\d\.csv)"', html) for html in (first, second, failed)]
    assert [len(names) for names in shown] == [status_page.PAGE_SIZE, 3, 3]
    assert sorted(shown[0] + shown[1]) == [f"m{index:02}.csv" for index in range(status_page.PAGE_SIZE + 3)]
    assert "page 1 of 2" in first and "page 2 of 2" in second and "page 2 of 2" in failed
    assert re.search(r'<p class="as-of">runs as of \d\d:\d\d:\d\d UTC, caught up by an earlier view</p>', first)
    assert re.search(r'<p class="as-of">runs read from the records now; counts as of \d\d:\d\d:\d\d UTC', failed)


def test_a_first_page_on_a_fresh_index_costs_the_same_few_requests_and_shows_changes_after_the_timers_catch_up(
        app_env, aml, rules_file, azurite):
    container = app_env["WATCH_CONTAINER"]
    storage = urlsplit(azurite.endpoints["blob"]).netloc
    _deliver(container, "f0.csv", "f1.csv")
    page_call()  # the first view builds the run index (and health its clients)
    with counting_requests() as few:
        page_call()
    _deliver(container, *(f"g{index}.csv" for index in range(6)))
    with counting_requests() as fresh:
        before_tick = page_call().get_body().decode()
    fire_timer("catch_up_run_index")  # every minute on the declared defaults
    with counting_requests() as more:
        after_tick = page_call().get_body().decode()

    # the index, the sweep reports' listing, health's three probes, the schedule's last occurrence: no Find
    assert few[storage] == fresh[storage] == more[storage] == 6
    assert len(re.findall(r'title="(\w\d\.csv)"', before_tick)) == 2  # the index as the timer last left it
    assert sorted(re.findall(r'title="(\w\d\.csv)"', after_tick)) == ["f0.csv", "f1.csv", *(
        f"g{index}.csv" for index in range(6))]


def _deliver(container: str, *names: str) -> None:
    for name in names:
        upload(container, name, SAMPLE_CSV)
        deliver_blob(container, name)


def _noting(reads: list[str], read):
    """``read``, noting each name it is asked for in ``reads``."""
    return lambda name, *args, **kwargs: reads.append(name) or read(name, *args, **kwargs)


def _records_read(reads: list[str]) -> list[str]:
    """The run index and the rules' records read (not the schedule's last occurrence, read on every view)."""
    return [name for name in reads if not name.startswith("schedules/")]


def test_a_malformed_form_is_a_clear_400(app_env, rules_file):
    refused = page_call("POST", b"\xff\xfe")
    assert refused.status_code == 400 and "form is not UTF-8 urlencoded fields" in refused.get_body().decode()
    assert refused.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_page_headers_are_set_once_per_session_and_the_moment_comes_from_the_caller(app_env, rules_file):
    request = status_page.PageRequest(method="GET", url="https://app/api/status")
    shown = status_page.respond(request, env={**app_env, "TRIGGER_RULES_FILE": str(rules_file)},
                                services=process_services, now=datetime(2026, 11, 22, 2, 0, tzinfo=UTC),
                                new_session=lambda: "a" * 32)
    cookie = f"{status_page.SESSION_COOKIE}={'a' * 32}; Path=/; HttpOnly; SameSite=Strict; Secure"
    assert shown.headers["Set-Cookie"] == cookie
    assert "2026-11-22T02:30:00Z<br>2026-11-23T02:30:00Z<br>2026-11-24T02:30:00Z" in shown.body
    again = status_page.respond(status_page.PageRequest(method="GET", url="https://app/api/status",
                                                        cookie=shown.headers["Set-Cookie"].split(";")[0]),
                                env=app_env, services=process_services, now=datetime.now(UTC),
                                new_session=lambda: "b" * 32)
    assert "Set-Cookie" not in again.headers


@pytest.mark.integration  # starts a process
def test_importing_the_app_leaves_the_status_page_unimported_so_the_blob_paths_cold_start_is_unchanged():
    code = ("import sys, function_app; print(sorted(m for m in sys.modules if m.startswith("
            "('shared.operations.status.status_page', 'shared.core.status.status_html'))))")
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_every_value_the_page_renders_is_escaped_in_text_and_attributes():
    hostile = '"><img src=x onerror=alert(1)>'
    run = {"record": f"rules/r/{hostile}", "time": hostile, "owner": hostile, "blob": hostile, "state": "failed",
           "run_url": f"javascript:{hostile}", "attempts": hostile, "error": hostile}
    html = page(View(health=(False, {"configuration": {"ok": False, "problems": [hostile]}}),
                     filters={"owner": hostile, "state": hostile, "since": hostile, "until": hostile},
                     owners=[hostile], states=[hostile], runs=[run], csrf="t", explain_blob=hostile,
                     rules=[{"name": hostile, "prefix": hostile, "suffix": hostile, "kind": hostile, "host": hostile,
                             "day": {hostile: 1}, "week": {}, "last_run": hostile}],
                     explained={"blob": hostile, "outcome": hostile, "rules": [
                         {"rule": hostile, "matches": True, "outcome": hostile, "request": {"body": hostile}}]},
                     sweeps=[{"started_at": hostile, "errors": [hostile], "outcomes": {hostile: 1}}],
                     notice=hostile))
    assert "<img" not in html and "javascript:" not in html.replace("javascript:&quot;", "")
    assert 'href="javascript' not in html and html.count("&lt;img src=x onerror=alert(1)&gt;") >= 20


def test_a_run_shows_its_status_and_duration_in_azure_ml_and_a_failed_runs_error():
    listed = [{"record": "rules/machines/a.json", "state": "submitted", "updated_at": "2026-12-01T10:00:00Z",
               "run_url": "https://ml.azure.com/runs/1", "attempts": 1, "subject": {"blob": "a.csv"},
               "run": {"status": "completed", "duration_seconds": 185.4}},
              {"record": "rules/machines/b.json", "state": "submitted", "updated_at": "2026-12-01T09:00:00Z",
               "subject": {"blob": "b.csv"},
               "run": {"status": "failed", "duration_seconds": 7200, "error": {"message": "UserError: no <data>"}}},
              {"record": "rules/machines/c.json", "state": "submitted", "updated_at": "2026-12-01T08:00:00Z",
               "subject": {"blob": "c.csv"}}]
    rows = [status_page._row(run) for run in listed]
    assert [(row["run_status"], row["duration"], row["error"]) for row in rows] == [
        ("completed", "3 min 5 s", None), ("failed", "2 h 0 min", "UserError: no <data>"), (None, None, None)]
    html = page(View(health=(True, {}), owners=["rule:machines"], runs=rows, matched=3))
    assert ">run status</th>" in html and ">duration</th>" in html
    assert "3 min 5 s" in html and "UserError: no &lt;data&gt;" in html


def test_a_bad_filter_says_what_is_wrong_and_still_shows_every_run(app_env, aml, rules_file):
    seeded(app_env, aml)

    shown = page_call("POST", b"action=filter&since=yesterday&state=failed")

    html = shown.get_body().decode()
    assert shown.status_code == 200 and "filters not applied: since must be an ISO 8601 time" in html
    assert "Runs 3 of 3, newest first" in html and 'value="yesterday"' in html  # the form keeps what was typed


def test_the_runs_table_filters_on_what_became_of_a_run_in_the_charts_words(app_env, aml, rules_file):
    seeded(app_env, aml)

    running, failed, by_state = (page_call("POST", b"action=filter&state=" + word).get_body().decode()
                                 for word in (b"running", b"failed", b"submitted"))

    assert "Runs 2 of 2, newest first" in running and "broken.csv" not in running
    assert "Runs 1 of 1, newest first" in failed
    assert re.findall(r">broken.csv</span></td><td>([^<]*)</td>", failed) == ["failed"]  # for good: 404
    assert ("filters not applied: state must be one of completed, failed, canceled, rejected, skipped, running, "
            "starting, waiting, failed for now") in by_state and "Runs 3 of 3, newest first" in by_state


def test_a_run_whose_record_name_is_not_one_the_app_writes_is_still_shown_under_its_own_name():
    rows = [status_page._row({"record": record, "state": "failed"})
            for record in ("manual/machines/a.json", "rules/machines/deeper/b.json", "rules/odd")]
    assert [row["owner"] for row in rows] == ["manual:machines", "rules/machines/deeper/b.json", "rules/odd"]


@pytest.mark.parametrize(("row", "shown"), [
    ({"state": "submitted", "run": {"status": "completed"}}, "completed"),
    ({"state": "submitted"}, "running"),
    ({"state": "failed", "retryable": True}, "failed for now"),
    ({"state": "not a state"}, "unknown"),
])
def test_a_schedules_last_occurrence_shows_what_became_of_its_run_in_the_charts_words(row, shown):
    name = "schedules/nightly/k.json"
    index = {"rows": [{"record": name, **row}]}

    assert status_page._outcome(None, index, name) == shown  # from the index's row: nothing read
