"""Domain errors and the one place that turns errors into responses.

Services raise ``DomainError`` subclasses; views let them through or catch them to
re-render a form. The handlers answer HTML pages for people and RFC 6749-shaped JSON
(``error``, ``error_description``) for API and OAuth endpoints.
"""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext, lazy_gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

JSON_PREFIXES = (
    "/api/",
    "/oauth/",
    "/oidc/",
    "/.well-known/",
    "/healthz",
    "/readyz",
    "/registry-callbacks",
    "/federation/",
)


class DomainError(Exception):
    """A rule refused the request. ``message`` is safe to show to the user."""

    status = 400
    code = "invalid_request"
    default_message = lazy_gettext("The request cannot be completed.")

    def __init__(self, message: str | None = None, **params: object) -> None:
        self.params = params
        self._message = message
        super().__init__(self.code)

    @property
    def message(self) -> str:
        text = str(self._message if self._message is not None else self.default_message)
        return text % self.params if self.params else text


class ValidationError(DomainError):
    code = "invalid_request"
    default_message = lazy_gettext("Check the data you entered.")


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message = lazy_gettext("Not found.")


class Forbidden(DomainError):
    status = 403
    code = "access_denied"
    default_message = lazy_gettext("You have no access to this.")


class Throttled(DomainError):
    status = 429
    code = "slow_down"
    default_message = lazy_gettext("Too many attempts. Try again later.")


ERROR_TITLES = {
    400: lazy_gettext("Bad request"),
    401: lazy_gettext("Authorization required"),
    403: lazy_gettext("Access denied"),
    404: lazy_gettext("Page not found"),
    405: lazy_gettext("Method not allowed"),
    413: lazy_gettext("The request is too large"),
    429: lazy_gettext("Too many requests"),
    500: lazy_gettext("Something went wrong"),
}
ERROR_TEXTS = {
    400: lazy_gettext("The request could not be understood. Go back and try again."),
    401: lazy_gettext("This page is open only to those who give their credentials."),
    403: lazy_gettext("You do not have access to this page."),
    404: lazy_gettext("There is no such page. Check the address or start from the home page."),
    405: lazy_gettext("This address does not accept that kind of request."),
    413: lazy_gettext("The data sent is larger than allowed."),
    429: lazy_gettext("Too many requests in a short time. Wait a minute and try again."),
    500: lazy_gettext("An unexpected error happened on our side. We are already looking into it."),
}
OAUTH_CODES = {
    400: "invalid_request",
    401: "invalid_token",
    403: "access_denied",
    404: "not_found",
    405: "invalid_request",
    413: "invalid_request",
    429: "slow_down",
    500: "server_error",
}


def wants_json() -> bool:
    if request.path.startswith(JSON_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def error_response(status: int, description: str | None = None, code: str | None = None):
    description = description or str(ERROR_TEXTS.get(status, ERROR_TEXTS[500]))
    if wants_json():
        body = {
            "error": code or OAUTH_CODES.get(status, "invalid_request"),
            "error_description": description,
        }
        return jsonify(body), status
    title = ERROR_TITLES.get(status, ERROR_TITLES[500])
    return render_template(
        "errors/error.html", status=status, title=title, text=description
    ), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def handle_domain_error(error: DomainError):
        return error_response(error.status, error.message, error.code)

    @app.errorhandler(CSRFError)
    def handle_csrf(error: CSRFError):
        return error_response(
            400,
            gettext(
                "The form has expired or was sent from another site. Reload the page and try again."
            ),
        )

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException):
        status = error.code or 500
        return error_response(status if status in ERROR_TITLES else 500 if status >= 500 else 400)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500)
