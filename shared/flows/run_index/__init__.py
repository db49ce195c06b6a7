"""Keeping the run index caught up with the ledger."""
