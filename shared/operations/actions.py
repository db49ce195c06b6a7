"""What operators do by hand, over the same code as events: start a run, explain a blob or an Event Grid event,
list and retry records, check health. The HTTP functions and the command line both call these."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from azure.core.exceptions import AzureError, ResourceNotFoundError

from shared.clients.ledger import ClaimBusyError, ClaimLostError, RunState, record_name, rule_namespace
from shared.clients.services import Services, build_services
from shared.flows.blob_runs import BlobVersion, process_blob, read_blob_version, run_rule
from shared.flows.run_steps import Step
from shared.flows.schedule_runs import fire_schedule
from shared.rules.blob_names import BlobNameError, checked_blob_name
from shared.rules.config_model import Rule, RunSpec
from shared.rules.csv_head import csv_head_problem
from shared.rules.decisions import Decision, Outcome
from shared.rules.errors import Conflict, InvalidInput, NotFound, Pending, TriggerError, Unprocessable
from shared.rules.keys import blob_version_key, normalize_etag
from shared.rules.matching import mismatch, split_rules
from shared.rules.overrides import override_run
from shared.rules.payloads import TRIGGERED_BY, blob_tags, submission
from shared.rules.problems import ConfigError
from shared.rules.redaction import MASK, looks_secret, mask_text, masked, secret_name

RECORD_PREFIXES = ("rules/", "schedules/", "manual/")
_RECORD_NAME = re.compile(r"(?:rules|schedules|manual)/[A-Za-z0-9][A-Za-z0-9_-]{0,62}/[0-9a-f]{64}\.json")
_SUBJECT = re.compile(r"^/blobServices/default/containers/(?P<container>[^/]+)/blobs/(?P<blob>.+)$")
_STATES = tuple(state.value for state in RunState)
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
"""A manual run's request_id: short and plain, since it is sent as the run's trigger_manual tag."""


def manual_namespace(rule: str) -> str:
    return f"manual/{rule}"


# --- explain -----------------------------------------------------------------------------------------------------


def blob_from_event(event: Any) -> tuple[str, str, str | None]:
    """Container, blob name and ETag of an Event Grid (or CloudEvents) ``Microsoft.Storage.BlobCreated`` event."""
    if not isinstance(event, dict):
        raise InvalidInput("an event is a JSON object")
    event_type = event.get("eventType") or event.get("type")
    if event_type != "Microsoft.Storage.BlobCreated":
        raise InvalidInput(f"not a Microsoft.Storage.BlobCreated event (eventType {event_type!r})")
    subject = event.get("subject")
    match = _SUBJECT.match(subject) if isinstance(subject, str) else None
    if match is None:
        raise InvalidInput("subject must be /blobServices/default/containers/<container>/blobs/<path>")
    name = _safe_name(match.group("blob"), "subject's blob")
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    url = data.get("url")
    if url is not None and _path_of_event_url(url) != f"{match.group('container')}/{name}":
        raise InvalidInput("data.url must name the blob that subject names "
                           "(https://<account>.blob.core.windows.net/<container>/<path>)")
    etag = data.get("eTag")
    if etag is not None and not isinstance(etag, str):
        raise InvalidInput("data.eTag must be a string")
    return match.group("container"), name, etag


def _path_of_event_url(url: Any) -> str | None:
    """``<container>/<blob>`` of an event's ``data.url`` (percent-decoded once, as storage encodes it)."""
    if not isinstance(url, str):
        return None
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    return unquote(path[1:]) if path.startswith("/") else None


def _safe_name(name: Any, what: str, *, supplied: bool = True) -> str:
    """The blob name, or a 400 naming what is wrong with it: checked before any read, post or record."""
    try:
        return checked_blob_name(name, what, supplied=supplied)
    except BlobNameError as error:
        raise InvalidInput(str(error)) from None


def explain(services: Services, *, blob: str | None = None, event: Any = None) -> dict[str, Any]:
    """Which rules a blob (or event) matches, why the others don't, and the exact request each would send.

    Reads what the blob trigger reads (the first 64 KiB), sends nothing to Azure ML and writes nothing.
    """
    if (blob is None) == (event is None) or (blob is not None and not blob.strip()):
        raise InvalidInput("give either blob (a path in the watched container) or event (a BlobCreated event)")
    container, name, etag = ((services.config.watch_container, _safe_name(blob, "blob"), None) if blob
                             else blob_from_event(event))
    answer: dict[str, Any] = {"container": container, "blob": name, "sent": "nothing"}
    if container != services.config.watch_container:
        return {**answer, "rules": [], "outcome": f"ignored: container is not {services.config.watch_container!r}"}
    matched, mismatches = split_rules(services.config.rules, name)
    answer["rules"] = [{"rule": rule, "matches": False, "reason": why} for rule, why in mismatches.items()]
    if not matched:
        return {**answer, "outcome": "ignored: no rule matches"}
    version = read_blob_version(services.watched.get_blob_client(name), etag)
    if isinstance(version, str):
        return {**answer, "etag": etag, "outcome": f"ignored: {version}"}
    answer["etag"] = version.etag
    for rule in matched:
        answer["rules"].append(_explain_rule(rule, version))
    return {**answer, "outcome": "runs would start for the matching rules that are not rejected"}


def _explain_rule(rule: Rule, version: BlobVersion) -> dict[str, Any]:
    key = blob_version_key(version.container, version.name, version.etag)
    problem = csv_head_problem(version.head, version.size, rule.run.required_columns)
    if problem:
        return {"rule": rule.name, "matches": True, "key": key, "outcome": f"rejected: {problem}"}
    tags = blob_tags(rule.name, container=version.container, blob_name=version.name, etag=version.etag, key=key)
    request = submission(_shown_run(rule.run), data=version.ref, tags=tags, key=key)
    return {"rule": rule.name, "matches": True, "key": key, "outcome": "would submit",
            "request": {"method": "POST", "url": request.url, "token_scope": request.scope,
                        "headers": dict(request.headers), "body": request.body}}


def _shown_run(run: RunSpec) -> RunSpec:
    """``run`` as explain shows it: a parameter whose name or value looks secret is ``***`` (the POST sends it)."""
    parameters = {name: MASK if secret_name(name) or (isinstance(value, str) and looks_secret(value)) else value
                  for name, value in run.parameters.items()}
    return dataclasses.replace(run, parameters=parameters)


# --- manual runs -------------------------------------------------------------------------------------------------


class RunPending(Pending):
    """A manual run or retry still failing for now at its deadline: its record stays open and the sweep (or a
    retry) finishes it. The HTTP API answers 202 naming the record, never a front-end timeout; the CLI exits 3.
    """

    def __init__(self, record: str, cause: Exception):
        super().__init__(f"{record}: {cause}")
        self.record = record
        self.busy = isinstance(cause, ClaimBusyError)
        self.reason = mask_text(str(cause), urls=False)  # may echo Azure ML's error: masked as a decision's is
        self.attempts = getattr(cause, "attempts", None)

    def fields(self) -> dict[str, Any]:
        namespace, owner = self.record.split("/")[:2]
        listing = "schedule" if namespace == "schedules" else "rule"
        finisher = ("POST /api/runs/retry with this record" if namespace == "schedules"
                    else "the catch-up sweep (SWEEP_SCHEDULE), or POST /api/runs/retry with this record")
        answer: dict[str, Any] = {
            "outcome": "pending", "record": self.record, "state": "claimed" if self.busy else "failed",
            "retryable": True, "reason": self.reason, "location": f"/api/runs?{listing}={owner}",
            "finished_by": f"its current owner, else {finisher}" if self.busy else finisher}
        if self.attempts is not None:
            answer["attempts"] = self.attempts
        return answer


def http_deadline(services: Services) -> float:
    """The monotonic deadline of work an HTTP request starts: the answer must beat Azure's 230 s front end."""
    return services.monotonic() + services.config.retry.http_budget


def start_run(services: Services, *, rule: str, blob: str | None = None, experiment: Any = None,
              parameters: Any = None, request_id: str | None = None, rerun: bool = False,
              deadline: float | None = None) -> Decision:
    """Start a run for ``rule`` by hand; RunPending when it is still failing for now at ``deadline``.

    A blob the rule watches, with no overrides, no ``request_id`` and no ``rerun``, gets *that version's* run:
    the key, namespace and tags its event would use, so the event, the sweep and a repeated submit are
    duplicates of it. Anything else is a deliberate extra run in the manual namespace, one per ``request_id``.
    """
    if request_id is not None and not _REQUEST_ID.fullmatch(request_id):
        raise InvalidInput(f"request_id ({len(request_id):,} characters) must be 1 to 128 letters, digits, "
                           "'.', '_', ':' or '-', starting with a letter or digit")
    found = _rule(services, rule)
    try:
        run = override_run(found.run, experiment=experiment, parameters=parameters)
    except ConfigError as error:
        raise InvalidInput(str(error)) from None
    if blob is not None:
        _safe_name(blob, "blob")
    if blob is not None and run.data_path is None:
        raise InvalidInput(f"rule {rule!r} passes no data (it has no data_path): leave blob out")
    deadline = services.monotonic() + services.config.retry.deadline if deadline is None else deadline
    version = _manual_data(services, blob) if blob is not None else None
    if (version is not None and run == found.run and request_id is None and not rerun
            and mismatch(found.watch, version.name) is None):
        key = blob_version_key(version.container, version.name, version.etag)
        return _or_pending(record_name(rule_namespace(rule), key), lambda: run_rule(found, version, services, deadline))
    request_id = request_id or uuid.uuid4().hex
    key = hashlib.sha256(f"manual\n{rule}\n{request_id}".encode()).hexdigest()
    subject = {"kind": "manual", "rule": rule, "request_id": request_id, "blob": blob, "experiment": experiment,
               "parameters": parameters}
    return _or_pending(record_name(manual_namespace(rule), key),
                       lambda: _manual_run(services, run, version, subject, key, deadline))


def _manual_run(services: Services, run: RunSpec, version: BlobVersion | None, subject: dict[str, Any], key: str,
                deadline: float) -> Decision:
    """A deliberate extra run: its own key in the manual namespace, tagged with its request id."""
    rule = subject["rule"]
    about: dict[str, Any] = {"rule": rule, "key": key}
    if version is not None:
        about.update(container=version.container, blob=version.name, etag=version.etag)
    step = Step(services, manual_namespace(rule), key, about)
    done = step.claim_or_duplicate(subject, deadline)
    if done:
        return done
    if version is not None:
        problem = csv_head_problem(version.head, version.size, run.required_columns)
        if problem:
            return step.settle_without_run(Outcome.REJECTED, problem)
    tags = {"triggered_by": TRIGGERED_BY, "trigger_rule": rule, "trigger_manual": subject["request_id"],
            "trigger_key": key}
    if version is not None:
        tags.update(trigger_blob=f"{version.container}/{version.name}", trigger_etag=version.etag)
    request = submission(run, data=version.ref if version else None, tags=tags, key=key)
    return step.submit(run, request, deadline)


def _or_pending(record: str, work: Callable[[], Decision]) -> Decision:
    """``work``'s decision; a failure for now becomes RunPending naming the record that stays open."""
    try:
        return work()
    except Pending:
        raise  # already names its open record
    except TriggerError as error:
        if not error.retryable:
            raise
        raise RunPending(record, error) from error


def _manual_data(services: Services, blob: str) -> BlobVersion:
    version = read_blob_version(services.watched.get_blob_client(blob))
    if isinstance(version, str):
        raise (NotFound if "no longer exists" in version else Unprocessable)(f"{blob}: {version}")
    return version


def _rule(services: Services, name: str) -> Rule:
    for rule in services.config.rules:
        if rule.name == name:
            return rule
    known = ", ".join(rule.name for rule in services.config.rules) or "none"
    raise NotFound(f"no rule named {name!r} (rules: {known})")


# --- records -----------------------------------------------------------------------------------------------------


MAX_LIST_LIMIT = 1000
"""Records one listing may return: each one is a blob read."""


def list_limit(text: str) -> int:
    """A listing's ``limit`` as given in a query string or on the command line: a whole number in range."""
    if not (text.isascii() and text.isdigit() and len(text) <= 4 and 1 <= int(text) <= MAX_LIST_LIMIT):
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LIST_LIMIT}, not {text[:20]!r}")
    return int(text)


def list_runs(services: Services, *, rule: str | None = None, schedule: str | None = None,
              state: str | None = None, since: str | None = None, until: str | None = None,
              limit: int = 50) -> list[dict[str, Any]]:
    """Trigger records, newest first, filtered on the listing (state, time) before any record is read."""
    if rule and schedule:
        raise InvalidInput("filter on rule or schedule, not both")
    if state is not None and state not in _STATES:
        raise InvalidInput(f"state must be one of {', '.join(_STATES)}")
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LIST_LIMIT}, not {limit}")
    after, before = _moment(since, "since"), _moment(until, "until")
    prefixes = ([f"{rule_namespace(rule)}/", f"{manual_namespace(rule)}/"] if rule
                else [f"schedules/{schedule}/"] if schedule else list(RECORD_PREFIXES))
    listed = [blob for prefix in prefixes for page in services.ledger.listing(prefix) for blob in page
              if (state is None or (blob.metadata or {}).get("state") == state)
              and (after is None or blob.last_modified >= after) and (before is None or blob.last_modified <= before)]
    listed.sort(key=lambda blob: blob.last_modified, reverse=True)
    return [_summary(blob.name, found[0]) for blob in listed[:limit] if (found := services.ledger.read(blob.name))]


def _summary(name: str, record: dict[str, Any]) -> dict[str, Any]:
    """A record as a listing shows it: secrets masked (an error Azure ML echoed, a manual run's secret parameter),
    the record itself unchanged; the run link keeps its workspace query."""
    fields = ("state", "reason", "run_id", "run_url", "attempts", "retryable", "subject", "updated_at", "error")
    shown = {field: record[field] for field in fields if record.get(field) is not None}
    return {"record": name, **{field: value if field == "run_url" else masked(value, name=field)
                               for field, value in shown.items()}}


def _moment(value: str | None, what: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{what} must be an ISO 8601 time such as 2026-11-22T02:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def retry(services: Services, *, record: str, deadline: float | None = None) -> Decision:
    """Run a failed or rejected record's trigger again (after fixing the data, the pipeline or the rule).

    What will re-run is resolved and checked first; only then is the record reopened, so a retry that cannot
    happen leaves the record as it was. Still failing for now at ``deadline``: RunPending.
    """
    if not _RECORD_NAME.fullmatch(record):
        raise InvalidInput("record must be a record name as runs lists it, e.g. rules/<rule>/<key>.json")
    found = services.ledger.read(record)
    if found is None:
        raise NotFound(f"no record {record}")
    current, etag = found
    if current.get("state") not in ("failed", "rejected"):
        raise Conflict(f"{record} is {current.get('state')}; only failed or rejected records are retried")
    rerun = _rerun(services, record.split("/")[1], current.get("subject", {}), deadline)
    try:
        services.ledger.reopen(record, current, etag, reason=f"retry requested (was {current['state']}: "
                                                             f"{current.get('reason')})")
    except ClaimLostError as error:
        raise Conflict(str(error)) from None
    return _or_pending(record, rerun)


def finish_manual(services: Services, record: str) -> Decision:
    """Finish a manual record left failed for now (an HTTP call answered 202) or abandoned: the sweep's part.

    Its request id claims the same key again, so a record settled meanwhile is a duplicate, not a second run.
    """
    found = services.ledger.read(record)
    if found is None:
        raise NotFound(f"no record {record}")
    return _rerun(services, record.split("/")[1], found[0].get("subject", {}), None)()


def _rerun(services: Services, owner: str, subject: dict[str, Any],
           deadline: float | None) -> Callable[[], Decision]:
    """What re-running a record's trigger takes, checked now: the rule or schedule exists, the blob is unchanged."""
    kind = subject.get("kind")
    if kind == "blob":
        rule = _rule(services, owner)
        # The host named this blob (the app wrote the record): checked as process_blob checks the host's names.
        blob = services.watched.get_blob_client(_safe_name(subject.get("blob"), "the record's blob", supplied=False))
        try:
            now = normalize_etag(blob.get_blob_properties().etag)
        except ResourceNotFoundError:
            raise Conflict(f"{subject['blob']} no longer exists") from None
        if now != subject["etag"]:
            raise Conflict(f"{subject['blob']} changed since (the newer version has its own record)")
        return lambda: process_blob(blob, services, expected_etag=now, only=[rule], deadline=deadline)[0]
    if kind == "schedule":
        if not any(s.name == owner and s.enabled for s in services.config.schedules):
            raise Conflict(f"schedule {owner!r} is no longer configured (or is disabled)")
        occurrence = datetime.fromisoformat(subject["occurrence"].replace("Z", "+00:00"))
        return lambda: fire_schedule(owner, fired_at=occurrence, past_due=False, services=services,
                                     deadline=deadline)
    if kind == "manual":
        _rule(services, owner)
        return lambda: start_run(services, rule=owner, blob=subject.get("blob"), experiment=subject.get("experiment"),
                                 parameters=subject.get("parameters"), request_id=subject["request_id"],
                                 deadline=deadline)
    raise Conflict(f"a {kind!r} record cannot be retried")


# --- health ------------------------------------------------------------------------------------------------------


def health(env: Mapping[str, str]) -> tuple[bool, dict[str, Any]]:
    """Configuration valid, storage reachable, a token obtainable for every target's scope. Never a secret."""
    try:
        services = build_services(env)
    except ConfigError as error:
        return False, {"configuration": {"ok": False, "problems": [str(problem) for problem in error.problems]}}
    report: dict[str, Any] = {"configuration": {"ok": True, "rules": len(services.config.rules),
                                                "schedules": len(services.config.schedules)}}
    if services.config.ignored_settings:
        report["configuration"]["ignored_settings"] = list(services.config.ignored_settings)
    report["ledger"] = _check(lambda: next(iter(services.ledger.listing("state/")), None))
    report["watched_container"] = _check(services.watched.get_container_properties)
    scopes = sorted({item.run.target.scope for item in (*services.config.rules, *services.config.schedules)})
    report["tokens"] = {scope: _check(lambda scope=scope: services.tokens.bearer(scope)) for scope in scopes}
    checks = [report["ledger"], report["watched_container"], *report["tokens"].values()]
    return all(check["ok"] for check in checks), report


def _check(probe) -> dict[str, Any]:
    try:
        probe()
    except ResourceNotFoundError as error:
        return {"ok": False, "error": f"not found: {error.reason or type(error).__name__}"}
    except AzureError as error:
        return {"ok": False, "error": f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"}
    return {"ok": True}
