"""What a handled blob version is stamped with (blob index tags, not metadata): which rule or schedule handled it,
the state, the run id and, once run outcomes land, the run's final status, merged into the user's own tags.

Index tags, because setting them changes neither the blob's ETag nor its Last-Modified (metadata changes both, so
the sweep, the polling trigger and the ledger key would see a new version and start a second run). The service's
limits: at most 10 tags a blob, keys of 1-128 and values of 0-256 characters from letters, digits, space and
``+ - . / : = _``. One tag per trigger (``aml_rule_<name>``), so a blob several rules watch spends one tag on each,
and the user's tags are never dropped: when the blob already has 10 tags and none is ours, the stamp is left out.
Keys keep to letters, digits and ``_`` (a name's ``-`` becomes ``_``): Find Blobs by Tags takes no other key
characters in its expression (Azurite's parser refuses them), so every stamp can be searched for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from shared.core.ledger.decisions import Decision, Outcome
from shared.core.ledger.keys import MAX_BLOB_TAGS

KEY_LENGTH = 128
VALUE_LENGTH = 256
STAMP_PREFIX = "aml_"
_NOT_A_TAG_CHARACTER = re.compile(r"[^A-Za-z0-9 +\-./:=_]")
_NOT_A_KEY_CHARACTER = re.compile(r"[^A-Za-z0-9_]")
_STAMPED = (Outcome.SUBMITTED, Outcome.REJECTED, Outcome.SKIPPED, Outcome.FAILED)
"""Settled outcomes (a failure for now raises and settles nothing; a duplicate was stamped the first time)."""


class Stamp(NamedTuple):
    """One trigger's word on one blob version. Written again with ``status`` when a run's final status is known,
    the same key replaced."""

    kind: str
    """``rule`` or ``schedule``: whose records the blob leads to."""
    owner: str
    state: str
    run_id: str | None = None
    status: str | None = None

    @property
    def key(self) -> str:
        return stamp_key(self.kind, self.owner)

    @property
    def value(self) -> str:
        words = [self.state, *([f"run:{self.run_id}"] if self.run_id else []),
                 *([f"status:{self.status}"] if self.status else [])]
        return tag_text(" ".join(words))[:VALUE_LENGTH]


def stamp_key(kind: str, owner: str) -> str:
    """The tag a rule's (or schedule's) stamps go under: two names that differ only in ``-`` and ``_`` share it
    (the ledger's records, keyed by the exact name, stay apart)."""
    return _NOT_A_KEY_CHARACTER.sub("_", f"{STAMP_PREFIX}{kind}_{owner}")[:KEY_LENGTH]


def stamped_query(key: str, state: str | None) -> str:
    """The Find Blobs by Tags expression for blobs stamped under ``key`` (in ``state``): a value starts with its
    state, then a space or nothing, and every tag character sorts below ``z``."""
    if state is None:
        return f"\"{key}\" >= ''"
    return f"\"{key}\" >= '{state}' AND \"{key}\" < '{state}z'"


def tag_text(text: str) -> str:
    """``text`` in the characters a tag may hold: any other one becomes ``_`` (a run id is Azure ML's to choose)."""
    return _NOT_A_TAG_CHARACTER.sub("_", text)


def stamp_of(decision: Decision) -> Stamp | None:
    """The stamp a decision about a blob version calls for, or None (no blob, or nothing settled)."""
    if decision.outcome not in _STAMPED or decision.blob is None or decision.etag is None:
        return None
    if decision.outcome is Outcome.FAILED and decision.retryable:
        return None
    kind, owner = ("rule", decision.rule) if decision.rule else ("schedule", decision.schedule)
    if owner is None:
        return None
    return Stamp(kind, owner, decision.outcome.value, run_id=decision.run_id)


def merged_tags(existing: Mapping[str, str], stamp: Stamp) -> dict[str, str] | str:
    """The blob's tags with ``stamp`` in (its own key replaced, every other tag kept), or why it cannot go in."""
    if stamp.key not in existing and len(existing) >= MAX_BLOB_TAGS:
        return (f"the blob already has {len(existing)} tags (the service allows {MAX_BLOB_TAGS}); its own tags are "
                f"kept and the stamp {stamp.key} is left out")
    return {**existing, stamp.key: stamp.value}
