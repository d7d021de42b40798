"""A wire-faithful emulator of the Cloud Scheduler v1 REST API.

vibn's cron jobs are Cloud Scheduler jobs with HTTP targets in
northamerica-northeast1; their driver goes through google-cloud-scheduler's REST
transport, which this emulator answers as Google does (enums as numbers or
names, ``updateMask``, paging, Google's error shape and messages). Point the
client at it with ``client_options={"api_endpoint": providers["scheduler"].url}``.
"""

from vibn.sandbox.scheduler.app import API_PREFIX, SchedulerSettings, create_emulator

__all__ = ["API_PREFIX", "SchedulerSettings", "create_emulator"]
