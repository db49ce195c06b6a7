"""Backfill as an operation: its HTTP twin's request and answer, and the time window both entry points read."""
