"""The web server: health, metrics, and the REST API (supervisor UI in later issues)."""
