"""Reads of the data a run gets, and stamps written onto blob versions."""
