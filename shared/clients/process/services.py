"""The long-lived objects one process shares: configuration, credential, ledger, Azure ML client."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from azure.storage.blob import ContainerClient

from shared.clients.aml.aml_client import PipelineSubmitter
from shared.clients.aml.history_hosts import HistoryHosts
from shared.clients.common.auth import TokenProvider, build_credential
from shared.clients.common.clock import SYSTEM_CLOCK, Clock
from shared.clients.ledger.ledger import Ledger
from shared.clients.storage.storage import blob_service_client
from shared.core.config import settings
from shared.core.config.config_loader import load_config, read_at_indexing
from shared.core.config.config_model import AppConfig, RetrySettings, Rule, Schedule
from shared.core.config.rules_file import load_rules_file

APP_ROOT = Path(__file__).resolve().parents[3]
"""Where function_app.py lives; a relative TRIGGER_RULES_FILE is read from here."""

_QUIET_LOGGERS = ("azure.core.pipeline.policies.http_logging_policy", "azure.identity", "urllib3")


@dataclass
class Services:
    config: AppConfig
    ledger: Ledger
    submitter: PipelineSubmitter
    tokens: TokenProvider
    watched: ContainerClient
    """The watched container, for data a schedule picks at fire time."""
    dead_letters: ContainerClient
    """The container Event Grid dead-letters undeliverable events into, on the watched account."""
    clock: Clock = SYSTEM_CLOCK
    """The one clock the flows read and wait on; the ledger and the Azure ML client were built with it."""
    history_hosts: HistoryHosts = field(default_factory=HistoryHosts)
    """Each workspace's run-history host, found by discovery once per process (every path shares it)."""

    def within(self, retry: RetrySettings) -> Services:
        """These services under another path's time settings (deadline, attempt timeout, settle grace): every
        step below reads them from here, so none outlasts what that path allows."""
        return replace(self, config=self.config._replace(retry=retry), submitter=self.submitter.within(retry))


def build_services(env: Mapping[str, str], app_root: Path = APP_ROOT, clock: Clock = SYSTEM_CLOCK) -> Services:
    """Validate the configuration and wire the clients on ``clock``; nothing here talks to the network yet."""
    config = load_config(env, app_root, now=clock.now())
    credential = build_credential(env, config.managed_identity_client_id)
    ledger_container = blob_service_client(config.ledger_storage, credential).get_container_client(
        config.ledger_container
    )
    tokens = TokenProvider(credential)
    watched = blob_service_client(config.watch_storage, credential)
    return Services(
        config=config,
        ledger=Ledger(ledger_container, config.claim_expiry, clock=clock),
        submitter=PipelineSubmitter(tokens, config.retry, clock=clock),
        tokens=tokens,
        watched=watched.get_container_client(config.watch_container),
        dead_letters=watched.get_container_client(config.dead_letter_container),
        clock=clock,
        history_hosts=HistoryHosts(clock),
    )


@functools.lru_cache(maxsize=1)
def process_services() -> Services:
    """This process's Services, built on first use (not at import: cold start stays cheap)."""
    for name in _QUIET_LOGGERS:
        # Per-request SDK logging would drown the decision lines (and costs ingestion); warnings still show.
        logging.getLogger(name).setLevel(logging.WARNING)
    return build_services(os.environ)


@functools.cache
def rules_file_at_indexing() -> tuple[tuple[Rule, ...], tuple[Schedule, ...]] | None:
    """TRIGGER_RULES_FILE's rules and schedules, read and parsed once for every timer indexing registers from them
    (the schedules', the quiet windows', freshness's); ((), ()) without a rules file (the one-rule settings have
    neither), None when the file has a problem (logged once)."""
    if not settings.TRIGGER_RULES_FILE.read(os.environ):
        return (), ()
    return read_at_indexing(lambda: load_rules_file(os.environ, APP_ROOT, now=SYSTEM_CLOCK.now()), None)


def rules_at_indexing() -> tuple[Rule, ...]:
    """The rules file's rules as parsed once at indexing, for the timers registered from them; none without a rules
    file or when it has a problem (logged, and /api/health reports it)."""
    loaded = rules_file_at_indexing()
    return () if loaded is None else loaded[0]
