"""Blob names, the first bytes of a CSV, batches of files, the stamps a handled blob version gets."""
