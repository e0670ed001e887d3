"""What every gRPC side shares: signed envelopes, error statuses and options, wire values."""

__all__: list[str] = []
