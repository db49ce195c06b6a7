"""Every app setting the code reads, declared once: name, type, default, bounds and one line of documentation.

The code reads settings through these declarations (``text``, ``number``, ``flag``), so defaults, bounds and the
name a problem is reported under come from here; the README's settings table is rendered from them
(``markdown_table``), and tests check it and ``local.settings.sample.json`` against them. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, NamedTuple

Report = Callable[[str, Any, str], None]
"""Where a problem goes: (where, value, expected), as ``shared.core.config.problems`` collects them."""


class Setting(NamedTuple):
    name: str
    doc: str
    """One line: the README table's "meaning"."""
    default: str | None = None
    """The value an unset (or empty) setting stands for, as an app setting would hold it; None: no value."""
    shown_default: str | None = None
    """The README's default column where the raw default says too little ("required", "the endpoint's default")."""
    minimum: float | None = None
    maximum: float | None = None
    whole: bool = False
    """A number setting (``minimum`` given) that must be a whole number."""
    rule_keys: tuple[str, ...] = ()
    """The keys of the one-rule configuration's rule this setting fills: its problems are reported under its name."""
    one_rule: bool = False
    """Replaced by a rules file (ignored, with a warning, unless the file names it as %SETTING%)."""
    empty_is_set: bool = False
    """An empty value is a value, not the default: ``WATCH_SUFFIX=''`` is refused rather than read as ``.csv``."""
    platform: bool = False
    """Set by Azure or the local stand-ins rather than by whoever configures the app: not in the README table."""
    secret: bool = False
    """Holds a secret: infra never writes it (a Key Vault reference belongs there), so no template carries one."""

    def read(self, env: Mapping[str, str]) -> str | None:
        """The setting's text: its default when unset (or empty, unless ``empty_is_set``)."""
        value = env.get(self.name)
        if value is None or (value == "" and not self.empty_is_set):
            return self.default
        return value

    def text(self, env: Mapping[str, str]) -> str:
        """``read`` for a setting declared with a default, which it never lacks."""
        value = self.read(env)
        if value is None:
            raise TypeError(f"{self.name} is declared without a default")
        return value

    def shown(self) -> str:
        if self.shown_default is not None:
            return self.shown_default
        return "none" if self.default is None else f"`{self.default or repr('')}`"


def parse_flag(value: Any, where: str, default: bool, report: Report) -> bool:
    """true/false (also 1/0, yes/no, any case) as a setting or a rules-file value; ``default`` when unset."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no"):
        return False
    report(where, value, "true or false")
    return default


def flag(env: Mapping[str, str], setting: Setting, report: Report) -> bool:
    return parse_flag(env.get(setting.name), setting.name, setting.default == "true", report)


def number(env: Mapping[str, str], setting: Setting, report: Report) -> float:
    """The setting as a number within its bounds; its default (after reporting) when it is not one."""
    assert setting.minimum is not None and setting.maximum is not None and setting.default is not None
    default = int(setting.default) if setting.whole else float(setting.default)
    raw = env.get(setting.name)
    if raw is None or raw == "":
        return default
    try:
        value: float | None = int(raw) if setting.whole else float(raw)
    except ValueError:
        value = None
    if value is None or not setting.minimum <= value <= setting.maximum:
        kind = "a whole number" if setting.whole else "a number"
        report(setting.name, raw, f"{kind} from {setting.minimum:g} to {setting.maximum:g}")
        return default
    return value


HTTP_DEADLINE_MAX = 200.0
"""Azure's HTTP front end answers 504 after 230 s (Azure Load Balancer's idle timeout, whatever functionTimeout
says); 30 s stay for settling the record and answering."""

SETTLE_GRACE = 20.0
"""Seconds past the invocation's deadline an outcome may take to be written: load checks keep the deadline 30 s
before functionTimeout, so the host never kills an invocation that is still writing its record."""

EVENT_GRID_ANSWER_SECONDS = 30.0
"""Event Grid counts a delivery unanswered after 30 s and delivers it again (and slows every delivery to an endpoint
that keeps failing); the Functions host answers only when the function returns."""

RUN_EVENT_SETTLE_GRACE = 5.0
"""A run event's ``SETTLE_GRACE``: what stays of Event Grid's 30 s for writing the record after its deadline."""

RUN_EVENT_DEADLINE_MAX = EVENT_GRID_ANSWER_SECONDS - RUN_EVENT_SETTLE_GRACE
"""A run event's deadline and its settle grace fit in the time Event Grid waits for the answer."""

WATCH_STORAGE = Setting(
    "WATCH_STORAGE", "connection of the watched account: connection string, or `WATCH_STORAGE__blobServiceUri` "
    "(+ `__queueServiceUri`) for managed identity; must point at an Azure storage host (see Targets and security)",
    shown_default="required")
WATCH_CONTAINER = Setting(
    "WATCH_CONTAINER", "the watched container (the trigger path is `%WATCH_CONTAINER%/{name}`)", default="",
    shown_default="required")
WATCH_PREFIX = Setting(
    "WATCH_PREFIX", "folder inside the container, ending with `/` (`''` = whole container)", default="",
    rule_keys=("prefix",), one_rule=True)
WATCH_SUFFIX = Setting(
    "WATCH_SUFFIX", "file ending, case-insensitive (`*` = any ending; an empty value is refused)", default=".csv",
    rule_keys=("suffix",), one_rule=True, empty_is_set=True)
WATCH_SUBFOLDERS = Setting(
    "WATCH_SUBFOLDERS", "also watch subfolders of the prefix", default="false",
    shown_default="`false` (as the Logic App and v1 schedules)", rule_keys=("include_subfolders",), one_rule=True)
WATCH_ENABLED = Setting(
    "WATCH_ENABLED", "`false` records new blobs as skipped (rule disabled) instead of running them; turning it "
    "back on does not replay them (`sweep --since` does)", default="true", rule_keys=("enabled",), one_rule=True)
BLOB_TRIGGER_SOURCE = Setting(
    "BLOB_TRIGGER_SOURCE", "`EventGrid` (low latency, the only choice on Flex Consumption) or `LogsAndContainerScan` "
    "(polling, for `func start` on Azurite)", default="EventGrid")
TRIGGER_RULES_FILE = Setting(
    "TRIGGER_RULES_FILE", "a JSON rules file for several rules and schedules, replacing the one-rule settings "
    "(see Several rules)", shown_default="none (one rule from the settings here)")
AML_PIPELINE_URL = Setting(
    "AML_PIPELINE_URL", "`PublishedPipeline.endpoint` or `PipelineEndpoint.endpoint`", shown_default="required",
    rule_keys=("target.url", "target"), one_rule=True)
AML_PIPELINE_VERSION = Setting(
    "AML_PIPELINE_VERSION", "pipeline endpoint version to run", shown_default="the endpoint's default",
    rule_keys=("target.pipeline_version",), one_rule=True)
AML_DEPLOYMENT = Setting(
    "AML_DEPLOYMENT", "batch endpoint deployment", shown_default="the endpoint's default",
    rule_keys=("target.deployment",), one_rule=True)
AML_WORKSPACE = Setting(
    "AML_WORKSPACE", "the workspace's resource id (studio links)", rule_keys=("target.workspace",), one_rule=True)
AML_EXPERIMENT = Setting(
    "AML_EXPERIMENT", "`ExperimentName`", shown_default="required", rule_keys=("experiment",), one_rule=True)
AML_PARAMETERS = Setting(
    "AML_PARAMETERS", "JSON object of pipeline parameters; numbers become strings, write booleans as strings",
    shown_default="`{}`", rule_keys=("parameters",), one_rule=True)
AML_DATA_PATH_PARAMETER = Setting(
    "AML_DATA_PATH_PARAMETER", "the DataPath pipeline parameter that receives the blob",
    rule_keys=("data_path.parameter", "data_path"), one_rule=True)
AML_DATASTORE = Setting(
    "AML_DATASTORE", "the datastore over the watched container", rule_keys=("data_path.datastore",), one_rule=True)
CSV_REQUIRED_COLUMNS = Setting(
    "CSV_REQUIRED_COLUMNS", "comma-separated header names a file must have (an empty name is refused)",
    rule_keys=("required_columns",), one_rule=True)
AML_TOKEN_SCOPE = Setting(
    "AML_TOKEN_SCOPE", "token scope for every target (prefer `target.scope` per rule)",
    shown_default="per kind (see Targets)", rule_keys=("target.scope",))
AML_ALLOW_LOCAL_TARGETS = Setting(
    "AML_ALLOW_LOCAL_TARGETS", "**local development only**: allow `http` and loopback targets, and loopback / "
    "Azurite storage connections (`UseDevelopmentStorage=true`, `http://127.0.0.1:10000/devstoreaccount1`)",
    default="false")
STORAGE_ALLOWED_HOSTS = Setting(
    "STORAGE_ALLOWED_HOSTS", "comma-separated custom domains a storage connection may name besides Azure's storage "
    "hosts (see Targets and security)")
MANAGED_IDENTITY_CLIENT_ID = Setting(
    "MANAGED_IDENTITY_CLIENT_ID", "client id of a user-assigned identity", shown_default="system-assigned")
LEDGER_STORAGE = Setting("LEDGER_STORAGE", "*name* of the ledger's connection setting", default="AzureWebJobsStorage")
LEDGER_CONTAINER = Setting("LEDGER_CONTAINER", "ledger container", default="aml-trigger-ledger")
DEAD_LETTER_CONTAINER = Setting(
    "DEAD_LETTER_CONTAINER", "the container on the watched account Event Grid dead-letters undeliverable events into "
    "(infra/ creates it); `replay-dead-letters` reads it", default="aml-trigger-deadletter")
CLAIM_EXPIRY = Setting(
    "CLAIM_EXPIRY_SECONDS", "after this a claim counts as abandoned (at least twice the deadline)", default="600",
    minimum=1, maximum=86400)
SUBMIT_DEADLINE = Setting(
    "SUBMIT_DEADLINE_SECONDS", "time one invocation may spend on claims and retries (at most `functionTimeout` - "
    "30 s)", default="240", minimum=1, maximum=3600)
SWEEP_SCHEDULE = Setting(
    "SWEEP_SCHEDULE", "the catch-up sweep's NCRONTAB (at most once a minute: one value in the seconds field)",
    default="0 */15 * * * *")
SWEEP_MAX_BLOBS = Setting(
    "SWEEP_MAX_BLOBS", "the catch-up sweep's cap on blob versions per run", default="100", minimum=1,
    maximum=100_000, whole=True)
RECORD_RETENTION_DAYS = Setting(
    "RECORD_RETENTION_DAYS", "days after their last change that settled run records (a run started, rejected or "
    "skipped; never one waiting, running or failed for now) are deleted by the storage account's lifecycle rules "
    "(infra); at least 15: see [Retention](operating.md#retention). The sweep looks back one day less", default="90",
    minimum=1, maximum=3650, whole=True)
RUN_INDEX_SCHEDULE = Setting(
    "RUN_INDEX_SCHEDULE", "the run index's catch-up timer's NCRONTAB (at most once a minute): the status page and "
    "`runs` show the index as of its last catch-up (see [Status page](operating.md#status-page))",
    default="0 * * * * *")
RUN_INDEX_MAX_AGE = Setting(
    "RUN_INDEX_MAX_AGE_SECONDS", "a view that finds the run index's last catch-up this many seconds old (by "
    "storage's clock) catches it up itself, e.g. where the timer is not running; at least RUN_INDEX_SCHEDULE's "
    "longest gap plus 30 s (below, every view between two ticks would pay a catch-up: refused); 0: every view does",
    default="120",
    minimum=0, maximum=86400)
RUN_STATUS_POLL_SCHEDULE = Setting(
    "RUN_STATUS_POLL_SCHEDULE", "the run-status fallback's NCRONTAB: asks Azure ML about runs submitted and not yet "
    "ended, where run events are not wired (at most once a minute)", default="0 */10 * * * *")
RUN_STATUS_POLL_MAX_RUNS = Setting(
    "RUN_STATUS_POLL_MAX_RUNS", "the run-status fallback's cap on runs asked about per tick (oldest first)",
    default="50", minimum=1, maximum=10_000, whole=True)
SUBMIT_ATTEMPT_TIMEOUT = Setting(
    "SUBMIT_ATTEMPT_TIMEOUT_SECONDS", "time one POST may take; never cut short, so an attempt starts only if it fits "
    "before the deadline. Must be **below** `SUBMIT_DEADLINE_SECONDS` - `RETRY_BASE_DELAY_SECONDS`: the claim and "
    "blob read come out of the deadline first, so a deadline must leave room for one attempt and its backoff",
    default="60", minimum=0.5, maximum=600)
RUN_LISTING_DELAY = Setting(
    "RUN_LISTING_DELAY_SECONDS", "after a POST whose outcome is unknown, how long the key is looked up in Azure ML's "
    "run listing before posting again (see [Exactly once](concepts.md#exactly-once)); below "
    "`SUBMIT_DEADLINE_SECONDS` - `SUBMIT_ATTEMPT_TIMEOUT_SECONDS`", default="15", minimum=0, maximum=600)
HTTP_DEADLINE = Setting(
    "HTTP_DEADLINE_SECONDS", "time `POST /api/runs` and `POST /api/runs/retry` may spend (the shorter of it and "
    "`SUBMIT_DEADLINE_SECONDS`) before answering 202; at most 200, so the answer beats Azure's 230 s HTTP front-end "
    "limit; above `SUBMIT_ATTEMPT_TIMEOUT_SECONDS` + `RETRY_BASE_DELAY_SECONDS`", default="100", minimum=1,
    maximum=HTTP_DEADLINE_MAX)
RUN_EVENT_DEADLINE = Setting(
    "RUN_EVENT_DEADLINE_SECONDS", "time one Azure ML run event may spend (the shorter of it and "
    "`SUBMIT_DEADLINE_SECONDS`) asking for a failed run's error and starting the trigger waiting for the slot its "
    "run's end frees; at most 25, so Event Grid has its answer within its 30 s", default="25", minimum=1,
    maximum=RUN_EVENT_DEADLINE_MAX)
RUN_EVENT_ATTEMPT_TIMEOUT = Setting(
    "RUN_EVENT_ATTEMPT_TIMEOUT_SECONDS", "time one request to Azure ML may take while a run event is handled (the "
    "shorter of it and `SUBMIT_ATTEMPT_TIMEOUT_SECONDS`); below `RUN_EVENT_DEADLINE_SECONDS` - "
    "`RETRY_BASE_DELAY_SECONDS`, so one attempt and its backoff fit. A POST it cuts short is looked up, as any "
    "unanswered POST, by the fallback's tick at the latest", default="10", minimum=0.5, maximum=RUN_EVENT_DEADLINE_MAX)
RETRY_MAX_ATTEMPTS = Setting(
    "RETRY_MAX_ATTEMPTS", "retry budget: POSTs per submission at most", default="8", minimum=1, maximum=50,
    whole=True)
RETRY_BASE_DELAY = Setting(
    "RETRY_BASE_DELAY_SECONDS", "backoff: the first retry's delay", default="1", minimum=0.001, maximum=60)
RETRY_MAX_DELAY = Setting(
    "RETRY_MAX_DELAY_SECONDS", "backoff: the longest delay (at least `RETRY_BASE_DELAY_SECONDS`)", default="30",
    minimum=0.001, maximum=600)
AZURE_MONITOR_OPENTELEMETRY = Setting(
    "AZURE_MONITOR_OPENTELEMETRY", "`true`: export the decision lines with azure-monitor-opentelemetry, each field a "
    "`customDimensions` entry (`aml_outcome`, ...), to `APPLICATIONINSIGHTS_CONNECTION_STRING` (see Monitoring)",
    default="false", shown_default="`false` (the host's classic logs only)")
STATUS_PAGE_SECRET = Setting(
    "STATUS_PAGE_SECRET", "signs the status page's per-session CSRF tokens (at least 32 characters, e.g. a Key Vault "
    "reference); unset, the page is read-only: no Retry buttons", shown_default="none (read-only page)",
    secret=True)

AZURE_WEBJOBS_STORAGE = Setting(
    "AzureWebJobsStorage", "the host's own storage; the ledger's by default", platform=True)
IDENTITY_ENDPOINT = Setting("IDENTITY_ENDPOINT", "App Service's managed identity endpoint", platform=True)
IDENTITY_HEADER = Setting("IDENTITY_HEADER", "the managed identity endpoint's secret header", platform=True)
MSI_ENDPOINT = Setting("MSI_ENDPOINT", "the older managed identity endpoint", platform=True)
WEBSITE_INSTANCE_ID = Setting("WEBSITE_INSTANCE_ID", "set on every App Service instance", platform=True)
APPLICATIONINSIGHTS_CONNECTION_STRING = Setting(
    "APPLICATIONINSIGHTS_CONNECTION_STRING", "the Application Insights resource the host (and the exporter) sends to",
    platform=True)
WEBSITE_TIME_ZONE = Setting(
    "WEBSITE_TIME_ZONE", "refused when set to other than UTC: schedules are evaluated in UTC", default="UTC",
    platform=True)

SETTINGS: tuple[Setting, ...] = tuple(value for value in dict(globals()).values() if isinstance(value, Setting))
"""Every declared setting, in the order above (the README table's order)."""


RULE_KEY_SETTINGS: dict[str, str] = {key: setting.name for setting in SETTINGS for key in setting.rule_keys}
"""Each key of the one-rule configuration's rule (``target.url``) and the setting that fills it: its problems are
reported under that setting's name."""


def markdown_table() -> str:
    """The README's settings table: every setting but the platform's, one row each."""
    rows = [f"| `{setting.name}` | {setting.doc} | {setting.shown()} |" for setting in SETTINGS if not setting.platform]
    return "\n".join(["| setting | meaning | default |", "|---|---|---|", *rows])


NEAR_MISS_CUTOFF = 0.9
"""How alike (difflib's ratio) an unknown name must be to a setting's to be taken for a typo of it: one letter
added, lost or changed in a name of ten or more characters, or a name in the wrong case."""


def near_misses(env: Mapping[str, str], known_elsewhere: Collection[str] = ()) -> list[tuple[str, str]]:
    """(name, the setting it most likely means) for each name in ``env`` that is no setting but nearly one.

    Only names that begin as this app's settings do (``WATCH_``, ``AML_``, ...) are looked at, so that the
    environment's own variables (PATH, HOME) never are; names with ``__`` are parts of a storage connection, and
    ``known_elsewhere`` holds the names the configuration uses otherwise (a rules file's %SETTING%)."""
    known = {setting.name.upper(): setting.name for setting in SETTINGS}
    prefixes = tuple({setting.name.split("_", 1)[0].upper() + "_" for setting in SETTINGS if not setting.platform})
    found: list[tuple[str, str]] = []
    for name in sorted(env):
        if name in known.values() or name in known_elsewhere or "__" in name or not name.upper().startswith(prefixes):
            continue
        import difflib  # only for a name that looks like a setting's and is none: the app's import goes without

        close = difflib.get_close_matches(name.upper(), known, n=1, cutoff=NEAR_MISS_CUTOFF)
        if close:
            found.append((name, known[close[0]]))
    return found
