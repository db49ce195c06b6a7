"""Quiet windows: collecting files and firing one run when a folder goes quiet."""
