"""Google Cloud in Montréal: Storage, Cloud Scheduler, Cloud Tasks and Cloud Logging.

One module per API with its drivers; ``common`` holds the error translation, retries
and endpoint wiring they share.
"""
