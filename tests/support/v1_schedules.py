"""The SDK v1 workspace the v1 schedule importer's fixtures belong to."""

from __future__ import annotations

WORKSPACE = ("https://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/sub-1/resourceGroups/rg-1/providers/"
             "Microsoft.MachineLearningServices/workspaces/ws-1")
