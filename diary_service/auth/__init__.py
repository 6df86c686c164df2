"""Signing in to the diary through the portal (OpenID Connect relying party).

``oidc`` speaks the protocol (Authlib's Flask client plus the checks it leaves to us),
``services`` keeps who signed in and ends sessions when the portal says so, ``current``
holds the signed-in person in the session, ``views`` are the four endpoints.
"""
