"""Errors, bounded JSON reading, masking and what value records share: what every other domain builds on."""
