"""Leases: one holder per key (``stack:{workspace}/{name}``), expiring, taken over when
the holder dies.

Acquisition is decided by the database in one transaction: an ``INSERT ... ON CONFLICT
DO NOTHING`` wins a free key, and an ``UPDATE ... WHERE holder = me OR expires_at <=
now`` renews one's own lease or takes over an expired one. Whichever statement returns
a row won; two racers can never both win, on SQLite (writers serialised by ``BEGIN
IMMEDIATE``) or PostgreSQL (the unique key, and the row lock the UPDATE re-checks under).
Time comes from the store's clock, so expiry is testable with a fake one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Row, case, delete, literal, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningUpdate

from vibn.state._core import StoreCore
from vibn.state.errors import LeaseHeld, StateError
from vibn.state.records import Lease
from vibn.state.schema import LeaseRow, UTCDateTime

_RACE_RETRIES = 5
_COLUMNS = (LeaseRow.key, LeaseRow.holder, LeaseRow.acquired_at, LeaseRow.expires_at)


class LeaseOps(StoreCore):
    def acquire_lease(self, key: str, holder: str, ttl: timedelta) -> Lease:
        """Take (or renew) the lease on ``key`` for ``ttl``; ``LeaseHeld`` when another
        holder's lease is still live."""
        _check_ttl(ttl)
        with self._writing() as session:
            for _ in range(_RACE_RETRIES):
                now = self._now()
                free = (
                    self._insert(LeaseRow)
                    .values(key=key, holder=holder, acquired_at=now, expires_at=now + ttl)
                    .on_conflict_do_nothing(index_elements=["key"])
                    .returning(*_COLUMNS)
                )
                won = session.execute(free).first()
                if won is None:
                    won = session.execute(_renew_or_take_over(key, holder, now, ttl)).first()
                if won is not None:
                    return _lease(won)
                current = _current(session, key)
                if current is not None:
                    raise LeaseHeld(key, current.holder, current.acquired_at, current.expires_at)
                # released between our two statements: try again
        raise StateError(f"could not settle the lease on {key}: it changed hands repeatedly")

    def renew_lease(self, key: str, holder: str, ttl: timedelta) -> Lease:
        """Extend ``holder``'s lease; ``LeaseHeld`` when someone else has taken it over."""
        _check_ttl(ttl)
        with self._writing() as session:
            renewed = session.execute(
                update(LeaseRow)
                .where(LeaseRow.key == key, LeaseRow.holder == holder)
                .values(expires_at=self._now() + ttl)
                .returning(*_COLUMNS)
                .execution_options(synchronize_session=False)
            ).first()
            if renewed is not None:
                return _lease(renewed)
            current = _current(session, key)
            if current is not None:
                raise LeaseHeld(key, current.holder, current.acquired_at, current.expires_at)
            raise StateError(f"{holder} holds no lease on {key} to renew; acquire it first")

    def release_lease(self, key: str, holder: str) -> bool:
        """Give the lease up; False when ``holder`` did not hold it."""
        with self._writing() as session:
            gone = session.execute(
                delete(LeaseRow)
                .where(LeaseRow.key == key, LeaseRow.holder == holder)
                .returning(LeaseRow.id)
            ).first()
            return gone is not None

    def lease_holder(self, key: str) -> Lease | None:
        """The live lease on ``key``, if any (an expired one counts as free)."""
        with self._reading() as session:
            current = _current(session, key)
            if current is None or current.expires_at <= self._now():
                return None
            return current


def _renew_or_take_over(
    key: str, holder: str, now: datetime, ttl: timedelta
) -> ReturningUpdate[str, str, datetime, datetime]:
    """Extend the holder's own lease (keeping when it was acquired) or take over an
    expired one; matches no row while another holder's lease is live."""
    return (
        update(LeaseRow)
        .where(LeaseRow.key == key, or_(LeaseRow.holder == holder, LeaseRow.expires_at <= now))
        .values(
            acquired_at=case(
                (LeaseRow.holder == holder, LeaseRow.acquired_at),
                else_=literal(now, UTCDateTime()),
            ),
            holder=holder,
            expires_at=now + ttl,
        )
        .returning(*_COLUMNS)
        .execution_options(synchronize_session=False)
    )


def _current(session: Session, key: str) -> Lease | None:
    row = session.execute(select(*_COLUMNS).where(LeaseRow.key == key)).first()
    return None if row is None else _lease(row)


def _lease(row: Row[str, str, datetime, datetime]) -> Lease:
    return Lease(key=row[0], holder=row[1], acquired_at=row[2], expires_at=row[3])


def _check_ttl(ttl: timedelta) -> None:
    if ttl <= timedelta(0):
        raise ValueError(f"a lease needs a positive ttl, not {ttl}")
