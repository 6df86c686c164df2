"""The simulated government registries: СФР (SNILS), МВД (passports), ЗАГС (birth
certificates and parent–child relations) and Почта России (registered letters).

``api`` takes the portal's signed requests and serves the JSON API, ``dispatcher`` sends
the signed answers back, ``views`` is the tester console, ``population`` the reference
people the ``auto`` rule checks against.
"""
