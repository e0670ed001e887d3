"""What both sides of the peer-facing gRPC transport share: signed envelopes, error statuses."""

__all__: list[str] = []
