"""Blob Storage clients for a checked connection."""
