"""Caller verification and risk checks: factors, PIN hashing, one-time codes, lockout,
risk rules for sensitive changes, masking and the audit of every attempt.

The flow engine sees only the ``Verifier`` protocol (the face, ``ivr.security.api``); ``ivr.app`` wires
``VerificationService`` behind it.
"""
