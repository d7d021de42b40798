"""The eight database flavours Coolify runs: their fields, defaults and URLs.

Each ``POST /databases/{flavor}`` accepts the common fields plus only its own
flavour's (another flavour's field is "not allowed"), generates the passwords it
was not given, and answers with an ``internal_db_url`` whose shape depends on the
engine (user, port, database path). Scheduled backups exist for the SQL engines,
MongoDB and ClickHouse, not for the Redis family.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from vibn.sandbox.coolify.store import Record, new_password
from vibn.sandbox.coolify.validation import Arr, Bool, Int, Num, Spec, Str


def _q(value: Any) -> str:
    return quote(str(value or ""), safe="")


@dataclass(frozen=True)
class Engine:
    """One database flavour."""

    flavor: str
    model: str
    image: str
    port: int
    fields: dict[str, Spec]
    defaults: dict[str, Any]
    generated: tuple[str, ...]
    backups: bool
    url: Callable[[Record, str, int], str]

    @property
    def database_type(self) -> str:
        return f"standalone-{self.flavor}"

    @property
    def conf_fields(self) -> tuple[str, ...]:
        return tuple(f for f in self.fields if f.endswith("_conf"))

    def initial_values(self, given: dict[str, Any]) -> dict[str, Any]:
        """Defaults and generated passwords for what the request left out."""
        values = dict(self.defaults)
        for name in self.generated:
            values[name] = new_password()
        values.update({k: v for k, v in given.items() if k in self.fields and v is not None})
        return values

    def internal_url(self, rec: Record) -> str:
        return self.url(rec, str(rec["uuid"]), self.port)

    def external_url(self, rec: Record, host: str) -> str | None:
        if not rec.get("is_public") or not rec.get("public_port"):
            return None
        return self.url(rec, host, int(rec["public_port"]))


def _pg(r: Record, h: str, p: int) -> str:
    return f"postgres://{_q(r['postgres_user'])}:{_q(r['postgres_password'])}@{h}:{p}/{r['postgres_db']}"


def _mysql(r: Record, h: str, p: int) -> str:
    return f"mysql://{_q(r['mysql_user'])}:{_q(r['mysql_password'])}@{h}:{p}/{r['mysql_database']}"


def _maria(r: Record, h: str, p: int) -> str:
    user, pw = _q(r["mariadb_user"]), _q(r["mariadb_password"])
    return f"mysql://{user}:{pw}@{h}:{p}/{r['mariadb_database']}"


def _mongo(r: Record, h: str, p: int) -> str:
    user, pw = _q(r["mongo_initdb_root_username"]), _q(r["mongo_initdb_root_password"])
    return f"mongodb://{user}:{pw}@{h}:{p}/?directConnection=true"


def _redis(r: Record, h: str, p: int) -> str:
    return f"redis://{_q(r.get('redis_username', 'default'))}:{_q(r['redis_password'])}@{h}:{p}/0"


def _keydb(r: Record, h: str, p: int) -> str:
    return f"redis://:{_q(r['keydb_password'])}@{h}:{p}/0"


def _dragonfly(r: Record, h: str, p: int) -> str:
    return f"redis://:{_q(r['dragonfly_password'])}@{h}:{p}/0"


def _clickhouse(r: Record, h: str, p: int) -> str:
    user, pw = _q(r["clickhouse_admin_user"]), _q(r["clickhouse_admin_password"])
    return f"clickhouse://{user}:{pw}@{h}:{p}/default"


def _strs(*names: str) -> dict[str, Spec]:
    return {n: Str(nullable=True) for n in names}


ENGINES: dict[str, Engine] = {
    e.flavor: e
    for e in (
        Engine(
            "postgresql",
            "App\\Models\\StandalonePostgresql",
            "postgres:16-alpine",
            5432,
            _strs(
                "postgres_user",
                "postgres_password",
                "postgres_db",
                "postgres_initdb_args",
                "postgres_host_auth_method",
                "postgres_conf",
            ),
            {
                "postgres_user": "postgres",
                "postgres_db": "postgres",
                "postgres_initdb_args": None,
                "postgres_host_auth_method": None,
                "postgres_conf": None,
                "init_scripts": None,
            },
            ("postgres_password",),
            True,
            _pg,
        ),
        Engine(
            "mysql",
            "App\\Models\\StandaloneMysql",
            "mysql:8",
            3306,
            _strs(
                "mysql_root_password",
                "mysql_user",
                "mysql_password",
                "mysql_database",
                "mysql_conf",
            ),
            {"mysql_user": "mysql", "mysql_database": "default", "mysql_conf": None},
            ("mysql_root_password", "mysql_password"),
            True,
            _mysql,
        ),
        Engine(
            "mariadb",
            "App\\Models\\StandaloneMariadb",
            "mariadb:11",
            3306,
            _strs(
                "mariadb_root_password",
                "mariadb_user",
                "mariadb_password",
                "mariadb_database",
                "mariadb_conf",
            ),
            {"mariadb_user": "mariadb", "mariadb_database": "default", "mariadb_conf": None},
            ("mariadb_root_password", "mariadb_password"),
            True,
            _maria,
        ),
        Engine(
            "mongodb",
            "App\\Models\\StandaloneMongodb",
            "mongo:7",
            27017,
            _strs(
                "mongo_initdb_root_username",
                "mongo_initdb_root_password",
                "mongo_initdb_database",
                "mongo_conf",
            ),
            {
                "mongo_initdb_root_username": "root",
                "mongo_initdb_database": "default",
                "mongo_conf": None,
            },
            ("mongo_initdb_root_password",),
            True,
            _mongo,
        ),
        Engine(
            "redis",
            "App\\Models\\StandaloneRedis",
            "redis:7.2",
            6379,
            _strs("redis_password", "redis_conf"),
            {"redis_username": "default", "redis_conf": None},
            ("redis_password",),
            False,
            _redis,
        ),
        Engine(
            "keydb",
            "App\\Models\\StandaloneKeydb",
            "eqalpha/keydb:latest",
            6379,
            _strs("keydb_password", "keydb_conf"),
            {"keydb_conf": None},
            ("keydb_password",),
            False,
            _keydb,
        ),
        Engine(
            "dragonfly",
            "App\\Models\\StandaloneDragonfly",
            "docker.dragonflydb.io/dragonflydb/dragonfly",
            6379,
            _strs("dragonfly_password"),
            {},
            ("dragonfly_password",),
            False,
            _dragonfly,
        ),
        Engine(
            "clickhouse",
            "App\\Models\\StandaloneClickhouse",
            "clickhouse/clickhouse-server:25.11",
            9000,
            _strs("clickhouse_admin_user", "clickhouse_admin_password"),
            {"clickhouse_admin_user": "default"},
            ("clickhouse_admin_password",),
            True,
            _clickhouse,
        ),
    )
}

#: fields every flavour accepts on create (besides its own)
COMMON_RULES: dict[str, Spec] = {
    "server_uuid": Str(required=True),
    "project_uuid": Str(required=True),
    "environment_name": Str(nullable=True),
    "environment_uuid": Str(nullable=True),
    "destination_uuid": Str(),
    "name": Str(max=255),
    "description": Str(nullable=True),
    "image": Str(),
    "is_public": Bool(),
    "public_port": Int(nullable=True, min=1024, max=65535),
    "public_port_timeout": Int(nullable=True, min=1),
    "limits_memory": Str(),
    "limits_memory_swap": Str(),
    "limits_memory_swappiness": Num(),
    "limits_memory_reservation": Str(),
    "limits_cpus": Str(),
    "limits_cpuset": Str(nullable=True),
    "limits_cpu_shares": Num(),
    "instant_deploy": Bool(),
    "tags": Arr(items=Str(min=2)),
}

#: fields every flavour accepts on PATCH (besides its own)
PATCH_RULES: dict[str, Spec] = {
    **{
        k: v
        for k, v in COMMON_RULES.items()
        if k
        not in {
            "server_uuid",
            "project_uuid",
            "environment_name",
            "environment_uuid",
            "destination_uuid",
            "instant_deploy",
            "tags",
        }
    },
    "health_check_enabled": Bool(),
    "health_check_interval": Int(min=1),
    "health_check_timeout": Int(min=1),
    "health_check_retries": Int(min=1),
    "health_check_start_period": Int(min=0),
}

#: common database columns and their defaults
DEFAULTS: dict[str, Any] = {
    "description": None,
    "image": None,
    "is_public": False,
    "public_port": None,
    "public_port_timeout": 3600,
    "ports_mappings": None,
    "limits_memory": "0",
    "limits_memory_swap": "0",
    "limits_memory_swappiness": 60,
    "limits_memory_reservation": "0",
    "limits_cpus": "0",
    "limits_cpuset": None,
    "limits_cpu_shares": 1024,
    "started_at": None,
    "last_online_at": None,
    "is_log_drain_enabled": False,
    "is_include_timestamps": False,
    "custom_docker_run_options": None,
    "health_check_enabled": True,
    "health_check_interval": 15,
    "health_check_timeout": 5,
    "health_check_retries": 5,
    "health_check_start_period": 5,
    "destination_type": "App\\Models\\StandaloneDocker",
    "destination_id": 0,
    "deleted_at": None,
}
