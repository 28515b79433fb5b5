"""Fakes and harnesses shipped with the package for tests and benchmarks.

For example ``agi_peer``: a fake Asterisk 22 that calls a FastAGI server over TCP and plays a
scripted caller, byte for byte as the recorded Asterisk sessions do.
"""
