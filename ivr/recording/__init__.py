"""Encrypted call recordings: format, keys, capture, store and replay."""
