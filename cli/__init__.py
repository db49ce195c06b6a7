"""The command line over the app's own operations: python -m cli --help."""
