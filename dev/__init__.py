"""Development helpers: local networks on loopback, synthetic people, in-memory datasets, the demo.

Nothing in production (`node/`, `federation/`, `protocol/`, `crypto/`) imports this package; the
tests, the benchmarks and `blindhit demo` do.
"""

__all__: list[str] = []
