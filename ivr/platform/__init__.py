"""Payment-platform backends for self-service: the ``Platform`` interface, a demo backend on
our own tables, and an HTTP client with timeouts, retries and a circuit breaker."""
