"""Quiet windows: files collected until a folder goes quiet, then one run."""
