"""Hotline: the IVR application server behind a payment platform's customer hotline."""

__version__ = "0.1.0"
