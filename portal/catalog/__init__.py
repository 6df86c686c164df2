"""The service catalog and the citizen's service applications."""
