"""Per-address and per-account limits of the pages that check secrets or send codes.

Accounts are protected by their own lockout (``lockout.py``: every wrong password or
code counts, growing lockouts). An address limit protects against one source trying
many accounts, but a school's computer class, a family's router or a mobile carrier's
NAT puts hundreds of honest people behind one address. So the address limits count
*failed* attempts only, in one bucket per address shared by every secret-checking page
(a sign-in, a second factor or a re-authentication that passes redirects, and costs
nothing), with thresholds a class signing in correctly never reaches. Sending a code
costs an SMS: those requests count whether they pass or not, with a limit sized for a
class registering at once.
"""

from __future__ import annotations

from flask import Response, current_app, request

from portal.extensions import limiter
from portal.identity.services import canonical_login


def _failures_per_address() -> str:
    return current_app.config["RATELIMIT_FAILURES_PER_IP"]


def _sends_per_address() -> str:
    return current_app.config["RATELIMIT_CODE_SENDS_PER_IP"]


def _attempts_per_account() -> str:
    return current_app.config["RATELIMIT_LOGIN_PER_ACCOUNT"]


def failed(response: Response) -> bool:
    """A secret-checking page answered anything but a redirect onward: a failure."""
    return response.status_code not in (301, 302, 303)


def _account_key() -> str:
    """One account however its login was spelled (phone, e-mail, SNILS formats)."""
    return "login:" + canonical_login(request.form.get("login") or "")


# Wrong passwords and codes from one address, on every page that checks them.
failures_per_address = limiter.shared_limit(
    _failures_per_address, scope="secret-failures", methods=["POST"], deduct_when=failed
)
# Sign-in attempts at one account from anywhere (its lockout does the real work).
attempts_per_account = limiter.limit(_attempts_per_account, methods=["POST"], key_func=_account_key)
# Codes sent (registration, recovery, resends) from one address.
sends_per_address = limiter.shared_limit(_sends_per_address, scope="code-sends")
