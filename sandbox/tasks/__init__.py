"""A wire-faithful emulator of the Cloud Tasks v2 REST API.

vibn's queues are Cloud Tasks queues in northamerica-northeast1, driven through
google-cloud-tasks' REST transport, which this emulator answers as Google does:
queue CRUD with pause/resume/purge and the tombstone that holds a deleted
queue's name, tasks with de-duplicated names and views, enums as numbers or
names, paging, Google's error shape and messages. Optionally (a setting, off by
default) it delivers tasks over HTTP with the queue's retry policy. Point the
client at it with ``client_options={"api_endpoint": providers["tasks"].url}``.
"""

from vibn.sandbox.tasks.app import API_PREFIX, create_emulator
from vibn.sandbox.tasks.settings import TasksSettings

__all__ = ["API_PREFIX", "TasksSettings", "create_emulator"]
