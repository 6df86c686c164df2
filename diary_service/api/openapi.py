"""The OpenAPI 3.1 document of ``/api/v1``, served at ``/api/v1/openapi.json``.

Written by hand next to ``api.services`` (which builds the values it describes): every
object schema lists all its properties and allows no others, so the tests can check
each answer against it and a field added on one side only fails them. Schemas are JSON
Schema 2020-12, as OpenAPI 3.1 has it (``null`` is a type).
"""

from __future__ import annotations

from typing import Any

from diary_service.api.schemas import DATE, ID, SCHEMAS, STRING, Schema, ref

SECURITY_SCHEME = "portalAccessToken"


def _error(description: str, challenge: bool = False) -> Schema:
    response: Schema = {
        "description": description,
        "content": {"application/json": {"schema": ref("Error")}},
    }
    if challenge:
        response["headers"] = {"WWW-Authenticate": {"$ref": "#/components/headers/WWWAuthenticate"}}
    return response


RESPONSES: dict[str, Schema] = {
    "BadRequest": _error(
        "`invalid_request`: a parameter is not valid, or the access token was sent in the "
        "query string (send it in the Authorization header).",
        challenge=True,
    ),
    "Unauthorized": _error(
        "No access token (no `error`), or one that is not valid, expired or issued for "
        "another client (`invalid_token`).",
        challenge=True,
    ),
    "Forbidden": _error(
        "`access_denied`: the caller may not see this, or has never signed in to the "
        "diary on its website (the API knows only people who did); `insufficient_scope` "
        "(with a challenge): the token lacks the `openid` scope.",
        challenge=True,
    ),
    "NotFound": _error("There is no such student, period or thread (`not_found`)."),
    "Unavailable": _error(
        "The portal's signing keys could not be fetched (`temporarily_unavailable`)."
    ),
}

PARAMETERS: dict[str, Schema] = {
    "StudentId": {
        "name": "student_id",
        "in": "path",
        "required": True,
        "description": "A student's id, from `/children`.",
        "schema": ID,
    },
    "ThreadId": {"name": "thread_id", "in": "path", "required": True, "schema": ID},
    "Period": {
        "name": "period",
        "in": "query",
        "required": False,
        "description": "A period id of the student's years (`Marks.periods`); the current "
        "period by default.",
        "schema": ID,
    },
}


def _query_date(name: str, description: str) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": DATE,
    }


def _operation(
    operation_id: str,
    summary: str,
    description: str,
    schema: str,
    parameters: list[Schema],
    errors: tuple[str, ...] = ("404",),
    method: str = "get",
) -> dict[str, Any]:
    """An operation (a GET unless ``method`` says otherwise) answering ``schema``;
    besides ``errors``, every one may answer 400 (a bad parameter, a token in the query
    string), 401 (the token), 403 (access, scope, or someone the diary does not know)
    and 503 (the portal's keys out of reach)."""
    names = {"404": "NotFound"}
    responses: dict[str, Any] = {
        "200": {"description": "OK", "content": {"application/json": {"schema": ref(schema)}}},
        "400": {"$ref": "#/components/responses/BadRequest"},
        "401": {"$ref": "#/components/responses/Unauthorized"},
        "403": {"$ref": "#/components/responses/Forbidden"},
        "503": {"$ref": "#/components/responses/Unavailable"},
    }
    for status in errors:
        responses[status] = {"$ref": f"#/components/responses/{names[status]}"}
    return {
        method: {
            "operationId": operation_id,
            "summary": summary,
            "description": description,
            "parameters": parameters,
            "responses": dict(sorted(responses.items())),
        }
    }


STUDENT = {"$ref": "#/components/parameters/StudentId"}
PERIOD = {"$ref": "#/components/parameters/Period"}

PATHS: dict[str, Any] = {
    "/children": _operation(
        "listChildren",
        "The caller's children and own student record",
        "Students the caller is a guardian of, and their own record if they are a "
        "student, with the class they are in today and the sections the caller sees. "
        "Empty for anyone else (staff included).",
        "Children",
        [],
        errors=(),
    ),
    "/children/{student_id}/week": _operation(
        "getWeek",
        "A week of the diary",
        "Monday to Saturday of the week containing `date`: lessons with times, changes, "
        "topics, homework, marks and attendance; homework due each day; the school's "
        "notices; remarks to parents (guardians only). Needs the `schedule` section.",
        "Week",
        [STUDENT, _query_date("date", "Any day of the week; today by default.")],
        errors=("404",),
    ),
    "/children/{student_id}/marks": _operation(
        "getMarks",
        "Marks of a period",
        "Per subject: the marks, their average under the school's policy, the suggested "
        "and the set period mark (with the policy version it was computed under) and the "
        "forecast; the year's final marks. Needs the `marks` section.",
        "Marks",
        [STUDENT, PERIOD],
        errors=("404",),
    ),
    "/children/{student_id}/homework": _operation(
        "listHomework",
        "Homework due in a range of days",
        "Homework due from `from` to `to` inclusive (one without a due date counts on the "
        "day it was set), at most 62 days at a time. Needs the `homework` section.",
        "HomeworkList",
        [
            STUDENT,
            _query_date("from", "The first day; today by default."),
            _query_date("to", "The last day; 13 days after `from` by default."),
        ],
        errors=("404",),
    ),
    "/children/{student_id}/attendance": _operation(
        "getAttendance",
        "Absences and latenesses of a period",
        "Counts by code and by subject, and every entry. Needs the `attendance` section.",
        "Attendance",
        [STUDENT, PERIOD],
        errors=("404",),
    ),
    "/messages": _operation(
        "listThreads",
        "The caller's message threads",
        "Direct threads they take part in and the class-wide threads of their children's "
        "classes (or the classes they lead), newest first, each with an unread flag.",
        "Threads",
        [],
        errors=(),
    ),
    "/messages/{thread_id}": _operation(
        "getThread",
        "A thread's messages",
        "The messages in order, and up to when the caller has read the thread. Reading "
        "changes nothing: mark the thread read with the POST of `/messages/{thread_id}/read`.",
        "ThreadPage",
        [{"$ref": "#/components/parameters/ThreadId"}],
    ),
    "/messages/{thread_id}/read": _operation(
        "markThreadRead",
        "Mark a thread read",
        "Up to the message `seen` (the last one the client showed; by default the "
        "thread's last message): later messages stay new. A mark never moves back.",
        "ReadMark",
        [
            {"$ref": "#/components/parameters/ThreadId"},
            {
                "name": "seen",
                "in": "query",
                "required": False,
                "description": "The id of the last message the caller has seen.",
                "schema": ID,
            },
        ],
        method="post",
    ),
    "/openapi.json": {
        "get": {
            "operationId": "getOpenAPI",
            "summary": "This document",
            "security": [],
            "responses": {
                "200": {
                    "description": "The OpenAPI document",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    },
}


def document(public_url: str) -> dict[str, Any]:
    """The whole document, for a diary served at ``public_url``."""
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "Regional school diary: API for mobile clients",
            "version": "1.0.0",
            "description": "What the diary's pages show a family, as JSON. Authenticate "
            "with the portal's access token (an RFC 9068 JWT issued to this diary's client "
            "id, with the `openid` scope) as `Authorization: Bearer <token>`. The person "
            "must have signed in to the diary on its website once. Access rules are the "
            "pages' own: a guardian sees their children, a student their own record "
            "without the remarks to parents, staff what their role lets them see.",
        },
        "servers": [{"url": public_url.rstrip("/") + "/api/v1"}],
        "security": [{SECURITY_SCHEME: []}],
        "paths": PATHS,
        "components": {
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "The portal's access token (RFC 9068: `typ` at+jwt, "
                    "`aud` this diary's client id, scope `openid`), checked locally "
                    "against the portal's published keys.",
                }
            },
            "headers": {
                "WWWAuthenticate": {
                    "description": 'RFC 6750 §3 challenge, e.g. `Bearer realm="diary", '
                    'error="invalid_token", error_description="The access token expired"`.',
                    "schema": STRING,
                }
            },
            "parameters": PARAMETERS,
            "responses": RESPONSES,
            "schemas": SCHEMAS,
        },
    }
