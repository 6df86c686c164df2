"""The portal's rooms in layers, lowest first; a room imports only its own layer and
lower ones, and no rooms or modules import each other in a cycle:

    extensions → metrics · signals · regions → models (every room's tables)
    → simulator (a separate app: only its own tables) → identity → proofing → family
    → oidc → federation → catalog → admin · operator · demo · keys
    → worker (starts the app: the one room that imports the factory).

A lower room that must tell a higher one something happened sends a signal
(portal/signals.py). No module is longer than 500 lines.
"""

from tests.layers import oversized, problems

LAYERS = [
    {"extensions"},
    {"metrics", "signals", "regions"},
    {"models"},
    {"simulator"},
    {"identity"},
    {"proofing"},
    {"family"},
    {"oidc"},
    {"federation"},
    {"catalog"},
    {"admin", "operator", "demo", "keys"},
    {"worker"},
]
ENTRY_POINTS = ["worker"]


def test_the_portal_keeps_its_layers_without_cycles():
    assert problems("portal", LAYERS, tables=True, entry_points=ENTRY_POINTS) == []


def test_no_portal_module_is_longer_than_500_lines():
    assert oversized("portal", limit=500) == []
