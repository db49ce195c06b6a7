"""Templates: run parameters and input paths shaped by the event (a pure grammar, parsed at load)."""
