"""state/migrations."""
