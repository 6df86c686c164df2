"""Identity proofing: personal data and documents checked by the registries, account levels."""
