"""The `blindhit` command line: one module per verb, the federation's verbs included.

Every module exposes `register(subparsers)`; `cli.main` dispatches and turns library errors into
one-line messages and exit codes. Nothing outside this package imports it.
"""

__all__: list[str] = []
