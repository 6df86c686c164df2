"""The account's lockout: every guess of a secret tied to an account counts.

One function, ``guess``, is called wherever such a secret is checked: the password at
sign-in, at re-authentication and when changing it; the second factor (TOTP, SMS code,
recovery code) at sign-in and at re-authentication; the one-time codes of recovery,
contact change and SMS setup. ``LOCKOUT_THRESHOLD`` consecutive failures of any mix lock
the account for ``LOCKOUT_BASE_SECONDS``, doubling with each further lockout up to
``LOCKOUT_MAX_SECONDS``, and the owner is told. While the account is locked no guess is
checked at all.

The counter moves by one ``UPDATE citizen SET failed_logins = failed_logins + 1 …
RETURNING`` that also sets the lock when the threshold is reached: eight simultaneous
wrong guesses count eight (a read-then-write would let them overwrite each other and
count one).

Per-address and per-login rate limits are separate (Flask-Limiter, in the views).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.identity import notifications
from portal.identity.models import Citizen
from portal.identity.security_log import Origin, record_event
from shared.errors import Throttled
from shared.sessions import utcnow


class AccountLocked(Throttled):
    code = "account_locked"
    default_message = _l("Too many wrong attempts. Try again in %(minutes)d min.")


def locked_until(citizen_id: int) -> datetime | None:
    """The end of the account's lockout if it is locked now (read from the database,
    not from a citizen object loaded before another request locked it)."""
    until = db.session.execute(
        sa.select(Citizen.locked_until).where(Citizen.id == citizen_id)
    ).scalar_one_or_none()
    return until if until is not None and until > utcnow() else None


def _minutes_left(until: datetime) -> int:
    return max(1, int((until - utcnow()).total_seconds() + 59) // 60)


def guess(
    citizen: Citizen,
    origin: Origin,
    check: Callable[[], bool],
    *,
    failure: str,
    completes: bool,
) -> bool:
    """Whether one guess of a secret of ``citizen`` is right, under the account's lockout.

    ``check`` compares the guess and returns whether it is right; it is not called while
    the account is locked (``AccountLocked`` is raised and ``login_blocked`` logged). A
    wrong guess is logged as ``failure`` and counted. A right one clears the counter only
    if it ``completes`` an authentication: a right password before the second factor
    does not, so password and code guesses add up. Commits a wrong guess; the caller
    commits a right one with its own work. One read of the account's lockout state; a
    right guess writes only when there is a counter or a lock to clear.
    """
    state = db.session.execute(
        sa.select(Citizen.locked_until, Citizen.failed_logins, Citizen.lockout_count).where(
            Citizen.id == citizen.id
        )
    ).one()
    if state.locked_until is not None and state.locked_until > utcnow():
        record_event(citizen, "login_blocked", origin, during=failure)
        db.session.commit()
        raise AccountLocked(minutes=_minutes_left(state.locked_until))
    if check():
        # Nothing to clear when nothing had failed (the common sign-in): no write. A
        # failure counted meanwhile by another request is left for the next success.
        if completes and (state.failed_logins or state.lockout_count or state.locked_until):
            db.session.execute(
                sa.update(Citizen)
                .where(Citizen.id == citizen.id)
                .values(failed_logins=0, lockout_count=0, locked_until=None)
                .execution_options(synchronize_session=False)
            )
        return True
    record_event(citizen, failure, origin)
    _count_failure(citizen, origin)
    return False


def _lockout_end(now: datetime) -> sa.ColumnElement[datetime]:
    """The end of a lockout that starts now, by how many came before it."""
    cfg = current_app.config
    base, longest = int(cfg["LOCKOUT_BASE_SECONDS"]), int(cfg["LOCKOUT_MAX_SECONDS"])
    ends = {}
    earlier = 0
    while base * 2**earlier < longest:
        ends[earlier] = now + timedelta(seconds=base * 2**earlier)
        earlier += 1
    last = sa.literal(now + timedelta(seconds=longest), sa.DateTime)
    if not ends:
        return last
    return sa.case(ends, value=Citizen.lockout_count, else_=last)


def _count_failure(citizen: Citizen, origin: Origin) -> None:
    """Count one failure atomically; the threshold-th locks and tells the owner."""
    now = utcnow()
    reached = Citizen.failed_logins + 1 >= int(current_app.config["LOCKOUT_THRESHOLD"])
    # Every right-hand side reads the row as it was before this UPDATE (SQL semantics),
    # and the row is locked for the statement: concurrent failures queue, none is lost.
    row = db.session.execute(
        sa.update(Citizen)
        .where(Citizen.id == citizen.id)
        .values(
            failed_logins=sa.case((reached, 0), else_=Citizen.failed_logins + 1),
            lockout_count=sa.case(
                (reached, Citizen.lockout_count + 1), else_=Citizen.lockout_count
            ),
            locked_until=sa.case((reached, _lockout_end(now)), else_=Citizen.locked_until),
        )
        .returning(Citizen.failed_logins, Citizen.locked_until)
        .execution_options(synchronize_session=False)
    ).one()
    db.session.commit()
    if row.failed_logins == 0 and row.locked_until is not None:
        seconds = int((row.locked_until - now).total_seconds())
        record_event(citizen, "locked", origin, seconds=seconds)
        db.session.commit()
        notifications.tell_locked(citizen, max(1, seconds // 60))
