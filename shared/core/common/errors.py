"""One root for every error the app raises on purpose, subclassed by what went wrong, not by where.

Modelled on azure-core's ``AzureError`` tree. Each error says whether trying the same thing again may help
(``retryable``); what a caller shows for it is decided where it is shown: HTTP statuses in
``shared.operations.http.http_api``, exit codes in ``cli``. Nothing here knows either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

_T = TypeVar("_T")


class TriggerError(Exception):
    """Something the app refused or could not do. ``retryable``: whether the same request or event, tried
    again later, may succeed (a class default; one error may say otherwise)."""

    retryable: bool = False

    def __init__(self, *args: object, retryable: bool | None = None):
        super().__init__(*args)
        if retryable is not None:
            self.retryable = retryable


def each_then_retry(calls: Iterable[Callable[[], _T]]) -> list[_T]:
    """Every call's result, each one having had its turn; then the first retryable error, if any, is raised so the
    host tries again later (a not-retryable one is raised at once)."""
    results, retry_later = [], []
    for call in calls:
        try:
            results.append(call())
        except TriggerError as error:
            if not error.retryable:
                raise
            retry_later.append(error)
    if retry_later:
        raise retry_later[0]
    return results


class InvalidValue(TriggerError):
    """A setting, rule, schedule, target or name that does not parse or breaks a bound: fix the value."""


class UnreadableJson(InvalidValue):
    """JSON from outside the app that is refused before use (too large, too deep, a number too long or not finite,
    a key twice, not JSON): ``source`` says where it came from, ``path`` which field (empty: the whole text)."""

    def __init__(self, source: str, path: str, reason: str):
        self.source, self.path, self.reason = source, path, reason
        super().__init__(f"{source}: {path} {reason}" if path else f"{source} {reason}")


class NotJson(UnreadableJson):
    """The text is not UTF-8 JSON at all (where plain text is also allowed, it may be taken as text)."""


class OperationError(TriggerError):
    """An operator's request that cannot be served as asked; the subclass says why. Nothing was changed."""


class InvalidInput(OperationError):
    """The request is malformed: a field, a query parameter, a name or a body that is not what it must be."""


class TooLarge(InvalidInput):
    """The request body is larger than the API reads."""


class UnsupportedMediaType(InvalidInput):
    """The request body is not declared as JSON (UTF-8)."""


class NotFound(OperationError):
    """What the request names (a rule, a record, a blob) does not exist."""


class Conflict(OperationError):
    """What the request names is not in a state that allows it (settled, changed or gone meanwhile)."""


class Unprocessable(OperationError):
    """The request is well formed but its data cannot be used (a blob that is empty or unreadable)."""


class Refused(TriggerError):
    """A service refused the request itself: the same request can never succeed."""


class Unavailable(TriggerError):
    """Failing for now (a service, a claim held by another owner): the same work may succeed later."""

    retryable = True


class Pending(Unavailable):
    """Work accepted but still failing for now at its deadline; its record stays open and is finished later."""
