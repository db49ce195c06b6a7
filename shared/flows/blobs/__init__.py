"""A blob version to the runs of the rules that watch it."""
