"""Freshness expectations: deciding each deadline once, and noticing late data."""
