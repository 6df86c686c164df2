"""Messages between the portal and the regional diaries (shared/federation.py)."""
