"""SDK v1 ``Schedule`` entities (``PipelineScheduleEntity`` as the v1 pipelines API returns them) -> rules-file
entries: time schedules become ``schedules`` (through the v1 recurrence conversion), change-based ones blob rules.

The service writes enums as names ("Week", "Disabled") or, in older answers, as digits ("1", "2"); both are read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cli.migrate.import_findings import Finding
from cli.migrate.secret_settings import withhold_secrets
from shared.core.common.errors import InvalidValue
from shared.core.config.rule_names import RULE_NAME_LENGTH, fitted_name
from shared.core.config.rule_parser import RULE, ItemKind
from shared.core.config.schedule_parser import SCHEDULE, SCHEDULE_NAME_LENGTH
from shared.core.schedules.recurrence import RecurrenceError, recurrence_to_ncrontab
from shared.core.templates.templates import escaped

FREQUENCY_DIGITS = {"0": "Month", "1": "Week", "2": "Day", "3": "Hour", "4": "Minute"}
WEEK_DAY_DIGITS = {"0": "Monday", "1": "Tuesday", "2": "Wednesday", "3": "Thursday", "4": "Friday", "5": "Saturday",
                   "6": "Sunday"}
STATUS_DIGITS = {"0": "Active", "1": "Deprecated", "2": "Disabled"}
SCHEDULE_TYPES = {"0": "Recurrence", "1": "DataStore"}
BOOKKEEPING_KEYS = ("ScheduleId", "RunType", "Properties", "EnableNotification", "DataSetDefinitionValueAssignments")
"""PipelineSubmissionInfo keys the v1 service fills for its own runs; a submission does not send them."""


class V1ScheduleError(InvalidValue, ValueError):
    """Not a list of PipelineScheduleEntity objects."""


@dataclass
class ImportedSchedule:
    """One v1 schedule: the entry it became (None when it has no equivalent) and what was not carried over."""

    schedule_id: str
    name: str
    status: str
    kind: str
    """"time" (ScheduleRecurrence) or "change" (a datastore with polling)."""
    entry: dict[str, Any] | None
    submission: dict[str, Any]
    data_path: tuple[str, str] | None = None
    """(parameter, datastore) a change-based schedule set to the changed blob."""
    notes: list[Finding] = field(default_factory=list)
    unsupported: list[Finding] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)
    """The app settings the entry names as %SETTING% in place of a secret-looking value, with that value: for the
    import's own load check, never written or shown."""

    @property
    def section(self) -> str:
        return "schedules" if self.kind == "time" else "rules"

    def legacy_body(self, blob: str | None) -> dict[str, Any]:
        """The submission the v1 schedule made (for ``blob``, when change-based), without the service's own keys."""
        body = {key: value for key, value in self.submission.items()
                if key not in BOOKKEEPING_KEYS and value is not None}  # the SDK's models send no null
        if self.data_path is not None and blob is not None:
            parameter, datastore = self.data_path
            body["DataPathAssignments"] = {**(body.get("DataPathAssignments") or {}),
                                           parameter: {"DataStoreName": datastore, "RelativePath": blob}}
        return body


def import_v1_schedules(entities: Any, workspace_url: str, *, now: datetime) -> list[ImportedSchedule]:
    """Translate each entity; ``workspace_url`` (the workspace's v1 API URL) prefixes each pipeline id's target;
    ``now`` tells a start_time in the future."""
    if isinstance(entities, dict) and isinstance(entities.get("value"), list):
        entities = entities["value"]
    if not isinstance(entities, list) or not all(isinstance(entity, dict) for entity in entities):
        raise V1ScheduleError("expected a JSON list of v1 schedules (PipelineScheduleEntity objects), as "
                              "GET .../Schedules returns them")
    taken: set[str] = set()
    items = [_schedule(entity, index, workspace_url.rstrip("/"), now) for index, entity in enumerate(entities)]
    for item in items:
        if item.entry is not None:
            item.unsupported.extend(withhold_secrets(item.entry, item.section[:-1], item.settings, taken))
    return items


def _schedule(entity: dict[str, Any], index: int, workspace_url: str, now: datetime) -> ImportedSchedule:
    where = f"[{index}]"
    name = str(entity.get("Name") or entity.get("Id") or f"schedule{index}")
    status = _named(entity.get("EntityStatus", "Active"), STATUS_DIGITS)
    kind = "change" if _named(entity.get("ScheduleType"), SCHEDULE_TYPES) == "DataStore" or \
        entity.get("DataStoreTriggerInfo") else "time"
    submission = entity.get("PipelineSubmissionInfo") or {}
    if not isinstance(submission, dict):
        raise V1ScheduleError(f"{where}.PipelineSubmissionInfo must be a JSON object (the run's ExperimentName, "
                              f"ParameterAssignments...)")
    submission = dict(submission)
    item = ImportedSchedule(str(entity.get("Id", "")), name, status, kind, None, submission)
    entry = _run_keys(entity, submission, where, workspace_url, item)
    if entry is None:
        return item
    if kind == "time":
        entry = {"name": _name(name, SCHEDULE, where, item), **entry}
        if not _recurrence(entity.get("Recurrence"), f"{where}.Recurrence", entry, item, now):
            return item
        if status != "Active":
            entry["enabled"] = False
            item.notes.append(Finding(f"{where}.EntityStatus", f"{status}: imported with enabled: false"))
        item.entry = _fixed_data(entry, submission, where, item)
    else:
        item.entry = _change_rule(entity, {"name": _name(name, RULE, where, item), **entry}, where, item)
        if item.entry is not None and status != "Active":
            item.entry["enabled"] = False
            item.notes.append(Finding(f"{where}.EntityStatus", f"{status}: imported with enabled: false (its blobs "
                                      "are recorded as skipped until it is enabled)"))
    for key in BOOKKEEPING_KEYS:
        if submission.get(key):
            item.notes.append(Finding(f"{where}.PipelineSubmissionInfo.{key}", "set by the v1 service for its own "
                                      "runs; a submission does not send it"))
    return item


def _run_keys(entity: dict[str, Any], submission: dict[str, Any], where: str, workspace_url: str,
              item: ImportedSchedule) -> dict[str, Any] | None:
    pipeline, endpoint = entity.get("PipelineId"), entity.get("PipelineEndpointId")
    if not (pipeline or endpoint) or not submission.get("ExperimentName"):
        item.unsupported.append(Finding(where, "no PipelineId / PipelineEndpointId or no ExperimentName: nothing "
                                        "to run"))
        return None
    url = (f"{workspace_url}/PipelineRuns/PipelineEndpointSubmit/Id/{endpoint}" if endpoint
           else f"{workspace_url}/PipelineRuns/PipelineSubmit/{pipeline}")
    item.notes.append(Finding(f"{where}.{'PipelineEndpointId' if endpoint else 'PipelineId'}",
                              f"target {url}: check it is the pipeline you mean (PublishedPipeline.get(ws, id)"
                              f".endpoint prints it)"))
    entry: dict[str, Any] = {"target": {"url": url}, "experiment": submission["ExperimentName"],
                             "parameters": {name: escaped(value) if isinstance(value, str) else value  # literal
                                            for name, value in (submission.get("ParameterAssignments") or {}).items()}}
    entry["run_source"] = submission.get("RunSource")  # None: send none, as the schedule did
    for key, rule_key in (("Description", "description"), ("ContinueRunOnStepFailure", "continue_on_step_failure")):
        if submission.get(key) is not None:
            entry[rule_key] = submission[key]
    if submission.get("tags"):
        item.unsupported.append(Finding(f"{where}.PipelineSubmissionInfo.tags", "the app writes its own trigger "
                                        "tags"))
    return entry


def _recurrence(raw: Any, where: str, entry: dict[str, Any], item: ImportedSchedule, now: datetime) -> bool:
    """The entry's ``recurrence`` (the rules file's SDK v1 form), refused with the conversion's reason."""
    if not isinstance(raw, dict):
        item.unsupported.append(Finding(where, "a time schedule without a Recurrence"))
        return False
    recurrence: dict[str, Any] = {"frequency": _named(raw.get("Frequency"), FREQUENCY_DIGITS),
                                  "interval": raw.get("Interval", 1)}
    schedule = raw.get("Schedule") or {}
    for key, name in (("Hours", "hours"), ("Minutes", "minutes")):
        if schedule.get(key) is not None:
            recurrence[name] = schedule[key]
    if schedule.get("WeekDays") is not None:
        recurrence["week_days"] = [_named(day, WEEK_DAY_DIGITS) for day in schedule["WeekDays"]]
    if raw.get("StartTime"):
        recurrence["start_time"] = raw["StartTime"]
    if raw.get("TimeZone"):
        recurrence["time_zone"] = raw["TimeZone"]
    try:
        cron = recurrence_to_ncrontab(recurrence, now=now)
    except RecurrenceError as error:
        item.unsupported.append(Finding(where, f"not imported: {error}"))
        return False
    entry["recurrence"] = recurrence
    item.notes.append(Finding(where, f"fires at the same times as NCRONTAB {cron!r} (UTC)"))
    return True


def _fixed_data(entry: dict[str, Any], submission: dict[str, Any], where: str,
                item: ImportedSchedule) -> dict[str, Any]:
    """A time schedule's fixed DataPath becomes ``data: {"blob": ...}`` with its ``data_path``."""
    assignments = submission.get("DataPathAssignments") or {}
    if assignments:
        (parameter, assignment), *others = assignments.items()
        entry["data"] = {"blob": assignment.get("RelativePath")}
        entry["data_path"] = {"parameter": parameter, "datastore": assignment.get("DataStoreName")}
        item.notes.append(Finding(f"{where}.PipelineSubmissionInfo.DataPathAssignments", "the blob is read from the "
                                  "watched container: its datastore must be the one over WATCH_CONTAINER"))
        for other, _ in others:
            item.unsupported.append(Finding(f"{where}.PipelineSubmissionInfo.DataPathAssignments.{other}",
                                            "a schedule passes one DataPath"))
    return entry


def _change_rule(entity: dict[str, Any], entry: dict[str, Any], where: str,
                 item: ImportedSchedule) -> dict[str, Any] | None:
    """A change-based schedule -> a blob rule on its folder, no subfolders (as v1 watched)."""
    trigger = entity.get("DataStoreTriggerInfo") or {}
    folder = str(trigger.get("PathOnDataStore") or "").strip("/")
    datastore = trigger.get("DataStoreName")
    parameter = trigger.get("DataPathParameterName")
    rule = {"name": entry.pop("name"), "prefix": f"{folder}/" if folder else "", "suffix": "",
            "include_subfolders": False, **entry}
    where = f"{where}.DataStoreTriggerInfo"
    item.notes.append(Finding(where, f"datastore {datastore!r} must be the one over WATCH_CONTAINER: the rule "
                              f"watches that container's {folder + '/' if folder else 'root'} (no subfolders, as "
                              f"v1 watched), every file ending"))
    if trigger.get("PollingInterval") is not None:
        item.notes.append(Finding(f"{where}.PollingInterval", f"polled every {trigger['PollingInterval']} minutes: "
                                  "Event Grid events replace polling"))
    if parameter:
        rule["data_path"] = {"parameter": parameter, "datastore": datastore}
        item.data_path = (parameter, str(datastore))
    else:
        item.notes.append(Finding(where, "no DataPathParameterName: runs get no blob, as in v1"))
    return rule


def _named(value: Any, digits: dict[str, str]) -> str:
    text = str(value) if value is not None else ""
    return digits.get(text, text)


def _name(name: str, kind: ItemKind, where: str, item: ImportedSchedule) -> str:
    """The v1 schedule's name as a schedule's (a function's) or a rule's, said in a note when it had to change."""
    fitted = (fitted_name(name, r"[^A-Za-z0-9_]+", "_", SCHEDULE_NAME_LENGTH, letter_first=True) if kind is SCHEDULE
              else fitted_name(name, r"[^A-Za-z0-9_-]+", "-", RULE_NAME_LENGTH))
    if fitted != name:
        item.notes.append(Finding(f"{where}.Name", f"{name!r} is not a {kind.what} name ({kind.name_expected}): "
                                  f"imported as {fitted!r}"))
    return fitted
