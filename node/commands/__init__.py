"""Verbs of the `blindhit` command line, one module each."""
