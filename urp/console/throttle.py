"""Login throttling, shared by every console replica (``login_throttles``).

Five failed logins for a username, or twenty from one client address whatever the
usernames, within a window of 15 minutes block that username, or that address, for 15
minutes. Each attempt first takes a place in both counters with one conditional UPDATE
each (the row locked on PostgreSQL, the writer's lock on SQLite), before any password is
checked: concurrent attempts can never go past the limit. A success gives its place back;
blocked attempts check no password and count no further.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, or_, select, update
from sqlalchemy.orm import Session

from urp.core.clock import Clock, utc_now
from urp.core.db import Database
from urp.core.errors import OperatorError
from urp.core.models import LoginThrottle as ThrottleRow
from urp.core.models import UTCDateTime

MAX_FAILURES = 5  # per username
MAX_ADDRESS_FAILURES = 20  # per client address, across usernames
FAILURE_WINDOW = timedelta(minutes=15)
BLOCK_FOR = timedelta(minutes=15)
ACCOUNT = "account"
ADDRESS = "address"
IPV6_PREFIX = 64  # one home or office gets a whole /64: its addresses count as one


class LoginThrottledError(OperatorError, PermissionError):
    """Too many failed logins for this username, or from this address: wait and retry."""

    def __init__(self, scope: str = ACCOUNT) -> None:
        self.scope = scope
        where = "con questo nome utente" if scope == ACCOUNT else "da questa rete"
        super().__init__(f"Troppi tentativi non riusciti {where}: riprova tra 15 minuti.")


def address_key(address: str | None) -> str | None:
    """The throttling key of a client address: IPv6 by its /64, None if unknown."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/{IPV6_PREFIX}", strict=False))
    return str(ip)


def counters(username: str, address: str | None) -> list[tuple[str, int]]:
    """The ``(key, limit)`` counters a login of ``username`` from ``address`` counts in."""
    keys = [(f"{ACCOUNT}:{username}", MAX_FAILURES)]
    if (where := address_key(address)) is not None:
        keys.append((f"{ADDRESS}:{where}", MAX_ADDRESS_FAILURES))
    return keys


@dataclass(frozen=True)
class _Taken:
    key: str
    limit: int
    window_start: datetime


class LoginThrottle:
    """Counters of login attempts per account and per address, in the shared database."""

    def __init__(self, database: Database, clock: Clock = utc_now) -> None:
        self._db = database
        self._clock = clock

    def take(self, keys: list[tuple[str, int]]) -> list[_Taken]:
        """A place in each ``(key, limit)`` counter, or :class:`LoginThrottledError` and
        none taken. One transaction: both places are taken, or neither."""
        now = self._clock()
        taken = []
        with self._db.transaction(write=True) as session:
            for key, limit in keys:
                # A counter forgotten meanwhile (by a login's clean-up) is simply created
                # again: only a counter that is there and full refuses.
                for _ in range(2):
                    session.execute(
                        self._db.upsert_insert(ThrottleRow)
                        .values(key=key, window_start=now, attempts=0)
                        .on_conflict_do_nothing(index_elements=[ThrottleRow.key])
                    )
                    if self._take_one(session, key, limit, now):
                        break
                    exists = select(ThrottleRow.key).where(ThrottleRow.key == key)
                    if session.execute(exists).first() is not None:
                        # The transaction rolls back: the place taken in the other counter too.
                        raise LoginThrottledError(key.partition(":")[0])
                start = session.execute(
                    select(ThrottleRow.window_start).where(ThrottleRow.key == key)
                ).scalar_one()
                taken.append(_Taken(key, limit, start))
        return taken

    @staticmethod
    def _take_one(session: Session, key: str, limit: int, now: datetime) -> bool:
        """One conditional UPDATE: a place if the counter's window is over or not full."""
        expired = ThrottleRow.window_start <= now - FAILURE_WINDOW
        done = session.execute(
            update(ThrottleRow)
            .where(
                ThrottleRow.key == key,
                or_(ThrottleRow.blocked_until.is_(None), ThrottleRow.blocked_until <= now),
                or_(expired, ThrottleRow.attempts < limit),
            )
            .values(
                attempts=case((expired, 1), else_=ThrottleRow.attempts + 1),
                window_start=case(
                    (expired, literal(now, UTCDateTime)), else_=ThrottleRow.window_start
                ),
                blocked_until=None,
            )
            .execution_options(synchronize_session=False)
        )
        return done.rowcount == 1

    def give_back(self, taken: list[_Taken]) -> None:
        """After a success: the places taken were no failures."""
        with self._db.transaction(write=True) as session:
            for place in taken:
                session.execute(
                    update(ThrottleRow)
                    .where(
                        ThrottleRow.key == place.key,
                        ThrottleRow.window_start == place.window_start,
                        ThrottleRow.attempts > 0,
                    )
                    .values(attempts=ThrottleRow.attempts - 1)
                    .execution_options(synchronize_session=False)
                )

    def failed(self, taken: list[_Taken], session: Session) -> None:
        """After a failure (in the caller's transaction): a full counter blocks its key."""
        now = self._clock()
        for place in taken:
            session.execute(
                update(ThrottleRow)
                .where(ThrottleRow.key == place.key, ThrottleRow.attempts >= place.limit)
                .values(blocked_until=now + BLOCK_FOR)
                .execution_options(synchronize_session=False)
            )

    @staticmethod
    def forget_stale(session: Session, now: datetime) -> None:
        """Drop the counters of anybody whose window and block are long over (in the
        caller's transaction: a login is a good moment for it)."""
        session.execute(
            delete(ThrottleRow).where(
                ThrottleRow.window_start <= now - FAILURE_WINDOW - BLOCK_FOR,
                or_(ThrottleRow.blocked_until.is_(None), ThrottleRow.blocked_until <= now),
            )
        )
