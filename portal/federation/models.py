"""The portal's outbox of messages to the regional diaries."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from shared.crypto import seal, unseal
from shared.federation import OutboxMixin


class FederationMessage(OutboxMixin, db.Model):
    """A message owed to one region's diary (``target`` is its client id).

    Its data can carry personal data (an application names the parent and the child with
    their SNILS), so it is kept encrypted like every other SNILS at the portal (``sealed``,
    bound to its row, re-encrypted by ``flask --app portal pii reencrypt``), and the
    mixin's ``data`` stays empty. Setting ``payload`` inserts a new message (see
    ``shared.crypto.seal``). It is erased once the message is delivered or given up: the
    diary has it, or nobody needs it any more.
    """

    __tablename__ = "federation_message"
    __table_args__ = (sa.UniqueConstraint("event", "target", "key"),)

    sealed: Mapped[str | None] = mapped_column(sa.Text)

    @property
    def payload(self) -> dict[str, Any]:
        if not self.sealed:
            return {}
        return json.loads(unseal(self, "sealed"))

    @payload.setter
    def payload(self, value: dict[str, Any]) -> None:
        self.data = {}
        seal(self, sealed=json.dumps(value, ensure_ascii=False))
