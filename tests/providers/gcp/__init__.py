"""Contract tests of the Google Cloud drivers against the sandbox emulators."""
