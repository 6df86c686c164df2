"""Logs as JSON lines on standard error, one object per record, with a safety net that
masks personal data and secrets.

A line: ``{"ts", "level", "logger", "app", "request_id", "job", "message", ...}`` plus
the record's ``fields`` (``logger.info("...", extra={"fields": {...}})``), and
``error`` with the traceback when there is one. ``request_id`` and ``job`` come from
``shared.tracing``'s context, so every line written while serving a request or running a
job names it.

The code never logs SNILS, passport or birth-certificate numbers, one-time codes,
passwords or tokens on purpose; ``redact`` is the net under that rule, applied to every
message, field and traceback this formatter writes: JWTs, bearer/basic credentials,
``key=value`` secrets (``password``, ``code``, ``token``…), SNILS-like and passport-like
numbers, birth-certificate numbers, runs of 10–12 digits (an unformatted SNILS or
passport, a phone number) and 6-digit codes written near the word code/код. It masks
more than it must (a ten-digit timestamp in a message becomes ``[number]``), never less.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

from shared import tracing

HANDLER_NAME = "gosdiary-json"

_RULES: list[tuple[re.Pattern[str], str]] = [
    # A JWT (an ID, access, logout token or a federation message): three base64url parts.
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), "[jwt]"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[\w.~+/=-]{6,}"), r"\1 [token]"),
    # key=value or "key": "value" where the key names a secret (a query string, a dict).
    (
        re.compile(
            r"(?i)\b(access_token|refresh_token|id_token|logout_token|token|code|code_verifier"
            r"|client_secret|secret|password|passwd|пароль|otp)"
            r"(\"?\s*[:=]\s*\"?)[^\s\"'&,;)}]+"
        ),
        r"\1\2[redacted]",
    ),
    # A 6-digit code written after the word code/код/otp/pin (an SMS text, a message).
    (
        re.compile(r"(?i)\b(code|код\w*|otp|pin)([^\n]{0,40}?)(?<![\d.])\d{3}[ -]?\d{3}(?![\d.])"),
        r"\1\2[code]",
    ),
    # ... or before it: "482913 is your code", "482913 — ваш код".
    (
        re.compile(r"(?i)(?<![\d.])\d{3}[ -]?\d{3}(?![\d.])([^\n]{0,40}?\b(?:code|код|otp|pin))"),
        r"[code]\1",
    ),
    # SNILS as people write it: 112-233-445 95.
    (re.compile(r"(?<!\d)\d{3}-\d{3}-\d{3}[ -]\d{2}(?!\d)"), "[snils]"),
    # Passport series and number: 45 06 123456, 4506 123456, 4506 №123456.
    (re.compile(r"(?<!\d)\d{2} ?\d{2} ?№? ?\d{6}(?!\d)"), "[passport]"),
    # Birth certificate: IV-МЮ 123456.
    (re.compile(r"\b[IVXLC]{1,6}-?[А-ЯЁ]{2} ?№? ?\d{6}(?!\d)"), "[birth-certificate]"),
    # Bare runs of 10–12 digits: an unformatted SNILS or passport, a phone number.
    (re.compile(r"(?<!\d)\d{10,12}(?!\d)"), "[number]"),
]
_DIGIT = re.compile(r"\d")
_SECRET_WORDS = re.compile(r"(?i)eyJ|bearer|basic|token|code|код|secret|passw|пароль|otp|pin")


def redact(text: str) -> str:
    """``text`` with personal data and secrets masked (see the module's docstring)."""
    # Most lines carry neither digits nor a secret's name: skip the rules for them.
    if not _DIGIT.search(text) and not _SECRET_WORDS.search(text):
        return text
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module's docstring)."""

    default_app: str | None = None

    def format(self, record: logging.LogRecord) -> str:
        context = tracing.current()
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "app": (context.app if context is not None else None) or self.default_app,
        }
        if context is not None:
            if context.request_id:
                entry["request_id"] = context.request_id
            if context.job:
                entry["job"] = context.job
        # ``trusted``: a record the apps compose only of their own values (the request
        # line), which the rules would only slow down.
        clean = (lambda value: value) if getattr(record, "trusted", False) else _redact_value
        entry["message"] = clean(record.getMessage())
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                entry.setdefault(key, clean(value))
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def json_handler() -> logging.Handler | None:
    return next((h for h in logging.getLogger().handlers if h.name == HANDLER_NAME), None)


def configure_logging(app_name: str, logger_names: list[str], level: str = "INFO") -> None:
    """JSON lines on standard error for the whole process (one handler on the root logger,
    added once), ``level`` for the app's own loggers; libraries stay at WARNING. The
    development server's access lines are turned off: the apps write their own
    (``shared.observability``), without query strings."""
    handler = json_handler()
    if handler is None:
        # Standard error as it is now: a command's own output (stdout) stays apart from
        # its log lines even where a test runner swaps the streams later.
        handler = logging.StreamHandler(sys.stderr)
        handler.name = HANDLER_NAME
        handler.setFormatter(JsonFormatter())
        logging.getLogger().addHandler(handler)
    JsonFormatter.default_app = app_name
    for name in logger_names:
        logging.getLogger(name).setLevel(level)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
