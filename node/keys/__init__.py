"""The node's keys on disk: Ed25519 identity, TLS key and certificates, sealed OPRF keys, X25519."""

__all__: list[str] = []
