"""Moving over: a Logic App or SDK v1 schedules -> a rules file, checked by the loader the app runs on and by a
parity check of the request each imported rule sends (built as ``explain`` builds it) against the old body."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cli.migrate.import_findings import Finding
from cli.migrate.import_logic_app import LogicAppImport, import_logic_apps
from cli.migrate.import_v1_schedules import ImportedSchedule, import_v1_schedules
from cli.migrate.parity import compare_bodies, parity_holds, parity_table
from cli.migrate.v1_schedules import find_v1_workspace_url
from shared.clients.common.auth import TokenProvider
from shared.clients.common.clock import SYSTEM_CLOCK, Clock
from shared.core.aml import workspace_discovery as discovery
from shared.core.aml.targets import TargetError, parse_target
from shared.core.common import json_input
from shared.core.common.errors import InvalidInput, UnreadableJson
from shared.core.common.json_input import IMPORT_FILE
from shared.core.common.redaction import mask_text, redact_url
from shared.core.config import settings
from shared.core.config.config_model import Rule, Schedule
from shared.core.config.matching import mismatch
from shared.core.config.problems import ConfigError
from shared.core.config.rules_file import load_rules_file
from shared.core.ledger.keys import schedule_namespace
from shared.core.runs.payloads import TRIGGERED_BY, DataRef, submission
from shared.core.runs.rendering import rendered_run
from shared.core.runs.run_requests import BlobVersion, blob_request
from shared.core.templates.templates import TemplateContext

SAMPLE_ETAG = '"0x8DC0FFEE0000000"'
"""The ETag the parity check's sample blob is given: it only reaches the tags, which are expected to differ."""
RULES_FILE_NAME = "rules.json"


@dataclass
class ImportReport:
    """The rules file, and the lines to show: notes, unsupported parts, parity tables; ``ok`` when the file loads
    and every parity check holds."""

    document: dict[str, Any]
    lines: list[str] = field(default_factory=list)
    ok: bool = True

    @property
    def text(self) -> str:
        """The lines as shown: they quote the source's own words (names, URLs), so secrets are masked."""
        return mask_text("\n".join(self.lines))


def read_json_file(path: str | Path, what: str) -> Any:
    """The JSON in ``path`` through the bounded reader, or InvalidInput saying where the file or its JSON is
    wrong (which field, for JSON too deep or a number too long)."""
    try:
        return json_input.read_json_file(Path(path), source=f"{path}: the {what}", limits=IMPORT_FILE)
    except OSError as error:
        raise InvalidInput(f"{path}: cannot read the {what} ({error.strerror})") from None
    except UnreadableJson as error:
        raise InvalidInput(str(error)) from None


def logic_app(document: Any, env: Mapping[str, str], *, blobs: Sequence[str] = (), name: str | None = None,
              keep_logic_app_value: bool = False, clock: Clock = SYSTEM_CLOCK) -> ImportReport:
    """A Logic App export -> a rule per workflow (an ARM template may hold several; each one not imported is a
    PROBLEM naming why); parity for each of ``blobs`` a rule takes (default: one in its folder). The imported file
    is loaded as the app would load it at ``clock``'s time."""
    imported, refused = import_logic_apps(document, keep_logic_app_value=keep_logic_app_value)
    if name and len(imported) > 1:
        raise InvalidInput(f"--name {name!r} names one rule, and the template gives {len(imported)}: leave --name out "
                           f"(each rule takes its workflow's name)")
    if name:
        imported[0].rule["name"] = name
    report = ImportReport({"rules": [item.rule for item in imported]})
    for workflow in refused:
        report.ok = False
        report.lines.append(f"PROBLEM: {workflow}")
    watched = settings.WATCH_CONTAINER.read(env)
    for item in imported:
        report.lines.append(f"Logic App {item.name!r}: watched /{item.container}/{item.folder} -> rule "
                            f"{item.rule['name']!r}")
        _same_container(report, item.container, watched, imported[0].container)
        _findings(report, item.notes, item.unsupported)
    loaded = _load(report, env, imported, clock.now())
    if loaded is None:
        return report
    rules = {rule.name: rule for rule in loaded[0]}
    at = clock.now()  # utcNow() in the Logic App, the blob's last-modified time in the rule
    for item in imported:
        rule = rules[item.rule["name"]]
        for blob in [blob for blob in blobs if not mismatch(rule.watch, blob)] or [f"{item.folder}machineData.csv"]:
            report.lines.append(f"  {item.relative_path_note(blob)}")
            _parity(report, blob, item.container, rule, item.legacy_body(blob, at), at, item.clock_keys())
    for blob in blobs:  # a sample no rule takes: each rule says why not
        if all(mismatch(rule.watch, blob) for rule in rules.values()):
            for rule in rules.values():
                _would_not_start(report, rule, blob)
    return report


def _same_container(report: ImportReport, container: str, watched: str | None, first: str) -> None:
    """One app watches one container: WATCH_CONTAINER's, or else the first imported workflow's."""
    if watched and watched != container:
        report.ok = False
        report.lines.append(f"  PROBLEM: the Logic App watched container {container!r}, this app watches "
                            f"WATCH_CONTAINER={watched!r}: set WATCH_CONTAINER={container} (one app, one container)")
    elif not watched and container != first:
        report.ok = False
        report.lines.append(f"  PROBLEM: the Logic App watched container {container!r}, the first one imported "
                            f"{first!r}: one app watches one container (import this workflow into another app)")


def v1_schedules(entities: Any, workspace_url: str, env: Mapping[str, str], *,
                 blobs: Sequence[str] = (), clock: Clock = SYSTEM_CLOCK) -> ImportReport:
    """v1 schedules -> ``schedules`` and ``rules``; parity for each imported one (change-based: for ``blobs``).
    Recurrences are converted, and the file loaded, at ``clock``'s time."""
    now = clock.now()
    items = import_v1_schedules(entities, workspace_url, now=now)
    imported = [item for item in items if item.entry is not None]
    report = ImportReport({section: [item.entry for item in imported if item.section == section]
                           for section in ("rules", "schedules")
                           if any(item.section == section for item in imported)})
    for item in items:
        became = f"{item.section[:-1]} {item.entry['name']!r}" if item.entry else "NOT IMPORTED"
        report.lines.append(f"v1 schedule {item.name!r} ({item.schedule_id}, {item.kind}, {item.status}) -> {became}")
        _findings(report, item.notes, item.unsupported)
    if not imported:
        report.lines.append("nothing to import")
        report.ok = False
        return report
    loaded = _load(report, env, imported, now)
    if loaded is None:
        return report
    rules, schedules = ({item.name: item for item in loaded[0]}, {item.name: item for item in loaded[1]})
    container = settings.WATCH_CONTAINER.read(env) or "<WATCH_CONTAINER>"
    for item in imported:
        assert item.entry is not None
        if item.section == "rules":
            rule = rules[item.entry["name"]]
            for blob in blobs or [f"{rule.watch.prefix}machineData.csv"]:
                report.lines.append(f"v1 schedule {item.name!r}:")
                _parity(report, blob, container, rule, item.legacy_body(blob))
        else:
            _schedule_parity(report, item, schedules[item.entry["name"]], container)
    return report


def checked_workspace_url(url: str, env: Mapping[str, str], source: str = "--workspace-url") -> str:
    """The workspace's v1 API URL, checked like a v1 target (https, an Azure ML host, the workspace path)."""
    try:
        target = parse_target(url.rstrip("/") + "/PipelineRuns/PipelineSubmit/x", allow_local=_allow_local(env))
    except TargetError as error:
        raise InvalidInput(f"{source}: {error} (expected https://<region>.api.azureml.ms/pipelines/v1.0"
                           f"/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.MachineLearningServices"
                           f"/workspaces/<name>)") from None
    return target.url.rsplit("/PipelineRuns/", 1)[0]


def workspace_url_from_id(resource_id: str, env: Mapping[str, str], tokens: TokenProvider, *,
                          arm_endpoint: str = discovery.DEFAULT_ARM_ENDPOINT) -> str:
    """The v1 API URL of the workspace ``resource_id`` names, found as azureml-core finds it (ARM, then the
    discovery document) and held to the v1 host allowlist; a malformed id or endpoint sends nothing."""
    allow_local = _allow_local(env)
    workspace = discovery.workspace_id(resource_id)
    arm = discovery.arm_endpoint(arm_endpoint, allow_local=allow_local)
    found = find_v1_workspace_url(workspace, arm, tokens, allow_local=allow_local)
    return checked_workspace_url(found, env, source=f"the workspace's discovery document gave {redact_url(found)}")


def _allow_local(env: Mapping[str, str]) -> bool:
    return settings.flag(env, settings.AML_ALLOW_LOCAL_TARGETS, _refuse)


def _refuse(name: str, value: Any, expected: str) -> None:
    raise InvalidInput(f"{name}={value!r}: expected {expected}")


def _findings(report: ImportReport, notes: list[Finding], unsupported: list[Finding]) -> None:
    report.lines.extend(f"  note: {note}" for note in notes)
    report.lines.extend(f"  NOT CARRIED OVER: {item}" for item in unsupported)


Loaded = tuple[tuple[Rule, ...], tuple[Schedule, ...]]


def _load(report: ImportReport, env: Mapping[str, str],
          imported: Sequence[LogicAppImport | ImportedSchedule], now: datetime) -> Loaded | None:
    """The imported file through the app's own loader, with the settings it references in place of secrets set to
    the values they hold back (as the user will set them): what would fail at start-up fails here."""
    withheld = {name: value for item in imported for name, value in item.settings.items()}
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / RULES_FILE_NAME).write_text(json.dumps(report.document), encoding="utf-8")
        try:
            return load_rules_file({**env, **withheld, settings.TRIGGER_RULES_FILE.name: RULES_FILE_NAME},
                                   Path(folder), now=now)
        except ConfigError as error:
            report.ok = False
            report.lines.append("PROBLEM: the imported rules file does not load:")
            report.lines.extend(f"  {problem}" for problem in error.problems)
            return None


def _would_not_start(report: ImportReport, rule: Rule, blob: str) -> bool:
    """Whether ``rule`` would not start for ``blob``: then a PROBLEM saying why."""
    why_not = mismatch(rule.watch, blob)
    if why_not:
        report.ok = False
        report.lines.append(f"  PROBLEM: rule {rule.name!r} would not start for {blob!r}: {why_not}")
    return bool(why_not)


def _parity(report: ImportReport, blob: str, container: str, rule: Rule, legacy: Mapping[str, Any],
            at: datetime | None = None, clock_keys: frozenset[str] = frozenset()) -> None:
    """``legacy`` and the rule's body for ``blob``, both with ``at`` for the time; ``clock_keys``: the keys whose
    old value was the old trigger's own time of running, unknown here."""
    if _would_not_start(report, rule, blob):
        return
    _compare(report, blob, legacy, _request_body(rule, blob, container, at), clock_keys)


def _schedule_parity(report: ImportReport, item: ImportedSchedule, schedule: Schedule, container: str) -> None:
    blob = schedule.data.blob if schedule.data and schedule.data.blob else None
    data = DataRef(blob, f"https://<account>.blob.core.windows.net/{container}/{blob}") if blob else None
    run = rendered_run(schedule.run, TemplateContext({"rule": schedule.name}))  # its literal braces, undoubled
    body = submission(run, data=data, tags={"triggered_by": TRIGGERED_BY, "trigger_schedule": schedule.name},
                      key="parity", namespace=schedule_namespace(schedule.name)).body
    report.lines.append(f"v1 schedule {item.name!r} ({schedule.cron.expression}):")
    _compare(report, blob or "(none)", item.legacy_body(None), body)


def _request_body(rule: Rule, blob: str, container: str, modified: datetime | None) -> Mapping[str, Any]:
    """The body ``explain`` shows for ``blob`` (last modified at ``modified``): the same request, templates
    rendered."""
    version = BlobVersion(container=container, name=blob, etag=SAMPLE_ETAG, size=0, head=b"",
                          url=f"https://<account>.blob.core.windows.net/{container}/{blob}", last_modified=modified)
    return dict(blob_request(rule, version).submission().body)


def _compare(report: ImportReport, blob: str, legacy: Mapping[str, Any], body: Mapping[str, Any],
             clock_keys: frozenset[str] = frozenset()) -> None:
    rows = compare_bodies(legacy, body, clock_keys)
    report.lines.extend("  " + line for line in parity_table(blob, rows).splitlines())
    report.ok = report.ok and parity_holds(rows)
