"""Benchmarks, run by `make bench`; each reports ratios to raw rates measured in the same run."""
