"""The wire contract of blindhit (package blindhit.v1) and its generated code."""

__all__: list[str] = []
