"""What happened in a lower room, for a higher one that listens (the rooms' layers are
stated in tests/portal/test_layers.py: a lower room never imports a higher one).

Senders call ``signal.send(current_app._get_current_object(), **fields)`` after their
transaction commits; receivers connect with ``sender=app`` in ``create_app`` and must
not fail the sender. The fields each signal carries are listed with it.
"""

from blinker import Namespace

_signals = Namespace()

#: A trusted person's access that had reached the diaries ended (revoked by the parent,
#: given up, or the child's link removed). Fields: ``grant`` (the ``TrustedGrant``).
trusted_access_ended = _signals.signal("trusted-access-ended")
