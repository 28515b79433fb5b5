"""Understanding callers: intent classification, entities, thresholds (issue 4)."""
