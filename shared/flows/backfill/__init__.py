"""Backfill: a rule run over blob versions already in storage, exactly once per version."""
