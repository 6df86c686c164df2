"""Messages between the diary and the portal (shared/federation.py)."""
