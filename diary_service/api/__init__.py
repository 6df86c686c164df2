"""The JSON API for mobile clients (``/api/v1``): the family's diary and messages,
authenticated by the portal's access tokens (``tokens``), described by an OpenAPI
document (``openapi``)."""
