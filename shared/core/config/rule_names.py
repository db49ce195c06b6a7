"""A rule's name: what the loader accepts and why, the Event Grid subscription the deploy hook names after it, and
how an importer makes a name the loader accepts out of one it does not.

The postdeploy hooks (scripts/postdeploy.sh, .ps1) name each rule's Event Grid subscription
``aml-trigger-<name>`` with ``_`` written as ``-``. Event Grid takes 3-64 letters, digits and ``-`` for an event
subscription's name, and compares names case-insensitively (Microsoft, "Naming rules and restrictions for Azure
resources", Microsoft.EventGrid / eventSubscriptions). So a rule name is refused at load when its subscription
could not be created, rather than at the hook's PUT, after the code is deployed.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from shared.core.config.problems import Problems

EVENT_SUBSCRIPTION_PREFIX = "aml-trigger-"
"""What the deploy hooks put before a rule's name (scripts/postdeploy.sh, .ps1)."""
EVENT_SUBSCRIPTION_NAME_LENGTH = 64
"""Event Grid's longest event subscription name."""
RULE_NAME_LENGTH = EVENT_SUBSCRIPTION_NAME_LENGTH - len(EVENT_SUBSCRIPTION_PREFIX)
RULE_NAME = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_-]{{0,{RULE_NAME_LENGTH - 1}}}")
RULE_NAME_EXPECTED = (f"1-{RULE_NAME_LENGTH} letters, digits, '-' or '_', starting with a letter or digit (the deploy "
                      f"hook names the rule's Event Grid subscription {EVENT_SUBSCRIPTION_PREFIX}<name>, '_' as '-', "
                      f"and Event Grid allows 3-{EVENT_SUBSCRIPTION_NAME_LENGTH} letters, digits and '-')")
HASH_LENGTH = 6
"""Hex digits of the original's SHA-256 that end a name an importer had to cut."""


def event_subscription_name(rule_name: str) -> str:
    """The Event Grid subscription the deploy hooks create for the rule ``rule_name``."""
    return EVENT_SUBSCRIPTION_PREFIX + rule_name.replace("_", "-")


def check_distinct_subscriptions(items: list[tuple[Any, Problems]]) -> None:
    """Two rules whose names differ only in case or in '_' versus '-' would share one subscription, the second's
    filters replacing the first's; the second is refused (equal names are the unique-name check's)."""
    first_by_subscription: dict[str, str] = {}
    for raw, problems in items:
        name = raw.get("name") if isinstance(raw, dict) else None
        if not isinstance(name, str):
            continue
        subscription = event_subscription_name(name)
        first = first_by_subscription.setdefault(subscription.lower(), name)
        if first != name:
            problems.at("name").add(name, f"a name that differs from rule {first!r} in more than case and '_' "
                                          f"versus '-' (both would be the Event Grid subscription {subscription}, "
                                          f"which Event Grid compares case-insensitively)")


def fitted_name(original: str, invalid: str, separator: str, length: int, *, letter_first: bool = False) -> str:
    """``original`` made a name: each run of characters matching ``invalid`` becomes ``separator``, ``s`` and the
    separator lead a name that would not start right, and a name longer than ``length`` is cut and ends with a
    short hash of the original, so two long originals that start alike stay apart. The same original always gives
    the same name."""
    cleaned = re.sub(invalid, separator, original).strip("_-")
    if not cleaned or not (cleaned[0].isalpha() if letter_first else cleaned[0].isalnum()):
        cleaned = f"s{separator}{cleaned}"
    if len(cleaned) <= length:
        return cleaned
    digest = hashlib.sha256(original.encode("utf-8")).hexdigest()[:HASH_LENGTH]
    return f"{cleaned[:length - HASH_LENGTH - 1].rstrip('_-')}{separator}{digest}"
