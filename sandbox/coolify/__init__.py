"""sandbox/coolify."""
