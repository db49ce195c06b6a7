"""The long-lived objects one process shares, assembled from configuration."""
