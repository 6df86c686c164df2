"""Input shapes of the administrator's room. Rules beyond shape (which addresses a client
may use, which scopes it may ask for) live in ``portal.oidc.services.create_client``."""

from __future__ import annotations

import json
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from portal.oidc import claims

REQUIRED = _l("Fill in this field.")
MAX_URIS = 10
MAX_URI_LENGTH = 500  # the width of the URI columns
MAX_JWKS_LENGTH = 20_000

AUTH_METHOD_CHOICES = [
    SelectChoice(
        "client_secret_basic",
        _l("Client secret in the Authorization header (client_secret_basic)"),
    ),
    SelectChoice(
        "client_secret_post", _l("Client secret in the request body (client_secret_post)")
    ),
    SelectChoice("private_key_jwt", _l("Assertion signed with the client's key (private_key_jwt)")),
]
ID_TOKEN_ALG_CHOICES = [SelectChoice("RS256", "RS256"), SelectChoice("ES256", "ES256")]
# Parameters a JWK carries only in a private or symmetric key (RFC 7518 §6).
PRIVATE_KEY_PARAMETERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def split_lines(text: str | None) -> list[str]:
    """The non-blank lines of ``text``, stripped, each once, in order."""
    return list(dict.fromkeys(line.strip() for line in (text or "").splitlines() if line.strip()))


def uri_lines(form: FlaskForm, field: TextAreaField) -> None:
    uris = split_lines(field.data)
    if len(uris) > MAX_URIS:
        raise ValidationError(_l("At most %(max)d addresses.", max=MAX_URIS))
    if any(len(uri) > MAX_URI_LENGTH for uri in uris):
        raise ValidationError(
            _l("An address can be at most %(max)d characters long.", max=MAX_URI_LENGTH)
        )


def public_key_set(form: FlaskForm, field: TextAreaField) -> None:
    """A JSON Web Key Set (RFC 7517 §5) of public keys only: the client keeps its private
    keys, and the portal must never hold them."""
    text = (field.data or "").strip()
    if not text:
        return
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValidationError(
            _l("Paste a JSON Web Key Set: an object with a list of keys.")
        ) from exc
    keys = value.get("keys") if isinstance(value, dict) else None
    if not isinstance(keys, list) or not keys or not all(isinstance(k, dict) for k in keys):
        raise ValidationError(_l("Paste a JSON Web Key Set: an object with a list of keys."))
    if any(PRIVATE_KEY_PARAMETERS & set(key) for key in keys):
        raise ValidationError(_l("Paste only public keys: private keys stay with the client."))
    try:
        KeySet.import_key_set(value)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise ValidationError(_l("One of the keys cannot be read.")) from exc


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ClientForm(FlaskForm):
    name = StringField(
        _l("Name shown to citizens"), validators=[DataRequired(REQUIRED), Length(max=200)]
    )
    redirect_uris = TextAreaField(
        _l("Redirect URIs, one per line"), validators=[DataRequired(REQUIRED), uri_lines]
    )
    post_logout_redirect_uris = TextAreaField(
        _l("Post-logout redirect URIs, one per line"), validators=[Optional(), uri_lines]
    )
    backchannel_logout_uri = StringField(
        _l("Back-channel logout URI"), validators=[Optional(), Length(max=MAX_URI_LENGTH)]
    )
    scopes = MultiCheckboxField(
        _l("Scopes the client may ask for"),
        choices=[SelectChoice(name, name) for name in claims.SCOPES_SUPPORTED],
        default=["openid", "profile"],
    )
    auth_method = SelectField(
        _l("Token endpoint authentication"),
        choices=AUTH_METHOD_CHOICES,
        default="client_secret_basic",
    )
    public = BooleanField(_l("Public client: no secret, PKCE only (a mobile or browser app)"))
    id_token_alg = SelectField(
        _l("ID token signature algorithm"), choices=ID_TOKEN_ALG_CHOICES, default="RS256"
    )
    jwks = TextAreaField(
        _l("The client's public keys (JWKS), for private_key_jwt"),
        validators=[Length(max=MAX_JWKS_LENGTH), public_key_set],
    )

    def validate_scopes(self, field: MultiCheckboxField) -> None:
        if "openid" not in (field.data or []):
            raise ValidationError(_l("The openid scope is required."))

    def validate_jwks(self, field: TextAreaField) -> None:
        needs_keys = self.auth_method.data == "private_key_jwt" and not self.public.data
        if needs_keys and not (field.data or "").strip():
            raise ValidationError(_l("private_key_jwt needs the client's public keys."))

    def client_fields(self) -> dict[str, Any]:
        """The arguments of ``create_client`` this form describes."""
        uses_keys = self.auth_method.data == "private_key_jwt" and not self.public.data
        return {
            "name": self.name.data.strip(),
            "redirect_uris": split_lines(self.redirect_uris.data),
            "post_logout_redirect_uris": split_lines(self.post_logout_redirect_uris.data),
            "backchannel_logout_uri": (self.backchannel_logout_uri.data or "").strip() or None,
            "scopes": list(self.scopes.data),
            "auth_method": "none" if self.public.data else self.auth_method.data,
            "id_token_alg": self.id_token_alg.data,
            "jwks": json.loads(self.jwks.data) if uses_keys else None,
        }
