"""The member node: storage, policy, audit log, gRPC services and the command line."""

__all__: list[str] = []
