"""Thin Function adapters: each turns the host's input into a plain call into ``shared``."""
