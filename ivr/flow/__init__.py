"""Dialplans: schema, loading with file:line errors, and the engine that runs them."""
