"""The Azure ML client: submit a run, read its status, understand its answers."""
