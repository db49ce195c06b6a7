"""What a configuration says, once checked: the rules, schedules and run specs, and the settings they run under.

Values only: ``shared.core.config.config_loader`` builds them from app settings and the rules file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from shared.core.aml.targets import Target
from shared.core.common.records import NO_ENTRIES
from shared.core.config import settings
from shared.core.ledger.run_limits import RunLimit
from shared.core.schedules.ncrontab import CronSchedule
from shared.core.storage.storage_endpoints import StorageAccount
from shared.core.templates.templates import Template

DEFAULT_SUFFIX = settings.WATCH_SUFFIX.text({})
DEFAULT_RUN_SOURCE = "SDK"
DEFAULT_LEDGER_CONTAINER = settings.LEDGER_CONTAINER.text({})
JOB_OUTPUT_TYPES = {"uri_file": "UriFile", "uri_folder": "UriFolder"}
"""Output types a rule may name, and the jobOutputType the v2 body carries for each."""
RELATIVE_PATHS = ("path", "file_name")
"""What a v1 DataPath's RelativePath gets: the blob's path in the container, or (as a Logic App sending
``triggerBody()?['Name']`` did) its file name alone."""

class DataPathBinding(NamedTuple):
    """Which input receives the blob (a v1 DataPath parameter, a v2 job input) and the datastore over the watched
    container (required for v1; for v2 without one, the blob's https URL is passed)."""

    parameter: str
    datastore: str | None
    relative_path: str = "path"
    """One of RELATIVE_PATHS (file_name: v1 only); "path" when ``path`` is set."""
    path: Template | None = None
    """A path written with placeholders (``relative_path: "scored/{blob.stem}/"``): the input gets it rendered,
    a folder when it ends with '/', in place of the blob's path."""


class JobOutput(NamedTuple):
    """A v2 job output: ``uri_file`` or ``uri_folder`` at ``uri``."""

    type: str
    uri: str

    @property
    def job_output_type(self) -> str:
        """The type as the v2 body spells it (``UriFolder``)."""
        return JOB_OUTPUT_TYPES[self.type]


class BlobFilter(NamedTuple):
    """Which blob names count: a folder, its subfolders or not, a file ending (case-insensitive)."""

    prefix: str = ""
    suffix: str = DEFAULT_SUFFIX
    include_subfolders: bool = False


class RunSpec(NamedTuple):
    """What to run and how to check its data: the target, the v1 body's fields, the CSV's required columns."""

    target: Target
    experiment: str
    parameters: Mapping[str, str | int | float | bool] = NO_ENTRIES
    """As written: v1 bodies send them as strings, v2 bodies as typed literals."""
    parameter_templates: Mapping[str, Template] = NO_ENTRIES
    """The parameters written with placeholders or braces, parsed: rendered when the request is built."""
    data_path: DataPathBinding | None = None
    outputs: Mapping[str, JobOutput] = NO_ENTRIES
    required_columns: tuple[str, ...] = ()
    description: str | None = None
    continue_on_step_failure: bool | None = None
    run_source: str | None = DEFAULT_RUN_SOURCE
    """None: the body carries no RunSource (as a v1 schedule's PipelineSubmissionInfo may not)."""
    display_name: str | None = None
    """A pipeline job's display name (absent: Azure ML shows the job's name)."""
    tags: Mapping[str, str] = NO_ENTRIES
    """A pipeline job's tags, as written; the trigger's labels go in its properties."""


class Marker(NamedTuple):
    """A blob that says a folder is complete: ``_SUCCESS`` (the folder is the run's data) or, with ``manifest``,
    a JSON file listing the folder's files (``{"files": ["part-1.csv", ...]}``; the manifest is the run's data)."""

    file: str
    manifest: bool = False


class QuietWindow(NamedTuple):
    """Files arriving under a folder are collected; one run on the folder starts once ``seconds`` pass without a
    new one."""

    seconds: int


class Freshness(NamedTuple):
    """A freshness expectation: at least ``min_files`` new files (under ``folder``, '' for the whole rule) between
    one ``deadline`` occurrence (NCRONTAB, UTC) and the next; else the deadline's decision is ``overdue``."""

    deadline: CronSchedule
    min_files: int = 1
    folder: str = ""


class Rule(NamedTuple):
    """A blob rule: new blobs that pass ``watch`` start ``run``; a disabled one records them as skipped instead,
    so turning it back on does not replay them (unless a sweep is asked to, with ``since``). With ``marker``, only
    a new marker version starts a run."""

    name: str
    """Keys the rule's ledger records."""
    run: RunSpec
    watch: BlobFilter
    enabled: bool = True
    marker: Marker | None = None
    quiet_window: QuietWindow | None = None
    limit: RunLimit | None = None
    """``max_active_runs``: None, no limit."""
    freshness: tuple[Freshness, ...] = ()


class DataSource(NamedTuple):
    """The data a scheduled run gets: a fixed blob, or the newest blob ``newest`` takes at fire time."""

    blob: str | None = None
    newest: BlobFilter | None = None


class Schedule(NamedTuple):
    """A timed run: ``cron`` (NCRONTAB, UTC) fires ``run``, on ``data`` if any."""

    name: str
    """Keys the schedule's ledger records (and names its timer function)."""
    run: RunSpec
    cron: CronSchedule
    data: DataSource | None = None
    only_if_new_data: bool = False
    enabled: bool = True
    limit: RunLimit | None = None
    """``max_active_runs``: None, no limit."""

    @property
    def function_name(self) -> str:
        """The timer function's name: derived from the schedule's name alone, so it is stable across restarts."""
        return f"schedule_{self.name}"


def _default(setting: settings.Setting) -> float:
    return float(setting.default or 0)


class RetrySettings(NamedTuple):
    max_attempts: int = int(_default(settings.RETRY_MAX_ATTEMPTS))
    base_delay: float = _default(settings.RETRY_BASE_DELAY)
    max_delay: float = _default(settings.RETRY_MAX_DELAY)
    deadline: float = _default(settings.SUBMIT_DEADLINE)
    """Seconds one invocation may spend waiting on claims and retries: safely below the function timeout."""
    attempt_timeout: float = _default(settings.SUBMIT_ATTEMPT_TIMEOUT)
    """Seconds one POST may take; never cut short, so an attempt starts only when it fits before the deadline."""
    listing_delay: float = _default(settings.RUN_LISTING_DELAY)
    """Seconds after an unanswered POST during which its run may still be missing from Azure ML's listing: the key
    is looked up until then before posting again."""
    http_deadline: float = _default(settings.HTTP_DEADLINE)
    """Seconds an HTTP call may spend before it answers 202 and leaves the rest to the sweep: Azure's HTTP front
    end drops a request after 230 s whatever functionTimeout says."""

    run_event_deadline: float = _default(settings.RUN_EVENT_DEADLINE)
    """Seconds one run event may spend: Event Grid waits 30 s for the answer, which comes when the function returns."""
    run_event_attempt_timeout: float = _default(settings.RUN_EVENT_ATTEMPT_TIMEOUT)
    """Seconds one request to Azure ML may take while a run event is handled."""
    settle_grace: float = settings.SETTLE_GRACE
    """Seconds past the deadline an outcome may take to be written (not a setting: what the load checks leave)."""

    @property
    def http_budget(self) -> float:
        """Seconds an HTTP-started submission may take: the shorter of the two deadlines."""
        return min(self.deadline, self.http_deadline)

    @property
    def run_event(self) -> RetrySettings:
        """The settings a run event works under: the shorter deadline and attempt timeout of the two pairs, and a
        settle grace that with the deadline fits in Event Grid's 30 s (RUN_EVENT_DEADLINE_SECONDS' maximum is 30 s
        less that grace, so no run event's deadline can outlast Event Grid's wait). Every check of ``timing_settings``
        holds for these but the listing delay's, which does not apply to a run event (why: ``_RETRY_CHECKS``)."""
        return self._replace(deadline=min(self.deadline, self.run_event_deadline),
                       attempt_timeout=min(self.attempt_timeout, self.run_event_attempt_timeout),
                       settle_grace=settings.RUN_EVENT_SETTLE_GRACE)


class AppConfig(NamedTuple):
    watch_container: str
    rules: tuple[Rule, ...]
    watch_storage: StorageAccount
    ledger_storage: StorageAccount
    """The checked connections: clients are built from these alone."""
    schedules: tuple[Schedule, ...] = ()
    retry: RetrySettings = RetrySettings()
    claim_expiry: float = _default(settings.CLAIM_EXPIRY)
    record_retention_days: int = int(_default(settings.RECORD_RETENTION_DAYS))
    """Days the lifecycle rule keeps run records: the sweep's horizon and the run index's days follow it."""
    run_index_schedule: str = settings.RUN_INDEX_SCHEDULE.text({})
    """When the timer catches the run index up: a view says so beside the time the index is as of."""
    run_index_max_age: float = _default(settings.RUN_INDEX_MAX_AGE)
    """Seconds (storage's clock) after its last catch-up that a view catches the run index up itself."""
    ledger_connection: str = settings.LEDGER_STORAGE.text({})
    ledger_container: str = DEFAULT_LEDGER_CONTAINER
    dead_letter_container: str = settings.DEAD_LETTER_CONTAINER.text({})
    """On the watched account: where Event Grid writes the events it could not deliver."""
    managed_identity_client_id: str | None = None
    ignored_settings: tuple[str, ...] = ()
    """One-rule settings that are set while a rules file replaces them (and does not name them)."""
    warnings: tuple[str, ...] = ()
    """What works but is likely not what was meant (ignored settings, a setting's name mistyped), one sentence each:
    logged at load and listed by ``/api/health``."""

