"""Which blob names a filter takes (prefix = a folder, subfolder policy, suffix), and which rules watch a blob."""

from __future__ import annotations

from collections.abc import Iterable

from shared.core.config.config_model import BlobFilter, Rule


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


def rule_mismatch(rule: Rule, blob_name: str) -> str | None:
    """Why ``rule`` does not take ``blob_name``, or None: a marker rule takes its marker alone, in any folder its
    filter watches (the suffix is for data files, which alone start nothing)."""
    if rule.marker is None:
        return mismatch(rule.watch, blob_name)
    folder, _, file = blob_name.rpartition("/")
    where = mismatch(rule.watch._replace(suffix=""), blob_name)
    if where is not None:
        return where
    if file != rule.marker.file:
        return (f"waits for its marker {rule.marker.file!r} in {folder + '/' if folder else 'the container'!r}: "
                "data files alone start nothing")
    return None


def split_rules(rules: Iterable[Rule], blob_name: str) -> tuple[list[Rule], dict[str, str]]:
    """The rules that watch ``blob_name``, and for the others the reason they do not."""
    matched, reasons = [], {}
    for rule in rules:
        reason = rule_mismatch(rule, blob_name)
        if reason is None:
            matched.append(rule)
        else:
            reasons[rule.name] = reason
    return matched, reasons
