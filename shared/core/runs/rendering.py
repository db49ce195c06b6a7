"""A run spec's templates filled in for one run: its parameters and its input path, checked like any other value.

Rendering touches neither the ledger key nor the subject (they are built from the trigger alone), so a run is
started exactly once whatever its templates render to.
"""

from __future__ import annotations

from shared.core.blobs.blob_names import blob_name_problem
from shared.core.common.records import NO_ENTRIES
from shared.core.common.redaction import mask_text
from shared.core.config.config_model import RunSpec
from shared.core.templates.templates import Template, TemplateContext, TemplateError, render

MAX_RENDERED_CHARS = 4096
"""The longest value a template may render to: a blob name (1,024) and its metadata (8 KiB in all) are what feed
it; more is a mistake, refused before it reaches Azure ML."""
LITERAL = TemplateContext()
"""Enough to render a template with no placeholder left (a rendered path)."""


def rendered_run(run: RunSpec, context: TemplateContext) -> RunSpec:
    """``run`` with its parameters and input path rendered from ``context``, templates gone; TemplateError naming
    the field when a value is missing or unusable. The one step every target kind's body is built after."""
    parameters = {**run.parameters, **{name: _rendered(f"parameters.{name}", template, context)
                                       for name, template in run.parameter_templates.items()}}
    data_path = run.data_path
    if data_path is not None and data_path.path is not None:
        path = _rendered("data_path.relative_path", data_path.path, context)
        problem = blob_name_problem(path.removesuffix("/"))
        if problem:
            raise TemplateError(f"data_path.relative_path: {data_path.path.source!r} rendered to {path!r}, which "
                                f"{problem}")
        data_path = data_path._replace(path=Template((path,), path))
    return run._replace(parameters=parameters, parameter_templates=NO_ENTRIES, data_path=data_path)


def render_problem(run: RunSpec, context: TemplateContext) -> str | None:
    """Why ``run``'s templates cannot be rendered for this run (masked: it may quote a value), or None."""
    try:
        rendered_run(run, context)
    except TemplateError as error:
        return mask_text(f"template {error}")
    return None


def rendered_path(run: RunSpec) -> str | None:
    """The input path of a rendered run (``rendered_run``), or None when its input is the trigger's blob."""
    return None if run.data_path is None or run.data_path.path is None else render(run.data_path.path, LITERAL)


def _rendered(field: str, template: Template, context: TemplateContext) -> str:
    try:
        text = render(template, context)
    except TemplateError as error:
        raise TemplateError(f"{field}: {error}") from None
    if len(text) > MAX_RENDERED_CHARS:
        raise TemplateError(f"{field}: {template.source!r} rendered to {len(text):,} characters; at most "
                            f"{MAX_RENDERED_CHARS:,}")
    return text
