"""The keys the portal signs ID tokens and access tokens with."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from shared.sessions import utcnow

# Where a key is "active" (not retired), in SQL: the partial unique index below and the
# services' queries use the same condition.
NOT_RETIRED = "retired_at IS NULL"


class SigningKey(db.Model):
    """One signing key pair. ``retired_at`` is None for the active key of its algorithm;
    a retired key no longer signs but stays in the JWKS until ``publish_until``, so that
    tokens it signed still verify.

    The private JWK is stored encrypted with the PII cipher (bound to the field
    ``signing_key``) and re-encrypted with personal data when the PII key changes.
    """

    __tablename__ = "signing_key"
    __table_args__ = (
        # At most one active key per algorithm, even when two processes create the first
        # key (or rotate) at the same time: the loser's INSERT fails and it re-reads.
        # A unique constraint on (alg, retired_at) would not do it, since NULLs are
        # distinct in unique constraints; a partial unique index covers only the rows
        # where retired_at IS NULL. SQLite (3.8+) and PostgreSQL both support it, and
        # both dialect options must be given or the index is created without the WHERE.
        sa.Index(
            "uq_signing_key_active_alg",
            "alg",
            unique=True,
            sqlite_where=sa.text(NOT_RETIRED),
            postgresql_where=sa.text(NOT_RETIRED),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(sa.String(64), unique=True)  # RFC 7638 thumbprint
    alg: Mapped[str] = mapped_column(sa.String(8))  # RS256, ES256
    private_jwk_encrypted: Mapped[str] = mapped_column(sa.Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(sa.JSON)  # with kid, alg, use="sig"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]
    publish_until: Mapped[datetime | None]

    @property
    def is_active(self) -> bool:
        return self.retired_at is None

    def __repr__(self) -> str:
        # Never the private JWK, not even encrypted.
        state = "active" if self.is_active else "retired"
        return f"<SigningKey {self.kid} {self.alg} {state}>"
