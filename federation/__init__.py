"""The coordinating node: certificate authority, directory, fan-out and witness."""

__all__: list[str] = []
