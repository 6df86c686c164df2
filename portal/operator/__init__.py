"""The service-centre operator's console: confirm a citizen's identity in person."""
