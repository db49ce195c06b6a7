"""Dead-letter replay: undeliverable events handled through the live paths, exactly once, then moved aside."""
