"""Errors, bounded JSON reading and masking: what every other domain builds on."""
