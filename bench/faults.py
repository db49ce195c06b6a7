"""The fault matrix: exactly one run per blob version under each fault production can throw at the app.

    ./dev faults [--only duplicates,5xx,...]        (python -m bench.faults)

Each row drives the real app code the way the host does (the blob trigger's user function with the BlobClient the
worker builds, on Azurite; tokens through azure-identity from the local managed-identity endpoint; POSTs to the
Azure ML stand-in), injects one fault, then redelivers as the platform would until nothing is left to do: the host
retries a failed invocation (up to 5 attempts), Event Grid redelivers an event whose claim is still open after
the claim expired, and the catch-up sweep runs once at the end. Then it counts, at the stand-in: POSTs received
(a pipeline job's PUTs, in the "job" rows), runs accepted, blob versions left without a run (lost) and runs beyond
one per blob version (duplicate runs). Target: 0 lost and 0 duplicate runs in every row; the exit status is 1
when any row misses it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from azure.storage.blob import BlobServiceClient, ContainerClient

from localdev.aml_standin import COMPONENT, AcceptThenDrop, AmlStandIn, Delay, Drop, Respond
from localdev.azurite import ACCOUNT, ACCOUNT_KEY, PROJECT_ROOT, Azurite
from localdev.host import deliver_blob
from localdev.identity_endpoint import TOKEN_PATH, IdentityEndpoint
from localdev.tcp_switch import TcpSwitch
from shared.clients.process.services import process_services
from shared.core.ledger.keys import blob_version_key, normalize_etag, record_name, rule_namespace
from shared.core.ledger.ledger_record import RunState
from shared.flows.sweep.sweep import sweep

CSV = b"MYCT,MMIN,MMAX,CACH,CHMIN,CHMAX,PRP\n125,256,6000,256,16,128,198\n29,8000,32000,32,8,32,269\n"
RULE = "default"
COMPONENT_PINNED = f"azureml:{COMPONENT[0]}:{COMPONENT[1]}"
_CLEARED_SETTINGS = ("TRIGGER_RULES_FILE", "WATCH_SUFFIX", "WATCH_SUBFOLDERS", "AML_PIPELINE_VERSION",
                     "AML_TOKEN_SCOPE", "CSV_REQUIRED_COLUMNS", "MANAGED_IDENTITY_CLIENT_ID", "MSI_ENDPOINT",
                     "AZURE_CLIENT_ID", "WEBSITE_INSTANCE_ID")
"""Settings a developer's shell may carry that would change what the matrix measures."""


@dataclass(frozen=True)
class Settings:
    """Small timings, so the whole matrix takes minutes; each is printed above the table."""

    attempt_timeout: float = 1.0
    deadline: float = 2.5
    listing_delay: float = 1.2
    """RUN_LISTING_DELAY_SECONDS: long enough for a slow answer's run (created 1 s after the attempt gave up) to be
    looked for, short enough that the lookups and an attempt fit in the deadline."""
    claim_expiry: float = 5.0
    function_timeout: float = 8.0
    """The host's functionTimeout, scaled down: a worker process still busy after it is killed, as the host does.
    (The app itself still reads host.json's.)"""
    host_attempts: int = 5
    """Invocations of one event, the first included (the blob extension's poisonBlobThreshold)."""
    host_retry_delay: float = 0.2
    slow_answer: float = 2.0
    """How late a slow Azure ML answer comes: more than one attempt timeout."""
    ledger_outage: float = 2.0
    """How long the ledger is down when it is down at claim."""
    worker_start: float = 5.0
    """Seconds given to worker processes to import and index the app before they deliver together."""

    def describe(self) -> str:
        return (f"settings: attempt timeout {self.attempt_timeout:g} s (SUBMIT_ATTEMPT_TIMEOUT_SECONDS), deadline "
                f"{self.deadline:g} s (SUBMIT_DEADLINE_SECONDS),\n          claim expiry {self.claim_expiry:g} s "
                f"(CLAIM_EXPIRY_SECONDS), host function timeout {self.function_timeout:g} s (worker processes),\n"
                f"          listing delay {self.listing_delay:g} s (RUN_LISTING_DELAY_SECONDS), "
                f"{self.host_attempts} host attempts per event {self.host_retry_delay:g} s apart,\n"
                f"          slow answers {self.slow_answer:g} s late, ledger outage at claim {self.ledger_outage:g} s")


@dataclass(frozen=True)
class Row:
    fault: str
    posts: int
    runs: int
    lost: int
    duplicate_runs: int
    notes: str = ""

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.duplicate_runs == 0

    def __str__(self) -> str:
        verdict = "met" if self.ok else "MISSED"
        return (f"{self.fault:<26} {self.posts:>5} {self.runs:>5} {self.lost:>5} {self.duplicate_runs:>14}  "
                f"{verdict:<7} {self.notes}").rstrip()


HEADER = f"{'fault':<26} {'POSTs':>5} {'runs':>5} {'lost':>5} {'duplicate runs':>14}  {'verdict':<7} what happened"


class WatchedStandIn(AmlStandIn):
    """The Azure ML stand-in (which calls ``on_accept`` the moment it has created a run, before it answers),
    knowing how many requests it is still handling."""

    def __init__(self) -> None:
        super().__init__()
        self._started = 0

    def next_fault(self):
        with self._lock:
            self._started += 1
        return super().next_fault()

    def start(self) -> WatchedStandIn:
        super().start()
        default = self._server.handle_error

        def handle_error(request, address) -> None:
            """A client that hung up (it timed out, or was killed) is the fault under test, not a server error."""
            if not isinstance(sys.exc_info()[1], ConnectionError):
                default(request, address)

        self._server.handle_error = handle_error
        return self

    @property
    def in_flight(self) -> int:
        """Submissions (POSTs, a pipeline job's PUTs) begun and not yet recorded; the GETs recorded beside them
        (a job adopted, a component's versions) draw no fault and are not counted."""
        with self._lock:
            return self._started - sum(1 for request in self.received if request.method in ("POST", "PUT"))


@dataclass(frozen=True)
class Version:
    name: str
    etag: str


@dataclass
class Lab:
    """One row's world: its own containers, Azure ML stand-in and identity endpoint; the ledger and the identity
    endpoint behind switches, so either can go down and come back with its state. ``component`` set: the rule
    creates pipeline jobs of that component (a rules file) instead of submitting to a v1 published pipeline."""

    data: Azurite
    ledger: Azurite
    settings: Settings
    container: str
    component: str | None = None
    sleep: Callable[[float], None] = time.sleep
    wall_clock: Callable[[], float] = time.time
    tally: Counter = field(default_factory=Counter)

    def __enter__(self) -> Lab:
        self._stack = ExitStack()
        self.workers: list[subprocess.Popen[str]] = []
        self.aml = self._stack.enter_context(WatchedStandIn())
        self.identity = self._stack.enter_context(IdentityEndpoint())
        self.ledger_switch = self._stack.enter_context(TcpSwitch(_port(self.ledger.endpoints["blob"])))
        self.identity_switch = self._stack.enter_context(TcpSwitch(_port(self.identity.url)))
        self.blobs = BlobServiceClient.from_connection_string(self.data.connection_string).get_container_client(
            self.container)
        self.blobs.create_container()
        self.records: ContainerClient = BlobServiceClient.from_connection_string(
            self.ledger.connection_string).get_container_client(f"ledger-{self.container}")
        settings = self.app_settings()
        if self.component is not None:
            settings = self._pipeline_job_settings(settings, self.component)
        self._stack.enter_context(_environment(settings))
        process_services.cache_clear()
        self._stack.callback(process_services.cache_clear)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def app_settings(self) -> dict[str, str]:
        """The app's settings, as a deployment with the ledger on its own account has them."""
        ledger = (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
                  f"BlobEndpoint={self.ledger_switch.url}/{ACCOUNT};")
        s = self.settings
        return {
            "WATCH_CONTAINER": self.container, "WATCH_PREFIX": "incoming/",
            "WATCH_STORAGE": self.data.connection_string,
            "AzureWebJobsStorage": self.data.connection_string, "LEDGER_STORAGE": "FAULTS_LEDGER_STORAGE",
            "FAULTS_LEDGER_STORAGE": ledger, "LEDGER_CONTAINER": self.records.container_name,
            "AML_PIPELINE_URL": self.aml.published_pipeline_url(), "AML_EXPERIMENT": "fault-matrix",
            "AML_PARAMETERS": '{"model_name": "automlmodel"}', "AML_DATA_PATH_PARAMETER": "input_datapath",
            "AML_DATASTORE": "workspaceblobstore", "AML_ALLOW_LOCAL_TARGETS": "true",
            "RETRY_BASE_DELAY_SECONDS": "0.01", "RETRY_MAX_DELAY_SECONDS": "0.05",
            "SUBMIT_DEADLINE_SECONDS": f"{s.deadline:g}", "SUBMIT_ATTEMPT_TIMEOUT_SECONDS": f"{s.attempt_timeout:g}",
            "CLAIM_EXPIRY_SECONDS": f"{s.claim_expiry:g}", "RUN_LISTING_DELAY_SECONDS": f"{s.listing_delay:g}",
            "IDENTITY_ENDPOINT": self.identity_switch.url + TOKEN_PATH, "IDENTITY_HEADER": self.identity.secret,
        }

    def _pipeline_job_settings(self, settings: dict[str, str], component: str) -> dict[str, str]:
        """``settings`` with the one-rule target replaced by a rules file: the same rule, creating pipeline jobs."""
        rules = Path(self._stack.enter_context(tempfile.TemporaryDirectory())) / "rules.json"
        rules.write_text(json.dumps({"rules": [{
            "name": RULE, "prefix": "incoming/", "experiment": "fault-matrix",
            "parameters": {"model_name": "automlmodel"},
            "data_path": {"parameter": "input_data", "datastore": "workspaceblobstore"},
            "target": {"kind": "pipeline_job", "url": self.aml.arm_url(), "workspace": self.aml.workspace_id(),
                       "component": component}}]}), encoding="utf-8")
        one_rule = ("AML_PIPELINE_URL", "AML_EXPERIMENT", "AML_PARAMETERS", "AML_DATA_PATH_PARAMETER", "AML_DATASTORE")
        return {**{name: value for name, value in settings.items() if name not in one_rule},
                "TRIGGER_RULES_FILE": str(rules)}

    def upload(self, name: str, data: bytes = CSV) -> Version:
        return Version(name, normalize_etag(self.blobs.get_blob_client(name).upload_blob(data, overwrite=True)["etag"]))

    def invoke(self, name: str) -> bool:
        """One invocation of the blob function for an event; True when it failed (the host then retries it)."""
        try:
            deliver_blob(self.container, name)
        except Exception:
            return True
        return False

    def deliver(self, name: str, attempts: int | None = None) -> None:
        """One event as the host handles it: invoke, and invoke again after a failure, up to its attempts."""
        for attempt in range(self.settings.host_attempts if attempts is None else attempts):
            if attempt:
                self.tally["host retries"] += 1
                self.sleep(self.settings.host_retry_delay)
            if not self.invoke(name):
                return
        self.tally["poisoned"] += 1

    def deliver_together(self, name: str, count: int) -> None:
        """``count`` deliveries of one event on as many threads, released at the same instant."""
        barrier = threading.Barrier(count)

        def one(_: int) -> None:
            barrier.wait()
            self.deliver(name)

        with ThreadPoolExecutor(count) as pool:
            list(pool.map(one, range(count)))

    def invoke_in_processes(self, name: str, count: int, *options: str) -> int:
        """``count`` worker processes invoke the function for one event at the same instant; a worker still busy at
        the function timeout is killed, as the host does. How many invocations failed (error, crash or kill)."""
        start_at = self.wall_clock() + self.settings.worker_start
        self.workers = [subprocess.Popen(
            [sys.executable, "-m", "tests.support.deliver_worker", self.container, name, str(start_at), *options],
            cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(count)]
        failed = 0
        for worker in self.workers:
            try:
                stdout, _ = worker.communicate(
                    timeout=max(0.0, start_at + self.settings.function_timeout - self.wall_clock()))
            except subprocess.TimeoutExpired:
                self.tally["killed at the function timeout"] += 1
                worker.kill()
                stdout, _ = worker.communicate()
            reports = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
            if worker.returncode != 0 or not reports or reports[-1]["error"]:
                failed += 1
        return failed

    def retry_failed(self, name: str, failed: int) -> None:
        """The host's further attempts at each failed invocation of one event."""
        for _ in range(failed):
            self.tally["host retries"] += 1
            self.sleep(self.settings.host_retry_delay)
            self.deliver(name, self.settings.host_attempts - 1)

    def deliver_in_processes(self, name: str, count: int, *options: str) -> None:
        self.retry_failed(name, self.invoke_in_processes(name, count, *options))

    def kill_workers(self) -> None:
        for worker in self.workers:
            worker.kill()  # SIGKILL: nothing more runs in the worker, the answer on its way is never read
        self.tally["killed at acceptance"] += len(self.workers)

    def settle(self, names: list[str], rounds: int = 3) -> None:
        """Until nothing is left to do: Event Grid redelivers each event whose claim is still open once the claim
        has expired; then the catch-up sweep runs once."""
        for _ in range(rounds):
            if not self.open_claims():
                break
            self.sleep(self.settings.claim_expiry + 1.5)  # the storage server judges expiry in whole seconds
            for name in names:
                self.tally["redelivered after claim expiry"] += 1
                self.deliver(name)
        report = sweep(process_services(), max_blobs=100)
        if report.outcomes.get("submitted"):
            self.tally["submitted by the sweep"] += report.outcomes["submitted"]
        for _ in range(100):  # slow answers still on their way: their runs count too
            if not self.aml.in_flight:
                break
            self.sleep(0.1)

    def open_claims(self) -> int:
        prefix = rule_namespace(RULE) + "/"
        return sum(1 for record in self.records.list_blobs(name_starts_with=prefix, include=["metadata"])
                   if (record.metadata or {}).get("state") == RunState.CLAIMED.value)

    def row(self, fault: str, expected: list[Version]) -> Row:
        """Count at the stand-in: every accepted run names its blob version in ``tags.trigger_key``. A record
        that does not end ``submitted`` with one of those runs is noted (the counts are the target)."""
        runs = Counter(run.labels.get("trigger_key") for run in self.aml.accepted)
        run_ids = {run.run_id for run in self.aml.accepted}
        keys = [blob_version_key(self.container, version.name, version.etag) for version in expected]
        posts = sum(1 for request in self.aml.received if request.method == "PUT" or "/PipelineRuns/" in request.path)
        notes = [f"{what} {count}" for what, count in self.tally.items() if count]
        for version in expected:
            record = self.record(version) or {}
            if record.get("state") != RunState.SUBMITTED.value or record.get("run_id") not in run_ids:
                notes.append(f"record of {version.name} {record.get('state', 'missing')}, "
                             f"run {record.get('run_id') or 'none'}")
        return Row(fault, posts, sum(runs.values()), sum(1 for key in keys if not runs[key]),
                   sum(count - 1 for count in runs.values()), ", ".join(notes))

    def record(self, version: Version) -> dict | None:
        blob = self.records.get_blob_client(record_name(rule_namespace(RULE), blob_version_key(
            self.container, version.name, version.etag)))
        return json.loads(blob.download_blob().readall()) if blob.exists() else None


# Each scenario uploads, delivers its events under one fault, and returns the blob versions that must have a run.
Scenario = Callable[[Lab], list[Version]]


def _one_blob(fault: Callable[[Lab], None] | None = None, deliver: Callable[[Lab, str], None] | None = None
              ) -> Scenario:
    """One new blob; ``fault`` is armed before its event is delivered (by ``deliver``, else once by the host)."""
    def scenario(lab: Lab) -> list[Version]:
        version = lab.upload("incoming/machines.csv")
        if fault:
            fault(lab)
        (deliver or (lambda lab, name: lab.deliver(name)))(lab, version.name)
        return [version]
    return scenario


def _three_times(lab: Lab, name: str) -> None:
    for _ in range(3):
        lab.deliver(name)


def _ledger_down_at_claim(lab: Lab, name: str) -> None:
    lab.ledger_switch.down()
    timer = threading.Timer(lab.settings.ledger_outage, lab.ledger_switch.up)
    timer.start()
    try:
        lab.deliver(name)
    finally:
        timer.join()


def _at_acceptance(action: Callable[[Lab], None], then: Callable[[Lab], None] = lambda lab: None
                   ) -> Callable[[Lab, str], None]:
    """One invocation in a worker process; ``action`` the moment Azure ML has created its run (before the answer
    is sent); ``then`` once that invocation is over; then the host's retries."""
    def deliver(lab: Lab, name: str) -> None:
        lab.aml.on_accept = lambda: action(lab)
        failed = lab.invoke_in_processes(name, 1)
        lab.aml.on_accept = None
        then(lab)
        lab.retry_failed(name, failed)
    return deliver


def _identity_down(lab: Lab, name: str) -> None:
    """The identity endpoint refuses connections for the event's first invocation, then is back."""
    lab.identity_switch.down()
    failed = lab.invoke(name)
    lab.identity_switch.up()
    lab.retry_failed(name, int(failed))


def _every_answer_slow(lab: Lab) -> None:
    """Every answer of the first invocation's deadline comes later than an attempt may wait (the run exists)."""
    attempts = int(lab.settings.deadline // lab.settings.attempt_timeout)
    lab.aml.inject(*[Delay(lab.settings.slow_answer)] * attempts)


def _blob_overwritten(lab: Lab) -> list[Version]:
    """v1's event is handled; then two overwrites in quick succession, v2's event arriving after v3 replaced it,
    and v1's event redelivered. v2 was never readable by the time anyone looked: no run is owed to it."""
    first = lab.upload("incoming/machines.csv")
    lab.deliver(first.name)
    lab.upload(first.name, CSV + b"1,2,3,4,5,6,7\n")
    last = lab.upload(first.name, CSV + b"8,9,10,11,12,13,14\n")
    for _ in range(3):  # v2's late event, v3's event, v1's redelivery: all carry only the blob's name
        lab.deliver(first.name)
    return [first, last]


def _blob_deleted(lab: Lab) -> list[Version]:
    """One blob is handled and then deleted, another deleted before its event arrives; both events redelivered."""
    kept, gone = lab.upload("incoming/handled.csv"), lab.upload("incoming/gone.csv")
    lab.deliver(kept.name)
    for version in (kept, gone):
        lab.blobs.delete_blob(version.name)
        lab.deliver(version.name)
    return [kept]


def _new_version_at_acceptance(lab: Lab) -> None:
    """A newer version of the component is registered the moment the first job is created: a retry resolving
    @latest again gets it, and must adopt the job of the first resolution."""
    lab.aml.component_versions.append("4")
    lab.kill_workers()


SCENARIOS: dict[str, Scenario] = {
    "duplicates": _one_blob(deliver=_three_times),
    "8 threads": _one_blob(deliver=lambda lab, name: lab.deliver_together(name, 8)),
    "4 processes": _one_blob(deliver=lambda lab, name: lab.deliver_in_processes(name, 4)),
    "kill before POST": _one_blob(deliver=lambda lab, name: lab.deliver_in_processes(name, 1, "--crash-after-claim")),
    "kill after acceptance": _one_blob(deliver=_at_acceptance(Lab.kill_workers)),
    "429 with Retry-After": _one_blob(
        lambda lab: lab.aml.inject(*[Respond(429, {"Retry-After": "1"}, "TooManyRequests")] * 2)),
    "5xx": _one_blob(lambda lab: lab.aml.inject(Respond(503), Respond(500), Respond(502))),
    "drop before the answer": _one_blob(lambda lab: lab.aml.inject(Drop(), Drop())),
    "accept then drop": _one_blob(lambda lab: lab.aml.inject(AcceptThenDrop())),
    "every answer slow": _one_blob(_every_answer_slow),
    "identity endpoint 500": _one_blob(lambda lab: lab.identity.fail_next(3, 500)),
    "identity endpoint down": _one_blob(deliver=_identity_down),
    "ledger down at claim": _one_blob(deliver=_ledger_down_at_claim),
    # The ledger is down from acceptance until the host has given up on that invocation.
    "ledger down at settle": _one_blob(deliver=_at_acceptance(lambda lab: lab.ledger_switch.down(),
                                                              lambda lab: lab.ledger_switch.up())),
    "blob overwritten": _blob_overwritten,
    "blob deleted": _blob_deleted,
    "job: duplicates": _one_blob(deliver=_three_times),
    "job: 4 processes": _one_blob(deliver=lambda lab, name: lab.deliver_in_processes(name, 4)),
    "job: accept then drop": _one_blob(lambda lab: lab.aml.inject(AcceptThenDrop())),
    "job: kill after acceptance": _one_blob(deliver=_at_acceptance(Lab.kill_workers)),
    "job @latest: new version": _one_blob(deliver=_at_acceptance(_new_version_at_acceptance)),
}
JOB_COMPONENTS = {"job: duplicates": COMPONENT_PINNED, "job: 4 processes": COMPONENT_PINNED,
                  "job: accept then drop": COMPONENT_PINNED, "job: kill after acceptance": COMPONENT_PINNED,
                  "job @latest: new version": f"azureml:{COMPONENT[0]}@latest"}
"""The rows whose rule creates pipeline jobs (PUTs by job name), and the component it names."""


def run_row(fault: str, data: Azurite, ledger: Azurite, settings: Settings) -> Row:
    """One fault from a clean slate: its scenario, the platform's redeliveries and the sweep, then the count."""
    container = f"faults-{uuid.uuid4().hex[:12]}"
    with Lab(data, ledger, settings, container, JOB_COMPONENTS.get(fault)) as lab:
        expected = SCENARIOS[fault](lab)
        lab.settle(sorted({version.name for version in expected}))
        return lab.row(fault, expected)


@contextmanager
def _environment(settings: dict[str, str]) -> Iterator[None]:
    """The app's settings for one row, and the process's environment as it was afterwards."""
    saved = dict(os.environ)
    for name in _CLEARED_SETTINGS:
        os.environ.pop(name, None)
    os.environ.update(settings)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def _silenced(*names: str) -> Iterator[None]:
    """These loggers print nothing while the matrix runs, and are as they were afterwards."""
    handler, loggers = logging.NullHandler(), [logging.getLogger(name) for name in names]
    propagate = [logger.propagate for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False
    try:
        yield
    finally:
        for logger, before in zip(loggers, propagate, strict=True):
            logger.removeHandler(handler)
            logger.propagate = before


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None, url
    return port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(SCENARIOS), help=f"comma-separated: {', '.join(SCENARIOS)}")
    args = parser.parse_args(argv)
    faults = [fault.strip() for fault in args.only.split(",")]
    unknown = set(faults) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown faults: {', '.join(sorted(unknown))} (known: {', '.join(SCENARIOS)})")
    settings = Settings()
    print(settings.describe(), flush=True)
    rows = []
    # Decisions are counted at the stand-in, not printed; the SDKs' warnings are about the faults injected.
    with _silenced("aml_trigger", "azure"), Azurite() as data, Azurite() as ledger:
        print(HEADER, flush=True)
        for fault in faults:
            started = time.perf_counter()
            rows.append(run_row(fault, data, ledger, settings))
            print(rows[-1], flush=True)
            print(f"   ({fault}: {time.perf_counter() - started:.1f} s)", file=sys.stderr, flush=True)
    missed = [row.fault for row in rows if not row.ok]
    print(f"\n{len(rows) - len(missed)} of {len(rows)} rows met the target (0 lost, 0 duplicate runs)"
          + (f"\nmissed: {', '.join(missed)}" if missed else ""))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
