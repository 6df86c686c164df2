"""The OpenID Provider."""
