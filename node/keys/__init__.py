"""The node's keys on disk: its Ed25519 identity, its TLS key and certificates, sealed OPRF keys."""

__all__: list[str] = []
