"""A RunRequest and the payload it sends to Azure ML."""
