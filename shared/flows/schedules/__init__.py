"""A schedule occurrence to its run."""
