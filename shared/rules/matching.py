"""Which blob names a filter takes (prefix = a folder, subfolder policy, suffix), and which rules watch a blob."""

from __future__ import annotations

from collections.abc import Iterable

from shared.rules.config_model import BlobFilter, Rule


def mismatch(watch: BlobFilter, blob_name: str) -> str | None:
    """Why ``watch`` does not take ``blob_name``, or None when it does."""
    if not blob_name.startswith(watch.prefix):
        return f"not under {watch.prefix!r}"
    rest = blob_name[len(watch.prefix):]
    if not watch.include_subfolders and "/" in rest:
        return f"in a subfolder of {watch.prefix!r} (subfolders are not watched)"
    if not rest.lower().endswith(watch.suffix.lower()):
        return f"does not end with {watch.suffix!r}"
    return None


def split_rules(rules: Iterable[Rule], blob_name: str) -> tuple[list[Rule], dict[str, str]]:
    """The rules that watch ``blob_name``, and for the others the reason they do not."""
    matched, reasons = [], {}
    for rule in rules:
        reason = mismatch(rule.watch, blob_name)
        if reason is None:
            matched.append(rule)
        else:
            reasons[rule.name] = reason
    return matched, reasons
