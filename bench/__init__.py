"""Benchmarks (`make bench`): figures as a table on stderr and JSON on stdout."""
