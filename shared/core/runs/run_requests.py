"""What one run is asked for, whichever trigger asks: one value, built by one pure function per trigger kind.

A run request names the ledger record that makes it happen once (namespace and key), what the record says it is
about (the subject), the run and its data, the tags that lead back to the record, and the fields every decision
line about it carries. ``shared.flows.runs.run_steps.execute`` runs any of them through the exactly-once protocol.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from shared.core.blobs.batches import Batch, Listed, manifest_files, marker_folder
from shared.core.blobs.csv_head import csv_head_problem
from shared.core.common.records import NO_ENTRIES
from shared.core.config.config_model import DataSource, Rule, RunSpec, Schedule
from shared.core.ledger.keys import (
    blob_version_key,
    iso,
    iso_ms,
    manual_key,
    manual_namespace,
    parse_iso,
    record_name,
    rule_namespace,
    schedule_data_namespace,
    schedule_namespace,
    schedule_occurrence_key,
)
from shared.core.ledger.run_limits import RunLimit
from shared.core.ledger.subjects import BlobSubject, ManualSubject, ScheduleDataSubject, ScheduleSubject, Subject
from shared.core.runs.payloads import TRIGGERED_BY, DataRef, SubmitRequest, blob_tags, submission
from shared.core.runs.rendering import render_problem, rendered_path, rendered_run
from shared.core.templates.templates import TemplateContext, blob_values


class BlobVersion(NamedTuple):
    """What one ranged read tells about a blob: which version it is, how big, and its first bytes."""

    container: str
    name: str
    url: str
    etag: str
    size: int
    head: bytes
    last_modified: datetime | None = None
    metadata: Mapping[str, str] = NO_ENTRIES
    """Its user metadata, as the read's answer carries it (for ``{blob.metadata.<key>}``)."""

    @property
    def ref(self) -> DataRef:
        return DataRef(path=self.name, url=self.url)


class DataClaim(NamedTuple):
    """An only_if_new_data schedule's second claim, on the data version itself: two occurrences racing on the same
    data submit once, and the data's record names the occurrence whose run used it."""

    namespace: str
    key: str
    subject: ScheduleDataSubject

    @property
    def occurrence(self) -> str:
        return self.subject.occurrence

    def occurrence_key(self, occurrence: str) -> str:
        """The run key of ``occurrence`` (an earlier one, named by the data's record), to look its run up."""
        return schedule_occurrence_key(self.subject.schedule, parse_iso(occurrence))


class RunRequest(NamedTuple):
    """One run to start exactly once. ``data_source`` set: the data is chosen once the key is claimed (a schedule's
    newest blob at fire time), then ``with_data`` fills in ``data`` and what depends on it."""

    namespace: str
    key: str
    subject: Subject
    run: RunSpec
    tags: Mapping[str, str]
    about: Mapping[str, Any]
    """The fields every decision line and problem line about this run carries."""
    data: BlobVersion | None = None
    data_source: DataSource | None = None
    only_if_new_data: bool = False
    record: Mapping[str, Any] = NO_ENTRIES
    """Fields a submitted run's record keeps beyond the run's own: the data chosen at fire time, which the subject
    cannot name."""
    disabled: bool = False
    """The rule is switched off (``enabled: false``): the key is recorded as skipped, so turning the rule back on
    does not replay it unless a sweep is asked to (``since``)."""
    batch: Batch | None = None
    """A marker version's batch: the run gets its folder, or its manifest (whose listed files are checked)."""
    limit: RunLimit | None = None
    """The rule's or schedule's ``max_active_runs``: the run takes a slot at its gate before its POST, or waits."""

    @property
    def record_name(self) -> str:
        return record_name(self.namespace, self.key)

    def problem(self) -> str | None:
        """Why the data must not be run on (a CSV without the required columns, a template this run cannot fill
        in), or None."""
        return self._data_problem() or render_problem(self.run, self.template_context())

    def _data_problem(self) -> str | None:
        if self.data is None:
            return None
        if self.batch is not None:
            return self.batch.problem(self.data.name, self.run.required_columns)
        return csv_head_problem(self.data.head, self.data.size, self.run.required_columns)

    def template_context(self) -> TemplateContext:
        """The values this run's placeholders take: its rule's (or schedule's) name, its blob, occurrence, batch."""
        values: dict[str, str | int | datetime] = {"rule": str(self.about.get("rule") or self.about.get("schedule"))}
        if isinstance(self.subject, ScheduleSubject):
            values["trigger.time"] = parse_iso(self.subject.occurrence)
        if self.data is not None:
            values |= blob_values(self.data.name, self.data.etag, self.data.last_modified)
        if self.batch is not None:
            values["batch.folder"] = self.batch.folder
            if self.batch.file_count is not None:
                values["batch.count"] = self.batch.file_count
        return TemplateContext(values, self.data.metadata if self.data else {})

    def rendered(self) -> RunRequest:
        """This request with its run's templates filled in (``problem`` says first whether they can be)."""
        return self._replace(run=rendered_run(self.run, self.template_context()))

    def submission(self) -> SubmitRequest:
        """The exact request Azure ML receives, its templates filled in."""
        run = rendered_run(self.run, self.template_context())
        return submission(run, data=self._data_ref(rendered_path(run)), tags=self.tags, key=self.key,
                          namespace=self.namespace)

    def _data_ref(self, path: str | None) -> DataRef | None:
        """What the run's input gets: a templated path (a datastore path, a folder when it ends with '/'), else
        the blob, or a marker's folder."""
        if path is not None:
            return DataRef(path=path, url="", folder=path.endswith("/"))
        data = self.data.ref if self.data else None
        if data is not None and self.batch is not None and self.batch.listed is None:
            data = DataRef(path=self.batch.folder, url=data.url.rpartition("/")[0] + "/", folder=True)
        return data

    def with_batch(self, batch: Batch) -> RunRequest:
        """This request on a marker's batch: the run gets its folder or manifest, the record its files."""
        return self._replace(batch=batch, record=batch.record)

    def with_checked(self, checked: tuple[Listed, ...]) -> RunRequest:
        """This marker request with its manifest's files as read once the marker version was claimed."""
        assert self.batch is not None, "a marker request"
        return self.with_batch(self.batch._replace(checked=checked))

    def with_data(self, version: BlobVersion) -> RunRequest:
        """This request on ``version``: its decisions name the blob, its tags trace the run back to it."""
        return self._replace(
            data=version, about={**self.about, **_names(version)},
            tags={**self.tags, "trigger_blob": f"{version.container}/{version.name}", "trigger_etag": version.etag},
            record={"data": {"blob": version.name, "etag": version.etag}} if self.data_source else self.record)

    @property
    def data_claim(self) -> DataClaim | None:
        """The data version's own claim, for an only_if_new_data schedule once its data is chosen."""
        if not self.only_if_new_data or self.data is None or not isinstance(self.subject, ScheduleSubject):
            return None
        version, schedule = self.data, self.subject.schedule
        return DataClaim(schedule_data_namespace(schedule),
                         blob_version_key(version.container, version.name, version.etag),
                         ScheduleDataSubject(schedule=schedule, blob=version.name, etag=version.etag,
                                             occurrence=self.subject.occurrence))


def _names(version: BlobVersion) -> dict[str, str]:
    return {"container": version.container, "blob": version.name, "etag": version.etag}


def blob_request(rule: Rule, version: BlobVersion) -> RunRequest:
    """The run of one blob version for one rule, whether its event, the sweep or an operator's submit asks."""
    key = blob_version_key(version.container, version.name, version.etag)
    subject = BlobSubject(container=version.container, blob=version.name, etag=version.etag, size=version.size,
                          last_modified=None if version.last_modified is None else iso_ms(version.last_modified))
    return RunRequest(
        namespace=rule_namespace(rule.name), key=key, subject=subject, run=rule.run, data=version,
        tags=blob_tags(rule.name, container=version.container, blob_name=version.name, etag=version.etag, key=key),
        about={"rule": rule.name, **_names(version), "key": key}, disabled=not rule.enabled, limit=rule.limit)


def disabled_reason(rule: str) -> str:
    """What a disabled rule's skipped record and decision say."""
    return f"rule {rule!r} is disabled (enabled: false); not replayed when it is enabled again unless a sweep is " \
           "asked to (sweep --since)"


def marker_batch(rule: Rule, version: BlobVersion) -> Batch:
    """What a marker version's run is on: its folder, or the files its manifest lists (checked once claimed)."""
    assert rule.marker is not None, "a marker rule"
    folder = marker_folder(version.name)
    return Batch(folder=folder, listed=manifest_files(version.head, version.size, folder) if rule.marker.manifest
                 else None)


def marker_request(rule: Rule, version: BlobVersion) -> RunRequest:
    """The one run of a marker version: on its folder, or on its manifest once the files it lists are checked."""
    return blob_request(rule, version).with_batch(marker_batch(rule, version))


def rule_request(rule: Rule, version: BlobVersion) -> RunRequest:
    """The run a rule's blob version asks for: a marker's batch, or the blob itself."""
    return marker_request(rule, version) if rule.marker else blob_request(rule, version)


def schedule_request(schedule: Schedule, occurrence: datetime, *, fired_at: datetime, past_due: bool) -> RunRequest:
    """The run of one scheduled occurrence; its data, if any, is chosen when the occurrence is claimed."""
    key = schedule_occurrence_key(schedule.name, occurrence)
    return RunRequest(
        namespace=schedule_namespace(schedule.name), key=key, run=schedule.run,
        subject=ScheduleSubject(schedule=schedule.name, occurrence=iso(occurrence), fired_at=iso(fired_at),
                                past_due=past_due),
        tags={"triggered_by": TRIGGERED_BY, "trigger_schedule": schedule.name, "trigger_occurrence": iso(occurrence),
              "trigger_key": key},
        about={"schedule": schedule.name, "occurrence": iso(occurrence), "key": key, "past_due": past_due or None},
        data_source=schedule.data, only_if_new_data=schedule.only_if_new_data, limit=schedule.limit)


def manual_request(rule: str, run: RunSpec, version: BlobVersion | None, *, request_id: str, blob: str | None,
                   experiment: Any, parameters: Any) -> RunRequest:
    """A deliberate extra run: its own key in the manual namespace, one per request id, tagged with it. The
    subject keeps the request as given (blob, overrides), so a retry or the sweep asks for it again."""
    key = manual_key(rule, request_id)
    request = RunRequest(
        namespace=manual_namespace(rule), key=key, run=run,
        subject=ManualSubject(rule=rule, request_id=request_id, blob=blob, experiment=experiment,
                              parameters=parameters),
        tags={"triggered_by": TRIGGERED_BY, "trigger_rule": rule, "trigger_manual": request_id, "trigger_key": key},
        about={"rule": rule, "key": key})
    return request if version is None else request.with_data(version)


def used_by(version: BlobVersion, subject: Subject | None, run_id: str | None) -> str:
    """Why an only_if_new_data occurrence skips: the data it would get already had its run."""
    return (f"no new data: {version.name} ({version.etag}) was used by the run of {occurrence_of(subject)} "
            f"(run {run_id})")


def occurrence_of(subject: Subject | None) -> str | None:
    """The occurrence whose run used a data version, as the data's claim names it (None: not a data claim)."""
    return subject.occurrence if isinstance(subject, ScheduleDataSubject) else None
