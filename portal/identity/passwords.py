"""Password hashing and the password policy.

Hashing: argon2id with the OWASP Password Storage Cheat Sheet parameters (m=19 MiB,
t=2, p=1), set in configuration; a hash made under older parameters is replaced at the
next successful sign-in.

Policy (NIST SP 800-63B §3.1.1.2, ASVS 6.2): at least 8 characters, at least 64
allowed, no composition rules, refused when it is among common passwords (zxcvbn's list
of 30 000 plus Russian keyboard favourites) or is built from the person's own name,
phone or e-mail.
"""

from __future__ import annotations

import functools
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from flask_babel import lazy_gettext as _l
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from shared.errors import ValidationError

RU_COMMON = Path(__file__).with_name("common_passwords_ru.txt")


class WeakPassword(ValidationError):
    code = "weak_password"


@functools.cache
def common_passwords() -> frozenset[str]:
    extra = [
        line.strip() for line in RU_COMMON.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    return frozenset(p.lower() for p in [*FREQUENCY_LISTS["passwords"], *extra])


def hasher() -> PasswordHasher:
    cfg = current_app.config
    return _hasher(
        int(cfg["ARGON2_TIME_COST"]), int(cfg["ARGON2_MEMORY_COST"]), int(cfg["ARGON2_PARALLELISM"])
    )


@functools.cache
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    """One hasher per set of parameters (it holds only them): not rebuilt per call."""
    return PasswordHasher(
        time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID
    )


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return hasher().verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return hasher().check_needs_rehash(stored_hash)


@functools.cache
def _dummy_hash(params: tuple[int, int, int]) -> str:
    return PasswordHasher(time_cost=params[0], memory_cost=params[1], parallelism=params[2]).hash(
        "not-a-password"
    )


def burn_verification_time(password: str) -> None:
    """Spend the time a real verification would, so an unknown login is not told apart."""
    cfg = current_app.config
    params = (
        int(cfg["ARGON2_TIME_COST"]),
        int(cfg["ARGON2_MEMORY_COST"]),
        int(cfg["ARGON2_PARALLELISM"]),
    )
    verify_password(_dummy_hash(params), password)


def check_password_policy(password: str, personal: list[str | None] | None = None) -> None:
    """Raise ``WeakPassword`` with a reason the person can act on."""
    cfg = current_app.config
    minimum, maximum = int(cfg["PASSWORD_MIN_LENGTH"]), int(cfg["PASSWORD_MAX_LENGTH"])
    if len(password) < minimum:
        raise WeakPassword(_l("The password must be at least %(n)d characters long."), n=minimum)
    if len(password) > maximum:
        raise WeakPassword(_l("The password must be at most %(n)d characters long."), n=maximum)
    lowered = password.lower()
    if lowered in common_passwords() or len(set(lowered)) < 3:
        raise WeakPassword(_l("This password is too common and easy to guess. Choose another one."))
    digits = "".join(ch for ch in lowered if ch.isdigit())
    for item in personal or []:
        if not item:
            continue
        token = item.lower().lstrip("+")
        if len(token) >= 4 and (token in lowered or (token.isdigit() and token[-10:] in digits)):
            raise WeakPassword(
                _l("The password must not contain your name, phone number or e-mail.")
            )
