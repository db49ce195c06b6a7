"""Azure ML targets, which URL answers what about a run, workspace discovery, retries."""
