"""state/migrations/versions."""
