"""Distress scoring of caller turns (prosody and words) and escalation of distressed callers."""
