"""Ask Azure ML whether it already started a run for a key, so an unknown outcome is resolved without a second POST.

Every run the app starts carries its key: v1 pipeline runs as the tag ``trigger_key`` (run history), v2 batch jobs
in their property bag. v1 asks run history (``runs:query``, the request azureml-core's
``Experiment.get_runs(tags=...)`` sends); v2 asks ARM's ``Jobs - List`` with ``properties=trigger_key=<key>``.
Every URL is derived from the validated target (its host and workspace), never taken from an answer.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from shared.core.aml.targets import ARM_SCOPE, Target, TargetKind, is_loopback

LOOKUP_PAGE_SIZE = 50
MAX_PAGES = 20
"""A key names one run; more pages than this means the answers are not what run history sends."""
JOBS_API_VERSION = "2024-04-01"
ARM_FOR_SCORING_HOST = {
    ".inference.ml.azure.com": ("https://management.azure.com", ARM_SCOPE),
    ".inference.ml.azure.cn": ("https://management.chinacloudapi.cn", "https://management.chinacloudapi.cn/.default"),
    ".inference.ml.azure.us": ("https://management.usgovcloudapi.net",
                               "https://management.usgovcloudapi.net/.default"),
}
"""A batch endpoint's cloud -> that cloud's ARM endpoint and token scope (the Jobs API is an ARM API)."""
_KEY = re.compile(r"[A-Za-z0-9_-]{1,128}")
_TAG_FILTER = '(Tags/trigger_key eq "{key}")'
"""azureml-core's TAG_EQ_FORMAT_STR with its value quoting (``_odata/helpers.py``: no escaping, so keys are
restricted to characters that need none)."""


class PageRequest(NamedTuple):
    method: str
    url: str
    body: dict[str, Any] | None


class RunLookup(NamedTuple):
    """How to list the runs that carry one key: where, with which token scope, and how to read an answer."""

    url: str
    scope: str
    key: str
    v1: bool

    def page(self, continuation: str | None) -> PageRequest:
        """The request for one page; ``continuation`` is the previous page's token (never a URL)."""
        if self.v1:
            body: dict[str, Any] = {"filter": _TAG_FILTER.format(key=self.key), "top": LOOKUP_PAGE_SIZE}
            if continuation:
                body["continuationToken"] = continuation
            return PageRequest("POST", self.url, body)
        query = {"api-version": JOBS_API_VERSION, "properties": f"trigger_key={self.key}"}
        if continuation:
            query["$skip"] = continuation
        return PageRequest("GET", f"{self.url}?{urlencode(query, quote_via=quote)}", None)

    def read(self, document: Any) -> tuple[list[str], str | None]:
        """The ids of runs carrying the key on one page, and the next page's token; ValueError if malformed."""
        if not isinstance(document, dict) or not isinstance(document.get("value"), list):
            raise ValueError('expected {"value": [...]}')
        if self.v1:
            runs = [(item.get("runId"), (item.get("tags") or {}).get("trigger_key"))
                    for item in document["value"] if isinstance(item, dict)]
            token = document.get("continuationToken")
        else:
            runs = [(item.get("name"), ((item.get("properties") or {}).get("properties") or {}).get("trigger_key"))
                    for item in document["value"] if isinstance(item, dict)]
            next_link = document.get("nextLink")
            token = next(iter(parse_qs(urlsplit(next_link).query).get("$skip", [])), None) if next_link else None
        # Only runs that carry our key count, whatever the service's filter matched.
        found = [run_id for run_id, key in runs if isinstance(run_id, str) and run_id and key == self.key]
        return found, token if isinstance(token, str) and token else None


def run_lookup(target: Target, experiment: str, key: str) -> RunLookup | None:
    """Where runs of ``key`` are listed for ``target``; None for a batch endpoint without ``workspace`` (its ARM
    id is what the Jobs API needs) or a key the service's filter grammar cannot quote."""
    if target.workspace is None or not _KEY.fullmatch(key):
        return None
    parts = urlsplit(target.url)
    if target.kind.is_v1:
        return RunLookup(url=f"{parts.scheme}://{parts.netloc}/history/v1.0{target.workspace.arm_path}/experiments/"
                             f"{quote(experiment, safe='')}/runs:query", scope=target.scope, key=key, v1=True)
    arm, scope = arm_root(target)
    return RunLookup(url=f"{arm}{target.workspace.arm_path}/jobs", scope=scope, key=key, v1=False)


def arm_root(target: Target) -> tuple[str, str]:
    """The ARM endpoint and token scope of a batch endpoint's cloud (the Jobs API is an ARM API), from its
    validated scoring host; on a loopback host, the local stand-in (which serves ARM too). A pipeline job's target
    is ARM itself."""
    if target.kind is TargetKind.PIPELINE_JOB:
        return target.url, target.scope
    parts = urlsplit(target.url)
    if is_loopback(parts.hostname or ""):
        return f"{parts.scheme}://{parts.netloc}", ARM_SCOPE
    host = (parts.hostname or "").lower()
    return next(value for suffix, value in ARM_FOR_SCORING_HOST.items() if host.endswith(suffix))
