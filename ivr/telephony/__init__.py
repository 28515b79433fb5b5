"""Transports: each turns a call into one :class:`ivr.telephony.call.Call`."""
