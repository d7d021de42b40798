"""Amazon Web Services drivers: SES v2 for a stack's outgoing mail, in Canada only."""
