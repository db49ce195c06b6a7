"""Which rules a blob name falls under: prefix (a folder), subfolder policy, suffix."""

from __future__ import annotations

from typing import Iterable

from shared.config import Rule


def mismatch(rule: Rule, blob_name: str) -> str | None:
    """Why ``rule`` does not watch ``blob_name``, or None when it does."""
    if not blob_name.startswith(rule.prefix):
        return f"not under {rule.prefix!r}"
    rest = blob_name[len(rule.prefix):]
    if not rule.include_subfolders and "/" in rest:
        return f"in a subfolder of {rule.prefix!r} (subfolders are not watched)"
    if not rest.lower().endswith(rule.suffix.lower()):
        return f"does not end with {rule.suffix!r}"
    return None


def split_rules(rules: Iterable[Rule], blob_name: str) -> tuple[list[Rule], dict[str, str]]:
    """The rules that watch ``blob_name``, and for the others the reason they do not."""
    matched, reasons = [], {}
    for rule in rules:
        reason = mismatch(rule, blob_name)
        if reason is None:
            matched.append(rule)
        else:
            reasons[rule.name] = reason
    return matched, reasons
