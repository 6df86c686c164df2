"""Access codes and what every code shares: a school administrator or the class teacher
issues a one-time code per student and parent place (1 or 2); a signed-in parent enters
it (``family.redeem``) and becomes the student's guardian (source ``code``).

Codes are ``CODE_LENGTH`` characters of an alphabet without look-alikes (no 0/O, 1/I),
printed once on a slip and stored only as an HMAC-SHA256 under ``LINK_CODE_KEY``: a
stolen database gives no usable code."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import LazyString, force_locale
from flask_babel import lazy_gettext as _l

from diary_service.access import Viewer, class_of, enrolment_open_on
from diary_service.extensions import db
from diary_service.models.family import PARENT_SLOTS, AccessCode, Guardian
from diary_service.models.school import Enrolment, School, SchoolClass, StaffMember, Student
from shared.errors import NotFound, ValidationError
from shared.i18n import DEFAULT_LANGUAGE
from shared.sessions import utcnow

# 32 characters: Latin capitals and digits without 0, O, 1 and I, which read alike on
# paper. Ten of them are 50 bits: guessing one of a region's live codes at the entry
# form's rate limit would take far longer than any code lives.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
# Cyrillic capitals that look like Latin ones: a parent who copies the slip's letters
# by their look with the Russian keyboard layout on still gets the same code.
_LOOKALIKES = str.maketrans("АВЕКМНРСТХУ", "ABEKMHPCTXY")
# HMAC scopes: one key, separate purposes, so an access code's hash can never be taken
# for an invitation's.
ACCESS_CODE = "access-code"
STAFF_INVITATION = "staff-invitation"

DEFAULT_VALIDITY = timedelta(days=30)
MAX_VALIDITY = timedelta(days=365)

INVALID_CODE = _l(
    "The code is not valid. Check it against the slip or ask the school for a new one."
)


class InvalidCode(ValidationError):
    """The one answer to every code that cannot be used, whatever the reason."""

    default_message = INVALID_CODE


# --- codes ---------------------------------------------------------------------------


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str | None) -> str | None:
    """The code as issued, from what a person typed: any case, Cyrillic look-alikes,
    spaces and dashes allowed; None when it cannot be a code at all."""
    code = "".join((text or "").upper().translate(_LOOKALIKES).replace("-", "").split())
    if len(code) != CODE_LENGTH or any(char not in CODE_ALPHABET for char in code):
        return None
    return code


def format_code(code: str) -> str:
    """``ABCDE-FGHJK``: two groups of five, easier to read out and to type."""
    half = CODE_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


def code_hash(code: str, key: str, purpose: str) -> str:
    return hmac.new(key.encode(), f"{purpose}:{code}".encode(), hashlib.sha256).hexdigest()


def check_expiry(expires_on: date, today: date) -> None:
    if expires_on < today:
        raise ValidationError(_l("The expiry date has already passed."))
    if expires_on > today + MAX_VALIDITY:
        raise ValidationError(_l("A code may be valid for a year at most."))


def link_reason(message: LazyString) -> str:
    """A link's reason as the school's records keep it: in the region's language,
    whatever language the page that made the link was in."""
    with force_locale(DEFAULT_LANGUAGE):
        return str(message)[:300]


# --- access codes ------------------------------------------------------------------------


def get_school(school_id: int) -> School:
    school = db.session.get(School, school_id)
    if school is None:
        raise NotFound(_l("There is no such school."))
    return school


def get_staff(staff_id: int) -> StaffMember:
    member = db.session.get(StaffMember, staff_id)
    if member is None:
        raise NotFound(_l("There is no such staff member."))
    return member


def administered_schools(viewer: Viewer) -> list[School]:
    """The schools the viewer administers (whose staff they invite), by name."""
    if not viewer.school_admin_of:
        return []
    return list(
        db.session.execute(
            sa.select(School).where(School.id.in_(viewer.school_admin_of)).order_by(School.name)
        ).scalars()
    )


def issuing_classes(viewer: Viewer, today: date) -> list[SchoolClass]:
    """The classes the viewer hands out codes for: the ones they lead and every class of
    the schools they administer, of the academic years not yet over (in summer, the
    coming year's), by school and name."""
    condition = SchoolClass.id.in_(viewer.class_teacher_of)
    if viewer.school_admin_of:
        condition = condition | SchoolClass.school_id.in_(viewer.school_admin_of)
    classes = db.session.execute(sa.select(SchoolClass).where(condition)).scalars()
    return sorted(
        (c for c in classes if c.year.ends_on >= today),
        key=lambda c: (c.school.name, c.grade, c.letter),
    )


def students_in(school_class: SchoolClass, today: date) -> list[Student]:
    """The students enrolled in the class today, by name."""
    return list(
        db.session.execute(
            sa.select(Student)
            .join(Enrolment, Enrolment.student_id == Student.id)
            .where(
                Enrolment.class_id == school_class.id,
                enrolment_open_on(today),
            )
            .order_by(Student.family_name, Student.given_name, Student.id)
        ).scalars()
    )


@dataclass
class Place:
    """One parent place of a student: the guardian a code made its holder, or the code
    waiting for them."""

    slot: int
    holder: Guardian | None = None
    pending: AccessCode | None = None

    def expired(self, today: date) -> bool:
        return self.pending is not None and self.pending.expires_on < today


@dataclass
class StudentCodes:
    student: Student
    guardians: list[Guardian]
    places: list[Place]


def class_codes(school_class: SchoolClass, today: date) -> list[StudentCodes]:
    """For the code page of a class: each student enrolled today, their current guardian
    links and the state of their two parent places."""
    students = students_in(school_class, today)
    ids = [student.id for student in students]
    guardians: dict[int, list[Guardian]] = {}
    for link in db.session.execute(
        sa.select(Guardian)
        .where(Guardian.student_id.in_(ids), Guardian.revoked_at.is_(None))
        .order_by(Guardian.created_at, Guardian.id)
    ).scalars():
        guardians.setdefault(link.student_id, []).append(link)
    pending = {
        (code.student_id, code.slot): code
        for code in db.session.execute(
            sa.select(AccessCode)
            .where(
                AccessCode.student_id.in_(ids),
                AccessCode.used_at.is_(None),
                AccessCode.revoked_at.is_(None),
            )
            .order_by(AccessCode.created_at, AccessCode.id)
        ).scalars()
    }
    rows = []
    for student in students:
        links = guardians.get(student.id, [])
        places = [
            Place(
                slot=slot,
                holder=next((link for link in links if link.slot == slot), None),
                pending=pending.get((student.id, slot)),
            )
            for slot in PARENT_SLOTS
        ]
        rows.append(StudentCodes(student=student, guardians=links, places=places))
    return rows


@dataclass
class IssuedCode:
    """A code as the slip shows it, once: it is not kept anywhere in clear."""

    student: Student
    school_class: SchoolClass | None
    slot: int
    code: str  # formatted, ``ABCDE-FGHJK``
    expires_on: date


def _holder(student_id: int, slot: int) -> Guardian | None:
    return db.session.execute(
        sa.select(Guardian).where(
            Guardian.student_id == student_id,
            Guardian.slot == slot,
            Guardian.revoked_at.is_(None),
        )
    ).scalar_one_or_none()


def _revoke_pending(student_id: int, slot: int, now: datetime) -> None:
    db.session.execute(
        sa.update(AccessCode)
        .where(
            AccessCode.student_id == student_id,
            AccessCode.slot == slot,
            AccessCode.used_at.is_(None),
            AccessCode.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )


def _issue(
    student: Student,
    slot: int,
    expires_on: date,
    issued_by_id: int | None,
    key: str,
    now: datetime,
    today: date,
) -> IssuedCode:
    _revoke_pending(student.id, slot, now)
    code = new_code()
    db.session.add(
        AccessCode(
            student_id=student.id,
            slot=slot,
            code_hash=code_hash(code, key, ACCESS_CODE),
            issued_by_id=issued_by_id,
            created_at=now,
            expires_on=expires_on,
        )
    )
    return IssuedCode(
        student=student,
        school_class=class_of(student, today),
        slot=slot,
        code=format_code(code),
        expires_on=expires_on,
    )


def _check_slots(slots: Iterable[int]) -> list[int]:
    chosen = sorted(set(slots))
    if not chosen or any(slot not in PARENT_SLOTS for slot in chosen):
        raise ValidationError(_l("Choose the parent place: 1 or 2."))
    return chosen


def issue_code(
    student: Student,
    slot: int,
    expires_on: date,
    issued_by_id: int | None,
    key: str,
    today: date,
) -> IssuedCode:
    """A new code for one parent place of the student; the place's earlier code, if
    still unused, stops working. Refused while a parent holds the place."""
    _check_slots([slot])
    check_expiry(expires_on, today)
    if _holder(student.id, slot) is not None:
        raise ValidationError(
            _l(
                "Parent place %(slot)s of this student is taken. To give it to someone "
                "else, first end the current link on the student's page.",
                slot=slot,
            )
        )
    issued = _issue(student, slot, expires_on, issued_by_id, key, utcnow(), today)
    db.session.commit()
    return issued


@dataclass
class ClassIssue:
    codes: list[IssuedCode] = field(default_factory=list)
    skipped: int = 0  # places left out: taken, or the student already has a parent linked


def issue_class_codes(
    school_class: SchoolClass,
    slots: Iterable[int],
    expires_on: date,
    issued_by_id: int | None,
    key: str,
    today: date,
    only_unlinked: bool = True,
) -> ClassIssue:
    """Codes for the given parent places of every student enrolled in the class today,
    in one go (the slips for a parent meeting). Places a parent holds are left out, and
    with ``only_unlinked`` so are students who already have any guardian linked."""
    chosen = _check_slots(slots)
    check_expiry(expires_on, today)
    now = utcnow()
    result = ClassIssue()
    students = students_in(school_class, today)
    linked = set(
        db.session.execute(
            sa.select(Guardian.student_id).where(
                Guardian.student_id.in_([s.id for s in students]),
                Guardian.revoked_at.is_(None),
                Guardian.kind == "parent",  # a trusted person is no parent
            )
        ).scalars()
    )
    for student in students:
        for slot in chosen:
            if (only_unlinked and student.id in linked) or _holder(student.id, slot):
                result.skipped += 1
                continue
            result.codes.append(_issue(student, slot, expires_on, issued_by_id, key, now, today))
    db.session.commit()
    return result


def revoke_code(student: Student, slot: int) -> int:
    """Stop the student's unused code for a parent place (a lost slip); how many codes
    stopped (0 when there was none)."""
    _check_slots([slot])
    stopped = db.session.execute(
        sa.update(AccessCode)
        .where(
            AccessCode.student_id == student.id,
            AccessCode.slot == slot,
            AccessCode.used_at.is_(None),
            AccessCode.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    ).rowcount
    db.session.commit()
    return stopped
