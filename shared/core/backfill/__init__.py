"""Backfill: a rule run over blob versions already in storage, against the ledger."""
