"""The JSON Schemas of the API's answers (OpenAPI 3.1 components), one per resource, and
the small builders they are written with; api/openapi.py makes the document of them."""

from __future__ import annotations

from typing import Any

from diary_service.access import SECTIONS
from diary_service.models.journal import ATTENDANCE_CODES, MARK_KINDS, MARK_VALUES, REMARK_KINDS
from diary_service.models.messages import THREAD_KINDS
from diary_service.models.school import NOTICE_KINDS, PERIOD_KINDS, TIMETABLE_CHANGE_KINDS
from diary_service.school.policy import AVERAGES

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
