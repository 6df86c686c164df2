"""Rules of the authorization request that Authlib leaves to us: what the specifications
say must be refused rather than ignored (OpenID Connect Core 1.0 §3.1.2.1, §3.1.2.6 and
§6; RFC 6749 §3.1 and §4.1.2.1; OAuth 2.0 Multiple Response Types §2; Initiating User
Registration via OpenID Connect 1.0 §4).

``check_request`` runs once the client and its redirect URI are known, so every refusal
here goes back to the client with ``state`` and ``iss``:

- a parameter given twice (RFC 6749 §3.1): ``invalid_request``;
- ``request``, ``request_uri``, ``registration``, which this provider does not support
  (discovery says so): ``request_not_supported``, ``request_uri_not_supported``,
  ``registration_not_supported`` (Core §6, §3.1.2.6);
- a ``response_mode`` other than ``query`` (the only one in ``response_modes_supported``):
  ``invalid_request``;
- ``prompt`` values: ``none`` with any other is ``invalid_request`` (Core §3.1.2.1);
  ``select_account`` is ``account_selection_required``, since the portal has no account
  chooser (one person per browser session) and so cannot obtain a choice (§3.1.2.1);
  ``create`` sends a visitor to registration and back; anything else is
  ``invalid_request`` (Registration §4: a value not in ``prompt_values_supported``);
- ``max_age`` that is not a number of seconds: ``invalid_request``.
"""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oidc.core.errors import (
    AccountSelectionRequiredError,
    RegistrationNotSupportedError,
    RequestNotSupportedError,
    RequestURINotSupportedError,
)

PROMPT_VALUES_SUPPORTED = ["none", "login", "consent", "create"]
RESPONSE_MODES_SUPPORTED = ["query"]

# Parameters of an authorization request (Core §3.1.2.1, RFC 7636, RFC 6749), none of
# which may be repeated.
PARAMETERS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "response_mode",
    "nonce",
    "display",
    "prompt",
    "max_age",
    "ui_locales",
    "claims_locales",
    "id_token_hint",
    "login_hint",
    "acr_values",
    "code_challenge",
    "code_challenge_method",
    "claims",
    "request",
    "request_uri",
    "registration",
)

_UNSUPPORTED = (
    ("request", RequestNotSupportedError),
    ("request_uri", RequestURINotSupportedError),
    ("registration", RegistrationNotSupportedError),
)


def check_request(values, redirect_uri: str, state: str | None) -> set[str]:
    """Refuse what the module docstring lists (an ``OAuth2Error`` addressed to
    ``redirect_uri``); return the ``prompt`` values."""

    def refuse(error: type[OAuth2Error], description: str | None = None) -> OAuth2Error:
        return error(description=description, redirect_uri=redirect_uri, state=state)

    for name in PARAMETERS:
        if len(values.getlist(name)) > 1:
            raise refuse(InvalidRequestError, f"'{name}' is given more than once.")
    for name, error in _UNSUPPORTED:
        if name in values:
            raise refuse(error)
    mode = values.get("response_mode")
    if mode is not None and mode not in RESPONSE_MODES_SUPPORTED:
        raise refuse(
            InvalidRequestError, f"response_mode must be one of {RESPONSE_MODES_SUPPORTED}."
        )
    prompts = set(values.get("prompt", "").split())
    if "none" in prompts and len(prompts) > 1:
        raise refuse(InvalidRequestError, "prompt=none cannot be combined with other values.")
    if "select_account" in prompts:
        raise refuse(AccountSelectionRequiredError, "This provider has no account chooser.")
    unknown = prompts - set(PROMPT_VALUES_SUPPORTED)
    if unknown:
        raise refuse(
            InvalidRequestError,
            f"Unsupported prompt value {sorted(unknown)[0]!r}; "
            f"supported: {' '.join(PROMPT_VALUES_SUPPORTED)}.",
        )
    max_age = values.get("max_age")
    if max_age is not None and not (max_age.isascii() and max_age.isdigit()):
        raise refuse(InvalidRequestError, "max_age must be a number of seconds.")
    return prompts


def without_prompt(params: dict[str, str], value: str) -> dict[str, str]:
    """``params`` with ``value`` taken out of ``prompt`` (and ``prompt`` left out when
    nothing remains): the request to come back to once that prompt has been answered."""
    rest = [each for each in params.get("prompt", "").split() if each != value]
    params = {k: v for k, v in params.items() if k != "prompt"}
    if rest:
        params["prompt"] = " ".join(rest)
    return params
