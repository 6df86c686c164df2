"""The OpenAPI 3.1 document of ``/api/v1``, served at ``/api/v1/openapi.json``.

Written by hand next to ``api.services`` (which builds the values it describes): every
object schema lists all its properties and allows no others, so the tests can check
each answer against it and a field added on one side only fails them. Schemas are JSON
Schema 2020-12, as OpenAPI 3.1 has it (``null`` is a type).
"""

from __future__ import annotations

from typing import Any

from diary_service.access import SECTIONS
from diary_service.journal.models import ATTENDANCE_CODES, MARK_KINDS, MARK_VALUES, REMARK_KINDS
from diary_service.messages.models import THREAD_KINDS
from diary_service.school.models import NOTICE_KINDS, PERIOD_KINDS, TIMETABLE_CHANGE_KINDS
from diary_service.school.policy import AVERAGES

SECURITY_SCHEME = "portalAccessToken"

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    if "$ref" in schema:
        return {"oneOf": [schema, {"type": "null"}]}
    return {**schema, "type": [schema["type"], "null"]}


def listing(schema: Schema) -> Schema:
    return {"type": "array", "items": schema}


def obj(properties: dict[str, Schema], optional: tuple[str, ...] = (), **extra: Any) -> Schema:
    """An object with exactly these properties, all required but ``optional``."""
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
        **extra,
    }


STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
ID: Schema = {"type": "integer", "minimum": 1}
DATE: Schema = {"type": "string", "format": "date"}
CLOCK: Schema = {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"}
MOMENT: Schema = {"type": "string", "format": "date-time"}
DECIMAL: Schema = {
    "type": "string",
    "pattern": r"^[0-9]+\.[0-9]{2}$",
    "description": "A decimal with two places, rounded half up (as the pages show it).",
}
COUNTS: Schema = {
    "type": "object",
    "propertyNames": {"enum": list(ATTENDANCE_CODES)},
    "additionalProperties": {"type": "integer", "minimum": 1},
    "description": "How many lessons of each attendance code (codes never given are absent).",
}
THREAD_PROPERTIES: dict[str, Schema] = {
    "id": ID,
    "kind": {"enum": list(THREAD_KINDS)},
    "subject": {**STRING, "description": "Empty for the class parents' conversation."},
    "student_id": nullable(ID),
    "class": nullable(ref("SchoolClass")),
    "last_message_at": MOMENT,
}
FINAL_MARK = obj(
    {
        "value": STRING,
        "average": nullable(DECIMAL),
        "suggested": nullable(STRING),
        "policy_version": nullable(INTEGER),
        "period_id": nullable(ID),
    },
    description="A period (or, with period_id null, year) mark the teacher set, with the "
    "average and suggestion it was set against and the version of the school's policy "
    "that computed them.",
)

SCHEMAS: dict[str, Schema] = {
    "Error": obj(
        {"error": STRING, "error_description": STRING},
        optional=("error",),
        description="RFC 6749/6750-shaped error. `error` is absent only when the request "
        "carried no access token (RFC 6750 §3.1). The description is in the request's "
        "language (Accept-Language: ru or en).",
    ),
    "Section": {
        "enum": list(SECTIONS),
        "description": "Parts of a student's record; a parent sees all, the student "
        "themselves all but `remarks` (teachers' remarks to parents), a trusted person "
        "those the parent granted.",
    },
    "School": obj({"id": ID, "name": STRING, "short_name": STRING}),
    "SchoolClass": obj({"id": ID, "name": STRING, "grade": INTEGER, "letter": STRING}),
    "Subject": obj({"id": ID, "name": STRING, "short_name": STRING}),
    "Child": obj(
        {
            "id": ID,
            "family_name": STRING,
            "given_name": STRING,
            "middle_name": nullable(STRING),
            "is_self": {**BOOLEAN, "description": "The caller's own student record."},
            "is_trusted": {
                **BOOLEAN,
                "description": "The caller sees this child as a trusted person: a parent "
                "granted them `sections` on the portal, read-only.",
            },
            "trusted_until": {
                **nullable(DATE),
                "description": "The last day of a trusted person's access; null when it "
                "has no end, or the caller is not a trusted person of the child.",
            },
            "school": nullable(ref("School")),
            "class": nullable(ref("SchoolClass")),
            "sections": listing(ref("Section")),
        }
    ),
    "Children": obj({"children": listing(ref("Child"))}),
    "Attachment": obj({"id": ID, "filename": STRING, "content_type": STRING, "size": INTEGER}),
    "Homework": obj(
        {
            "id": ID,
            "subject": ref("Subject"),
            "set_on": DATE,
            "due_on": nullable(DATE),
            "text": STRING,
            "attachments": listing(ref("Attachment")),
        }
    ),
    "Mark": obj(
        {
            "id": ID,
            "date": DATE,
            "value": {"enum": list(MARK_VALUES)},
            "kind": {"enum": list(MARK_KINDS)},
            "weight": INTEGER,
            "comment": STRING,
            "corrected": {
                **BOOLEAN,
                "description": "This is a corrected version of an earlier mark.",
            },
        }
    ),
    "Lesson": obj(
        {
            "number": INTEGER,
            "starts_at": nullable(CLOCK),
            "ends_at": nullable(CLOCK),
            "subject": ref("Subject"),
            "teacher": {**STRING, "description": "Who gives it that day, «Смирнова О. В.»."},
            "regular_teacher": STRING,
            "room": STRING,
            "change": nullable({"type": "string", "enum": [*TIMETABLE_CHANGE_KINDS, None]}),
            "change_note": STRING,
            "cancelled": BOOLEAN,
            "topic": STRING,
            "homework": nullable(ref("Homework")),
            "marks": listing(ref("Mark")),
            "attendance": nullable({"type": "string", "enum": [*ATTENDANCE_CODES, None]}),
        },
        description="`marks`, `attendance` and `homework` stay empty when the caller may "
        "not see that section (see `Week.sections`).",
    ),
    "Notice": obj(
        {
            "id": ID,
            "kind": {"enum": list(NOTICE_KINDS)},
            "title": STRING,
            "body": STRING,
            "starts_on": DATE,
            "ends_on": nullable(DATE),
            "class": nullable(ref("SchoolClass")),
        }
    ),
    "Remark": obj(
        {
            "id": ID,
            "date": DATE,
            "kind": {"enum": list(REMARK_KINDS)},
            "text": STRING,
            "subject": nullable(ref("Subject")),
            "author": STRING,
        }
    ),
    "Day": obj(
        {
            "date": DATE,
            "class": nullable(ref("SchoolClass")),
            "holiday": nullable(STRING),
            "quarantine": BOOLEAN,
            "lessons": listing(ref("Lesson")),
            "due": {**listing(ref("Homework")), "description": "Homework due that day."},
        }
    ),
    "Week": obj(
        {
            "student_id": ID,
            "monday": DATE,
            "saturday": DATE,
            "previous": DATE,
            "next": DATE,
            "sections": listing(ref("Section")),
            "notices": listing(ref("Notice")),
            "days": listing(ref("Day")),
            "remarks": {
                **listing(ref("Remark")),
                "description": "Teachers' remarks to parents: present only for a guardian.",
            },
        },
        optional=("remarks",),
    ),
    "Year": obj(
        {
            "id": ID,
            "name": STRING,
            "starts_on": DATE,
            "ends_on": DATE,
            "period_kind": {"enum": list(PERIOD_KINDS)},
        }
    ),
    "Period": obj({"id": ID, "number": INTEGER, "starts_on": DATE, "ends_on": DATE}),
    "Policy": obj(
        {
            "version": nullable(INTEGER),
            "average": {"enum": list(AVERAGES)},
            "weights": {"type": "object", "additionalProperties": INTEGER},
            "thresholds": {"type": "object", "additionalProperties": DECIMAL},
        },
        description="The school's policy in force (version null: the region's defaults): "
        "weight per kind of work, how the average is taken and the lowest averages that "
        "suggest a 5, 4 and 3.",
    ),
    "Forecast": obj(
        {
            "target": STRING,
            "kind": {"enum": list(MARK_KINDS)},
            "count": INTEGER,
            "average": DECIMAL,
        },
        description="`count` more fives for `kind` would make the average `average` and "
        "the suggested mark `target`.",
    ),
    "FinalMark": FINAL_MARK,
    "SubjectMarks": obj(
        {
            "subject": ref("Subject"),
            "marks": listing(ref("Mark")),
            "average": nullable(DECIMAL),
            "suggested": nullable(STRING),
            "final": nullable(ref("FinalMark")),
            "forecast": listing(ref("Forecast")),
        }
    ),
    "FinalRow": obj(
        {
            "subject": ref("Subject"),
            "periods": listing(ref("FinalMark")),
            "year": nullable(ref("FinalMark")),
        }
    ),
    "Marks": obj(
        {
            "student_id": ID,
            "year": ref("Year"),
            "period": ref("Period"),
            "periods": listing(ref("Period")),
            "policy": ref("Policy"),
            "overall_average": nullable(DECIMAL),
            "subjects": listing(ref("SubjectMarks")),
            "finals": {
                **listing(ref("FinalRow")),
                "description": "The year's period and year marks, by subject.",
            },
        }
    ),
    "HomeworkList": obj(
        {"student_id": ID, "from": DATE, "to": DATE, "homework": listing(ref("Homework"))}
    ),
    "AttendanceEntry": obj(
        {
            "date": DATE,
            "lesson_number": INTEGER,
            "subject": ref("Subject"),
            "code": {"enum": list(ATTENDANCE_CODES)},
        }
    ),
    "Attendance": obj(
        {
            "student_id": ID,
            "year": ref("Year"),
            "period": ref("Period"),
            "total": COUNTS,
            "by_subject": listing(obj({"subject": ref("Subject"), "counts": COUNTS})),
            "entries": listing(ref("AttendanceEntry")),
        },
        description="Codes: н absent, б ill, у absent for a good reason, оп late.",
    ),
    "Thread": obj(THREAD_PROPERTIES),
    "ThreadRow": obj({**THREAD_PROPERTIES, "unread": BOOLEAN}),
    "Threads": obj({"threads": listing(ref("ThreadRow"))}),
    "Message": obj(
        {
            "id": ID,
            "author": STRING,
            "mine": BOOLEAN,
            "created_at": MOMENT,
            "hidden": BOOLEAN,
            "hidden_reason": STRING,
            "body": {
                **nullable(STRING),
                "description": "null for a message the class teacher hid (unless the "
                "caller moderates the conversation).",
            },
        }
    ),
    "ThreadPage": obj(
        {
            "thread": ref("Thread"),
            "participants": listing(STRING),
            "can_post": BOOLEAN,
            "read_until": {
                **nullable(MOMENT),
                "description": "Up to when the caller marked the thread read (null: "
                "never); later messages are new to them.",
            },
            "messages": listing(ref("Message")),
        }
    ),
    "ReadMark": obj({"thread_id": ID, "read_until": MOMENT}),
}


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
