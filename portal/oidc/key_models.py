"""The keys the portal signs ID tokens and access tokens with."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from shared.sessions import utcnow

# The states of a key, in SQL: the partial unique indexes below and the services' queries
# use the same conditions.
IS_ACTIVE = "activated_at IS NOT NULL AND retired_at IS NULL"
IS_NEXT = "activated_at IS NULL"


class SigningKey(db.Model):
    """One signing key pair, through its life cycle (``portal.oidc.keys``):

    - *next*: ``activated_at`` is None. Published in the JWKS, signs nothing yet, so that
      relying parties' cached key sets hold it before the first token it signs;
    - *active*: ``activated_at`` set, ``retired_at`` None. Signs; one per algorithm;
    - *retired*: ``retired_at`` set. Signs nothing, stays published (and verifies) until
      ``publish_until``;
    - *removed*: past ``publish_until``: out of the JWKS, and deleted by ``prune_keys``.

    The private JWK is stored encrypted with the PII cipher (bound to the field
    ``signing_key``) and re-encrypted with personal data when the PII key changes.
    """

    __tablename__ = "signing_key"
    __table_args__ = (
        # At most one active and one next key per algorithm, even when two processes
        # create the first keys (or rotate) at the same time: the loser's statement fails.
        # A unique constraint on (alg, retired_at) would not do it, since NULLs are
        # distinct in unique constraints; a partial unique index covers only the rows
        # in that state. SQLite (3.8+) and PostgreSQL both support it, and both dialect
        # options must be given or the index is created without the WHERE.
        sa.Index(
            "uq_signing_key_active_alg",
            "alg",
            unique=True,
            sqlite_where=sa.text(IS_ACTIVE),
            postgresql_where=sa.text(IS_ACTIVE),
        ),
        sa.Index(
            "uq_signing_key_next_alg",
            "alg",
            unique=True,
            sqlite_where=sa.text(IS_NEXT),
            postgresql_where=sa.text(IS_NEXT),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(sa.String(64), unique=True)  # RFC 7638 thumbprint
    alg: Mapped[str] = mapped_column(sa.String(8))  # RS256, ES256
    private_jwk_encrypted: Mapped[str] = mapped_column(sa.Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(sa.JSON)  # with kid, alg, use="sig"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)  # published from then on
    activated_at: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]
    publish_until: Mapped[datetime | None]

    @property
    def state(self) -> str:
        if self.activated_at is None:
            return "next"
        return "active" if self.retired_at is None else "retired"

    @property
    def is_active(self) -> bool:
        return self.state == "active"

    def __repr__(self) -> str:
        # Never the private JWK, not even encrypted.
        return f"<SigningKey {self.kid} {self.alg} {self.state}>"
