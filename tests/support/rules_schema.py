"""The rules file's JSON schema and the loader, side by side: what each says of one document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from shared.core.config.config_loader import load_config
from shared.core.config.config_model import AppConfig
from tests.support.harness import PROJECT_ROOT
from tests.support.settings import LOADED_AT

SCHEMA = json.loads((PROJECT_ROOT / "schemas" / "rules.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
WORKSPACE = ("https://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/s/resourceGroups/r/providers/"
             "Microsoft.MachineLearningServices/workspaces/w/PipelineRuns")


# Values for the %SETTING% references the docs' examples make.
REFERENCED = {"MACHINES_PIPELINE_URL": f"{WORKSPACE}/PipelineEndpointSubmit/Id/pe-1",
              "PIPELINE_URL": f"{WORKSPACE}/PipelineSubmit/pipe-1", "DATASTORE": "workspaceblobstore",
              "NIGHTLY_CRON": "0 0 2 * * *"}


def schema_errors(document: Any) -> list[str]:
    return [error.message for error in VALIDATOR.iter_errors(document)]


def load(document: Any, tmp_path: Path) -> AppConfig:
    (tmp_path / "rules.json").write_text(json.dumps(document), encoding="utf-8")
    connection = "AccountName=trainingdata;AccountKey=a2V5"
    return load_config({"WATCH_CONTAINER": "training-data", "WATCH_STORAGE": connection,
                        "AzureWebJobsStorage": connection, "TRIGGER_RULES_FILE": "rules.json", **REFERENCED}, tmp_path,
                       now=LOADED_AT)
