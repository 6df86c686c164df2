"""Fixtures the portal's OpenID Provider tests share: Maria (a simplified citizen with a
phone and an e-mail), a registered relying party, and Maria's browser signed in to the
portal. A module that needs more of one defines its own of the same name."""

from __future__ import annotations

import pytest

from tests.portal.oidc_helpers import Browser, register

PHONE = "+79161234567"
EMAIL = "maria@example.ru"


@pytest.fixture
def citizen(make_citizen):
    return make_citizen(phone=PHONE, email=EMAIL)


@pytest.fixture
def rp(app):
    return register()


@pytest.fixture
def browser(app, citizen):
    """The citizen's browser, signed in to the portal."""
    person = Browser(app, PHONE)
    person.sign_in()
    return person
