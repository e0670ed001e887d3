"""The node's storage layer: one way to connect, one schema with migrations, one time format."""

__all__: list[str] = []
