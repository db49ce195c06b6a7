"""Whether this app can work: configuration valid, storage reachable, a token for every target. Never a secret."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache, partial
from typing import Any

from azure.core.exceptions import AzureError, ResourceNotFoundError

from shared.clients.process.services import Services, build_services
from shared.core.config.problems import ConfigError
from shared.flows.dead_letters.replay import waiting_dead_letters
from shared.flows.freshness.freshness import freshness_report


def health(env: Mapping[str, str]) -> tuple[bool, dict[str, Any]]:
    """Configuration valid, storage reachable, a token obtainable for every target's scope. Never a secret.

    Its storage requests: the ledger's container created if missing (once per process), a listing of one page of
    the ledger (reachable, readable), the watched container's properties (reachable), one page of the
    dead-letter container (what waits for replay), and one GET per freshness expectation (its state; one that
    cannot be read is shown with its error, as the dead-letter count is)."""
    try:
        services = _services(tuple(sorted(env.items())))
    except ConfigError as error:
        return False, {"configuration": {"ok": False, "problems": [str(problem) for problem in error.problems]}}
    report: dict[str, Any] = {"configuration": {"ok": True, "rules": len(services.config.rules),
                                                "schedules": len(services.config.schedules)}}
    disabled = [rule.name for rule in services.config.rules if not rule.enabled]
    if disabled:  # switched off on purpose: reported, not unhealthy
        report["configuration"]["disabled_rules"] = disabled
    if services.config.ignored_settings:
        report["configuration"]["ignored_settings"] = list(services.config.ignored_settings)
    if services.config.warnings:  # likely not what was meant, yet working: reported, not unhealthy
        report["configuration"]["warnings"] = list(services.config.warnings)
    report["ledger"] = _check(lambda: next(iter(services.ledger.listing("state/")), None))
    report["watched_container"] = _check(services.watched.get_container_properties)
    if report["watched_container"]["ok"]:  # on the same account: not asked again (with its retries) when it is down
        report["dead_letters"] = _dead_letters(services)
    if report["ledger"]["ok"] and any(rule.freshness for rule in services.config.rules):
        report["freshness"] = freshness_report(services)  # late data, or a state not read, is shown: not unhealthy
    runs = [rule.run for rule in services.config.rules] + [schedule.run for schedule in services.config.schedules]
    scopes = sorted({run.target.scope for run in runs})
    report["tokens"] = {scope: _check(partial(services.tokens.bearer, scope)) for scope in scopes}
    checks = [report["ledger"], report["watched_container"], *report["tokens"].values()]
    return all(check["ok"] for check in checks), report


@lru_cache(maxsize=4)
def _services(settings: tuple[tuple[str, str], ...]) -> Services:
    """The services for these settings, built once: a view's health check does not rebuild its clients, nor ask
    for the ledger's container again. A process's settings change only with a restart (Azure restarts the app when
    they change); a configuration that does not load raises and is not kept, so it is checked again next time."""
    return build_services(dict(settings))


def _dead_letters(services: Services) -> dict[str, Any]:
    """How many undeliverable events wait for ``replay-dead-letters``: shown, not unhealthy (one listing page)."""
    try:
        return {"container": services.config.dead_letter_container, "waiting": waiting_dead_letters(services)}
    except AzureError as error:
        return {"container": services.config.dead_letter_container, "error": type(error).__name__}


def _check(probe: Callable[[], object]) -> dict[str, Any]:
    try:
        probe()
    except ResourceNotFoundError as error:
        return {"ok": False, "error": f"not found: {error.reason or type(error).__name__}"}
    except AzureError as error:
        return {"ok": False, "error": f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"}
    return {"ok": True}
