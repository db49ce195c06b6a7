"""Freshness expectations: whether enough new files came by each deadline."""
