"""The owner's datasets: records read from files, their store, and the build of match indexes."""

__all__: list[str] = []
