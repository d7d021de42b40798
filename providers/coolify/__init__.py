"""providers/coolify."""
