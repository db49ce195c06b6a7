"""A rule's freshness expectations (``freshness``): at least N new files by each NCRONTAB deadline, since the
previous one; every problem reported under the expectation's place in the rule."""

from __future__ import annotations

from typing import Any

from shared.core.config.config_model import BlobFilter, Freshness
from shared.core.config.fields import at_most_once_a_minute, unknown_keys
from shared.core.config.problems import Problems
from shared.core.schedules.ncrontab import CronError, CronSchedule, parse_ncrontab

FRESHNESS_KEY = "freshness"
EXPECTATION_KEYS = {"deadline", "min_files", "folder"}
MAX_MIN_FILES = 5_000
"""At most one page of Find Blobs by Tags (5,000 results): a check then costs one request to count."""
EXPECTED = ('a list of {"deadline": "0 0 6 * * *", "min_files": 1, "folder": "incoming/sales/"} (min_files and '
            "folder optional)")


def freshness_option(raw: Any, watch: BlobFilter, problems: Problems) -> tuple[Freshness, ...]:
    """A rule's expectations; one with a problem is reported and left out (the rule is then not used)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.add(raw, EXPECTED)
        return ()
    expectations: list[Freshness] = []
    for index, item in enumerate(raw):
        place = problems.index(index)
        expectation = _expectation(item, watch, place)
        if expectation is None:
            continue
        if any((e.folder, e.deadline.expression) == (expectation.folder, expectation.deadline.expression)
               for e in expectations):
            place.add(item, "one expectation per folder and deadline (they key its state)")
        expectations.append(expectation)
    return tuple(expectations)


def _expectation(raw: Any, watch: BlobFilter, problems: Problems) -> Freshness | None:
    if not isinstance(raw, dict):
        problems.add(raw, EXPECTED)
        return None
    unknown_keys(raw, EXPECTATION_KEYS, "freshness", problems)
    deadline = _deadline(raw.get("deadline"), problems.at("deadline"))
    min_files = raw.get("min_files", 1)
    if not isinstance(min_files, int) or isinstance(min_files, bool) or not 1 <= min_files <= MAX_MIN_FILES:
        problems.at("min_files").add(min_files, f"a whole number of files from 1 to {MAX_MIN_FILES:,}")
        min_files = 1
    folder = raw.get("folder", "")
    if not _folder_fits(folder, watch):
        problems.at("folder").add(folder, f"a folder ending with '/' that the rule watches (under '{watch.prefix}'"
                                  + (", at any depth" if watch.include_subfolders else ", not a subfolder of it")
                                  + "), or '' for the whole rule")
    return None if deadline is None else Freshness(deadline, min_files, folder if isinstance(folder, str) else "")


def _deadline(raw: Any, problems: Problems) -> CronSchedule | None:
    try:
        if not isinstance(raw, str):
            raise CronError("a six-field NCRONTAB string such as '0 0 6 * * *' (every day by 06:00 UTC)")
        return at_most_once_a_minute(parse_ncrontab(raw))
    except CronError as error:
        problems.add(raw, str(error))
    return None


def _folder_fits(folder: Any, watch: BlobFilter) -> bool:
    """Whether files of ``folder`` can match the rule: its own folder, or one below it when it takes subfolders."""
    if not isinstance(folder, str):
        return False
    if folder == "":
        return True
    return folder.endswith("/") and not folder.startswith("/") and (
        folder == watch.prefix or (watch.include_subfolders and folder.startswith(watch.prefix)))
