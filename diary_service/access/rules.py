"""The rules: may this viewer read or write this journal, class, school, message or
code? Each is a predicate ``can_*(viewer, ...)``; views ``require`` its answer."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

import diary_service.clock as clock
from diary_service.access.reach import reach_of
from diary_service.access.viewer import (
    Viewer,
    class_of,
    enrolment_open_on,
)
from diary_service.extensions import db
from diary_service.models.answers import AnswerRequest
from diary_service.models.family import Guardian
from diary_service.models.journal import FinalMark, HomeworkAttachment, Lesson
from diary_service.models.messages import CLASS_KINDS, Thread, ThreadParticipant
from diary_service.models.school import (
    Enrolment,
    SchoolClass,
    Student,
    TimetableChange,
    TimetableEntry,
)

# --- a student's record: what ties the viewer to it ---------------------------------------


# --- the journal ---------------------------------------------------------------------------


def can_view_journal(viewer: Viewer, school_class: SchoolClass, subject_id: int) -> bool:
    """The journal grid of a class and subject: its teachers, the class teacher and the
    school's administrators read it; the health worker reads attendance only (checked
    with ``can_view_attendance``)."""
    return (
        (school_class.id, subject_id) in viewer.teaches
        or school_class.id in viewer.class_teacher_of
        or school_class.school_id in viewer.school_admin_of
        or _substitutes_in(viewer, school_class.id, subject_id)
    )


def can_write_journal(
    viewer: Viewer, school_class: SchoolClass, subject_id: int, on: date, lesson_number: int
) -> bool:
    """Writing a lesson (topic, homework, marks, attendance): only the teacher of that
    class and subject, or the substitute named for that very lesson."""
    if (school_class.id, subject_id) in viewer.teaches:
        return True
    if not viewer.staff_ids:
        return False
    return (
        db.session.execute(
            sa.select(TimetableChange.id).where(
                TimetableChange.class_id == school_class.id,
                TimetableChange.on_date == on,
                TimetableChange.lesson_number == lesson_number,
                TimetableChange.kind == "substitution",
                TimetableChange.substitute_id.in_(viewer.staff_ids),
            )
        ).first()
        is not None
    )


def _substitutes_in(viewer: Viewer, class_id: int, subject_id: int) -> bool:
    """Has the viewer a substitution for a lesson of this subject in this class? Then
    they may read its journal to fill in the lesson they give (and only that subject's:
    a substitution in maths opens nothing of Russian)."""
    if not viewer.staff_ids:
        return False
    substituted = db.session.execute(
        sa.select(TimetableChange.on_date, TimetableChange.lesson_number).where(
            TimetableChange.class_id == class_id,
            TimetableChange.kind == "substitution",
            TimetableChange.substitute_id.in_(viewer.staff_ids),
        )
    ).all()
    if not substituted:
        return False
    slots_of_subject = set(
        db.session.execute(
            sa.select(TimetableEntry.weekday, TimetableEntry.lesson_number).where(
                TimetableEntry.class_id == class_id, TimetableEntry.subject_id == subject_id
            )
        ).all()
    )
    return any((day.isoweekday(), number) in slots_of_subject for day, number in substituted)


def can_view_attendance(viewer: Viewer, school_class: SchoolClass) -> bool:
    return (
        school_class.school_id in viewer.health_worker_of
        or school_class.school_id in viewer.school_admin_of
        or school_class.id in viewer.class_teacher_of
        or any(class_id == school_class.id for class_id, _ in viewer.teaches)
    )


def can_set_final_marks(viewer: Viewer, school_class: SchoolClass, subject_id: int) -> bool:
    """Period and year marks: the subject's teachers of the class, and the school's
    administrators (substitutes give lessons, not final marks)."""
    return (school_class.id, subject_id) in viewer.teaches or (
        school_class.school_id in viewer.school_admin_of
    )


def can_view_lesson_record(viewer: Viewer, lesson: Lesson, student: Student, section: str) -> bool:
    """The history of a mark (``section`` "marks") or attendance ("attendance") at a
    lesson: the staff who read that class's journal of the subject (attendance: also
    those who see the class's attendance, the health worker among them): the record is
    of their class's lesson; and the student's family, who see the whole record."""
    if can_view_journal(viewer, lesson.school_class, lesson.subject_id):
        return True
    if section == "attendance" and can_view_attendance(viewer, lesson.school_class):
        return True
    return section in reach_of(viewer, student).whole


def can_view_final_mark(viewer: Viewer, final: FinalMark) -> bool:
    """A final mark's history: the family, and staff reading the subject's journal of a
    class the student was in during the final's period (a year mark: that year)."""
    if "marks" in reach_of(viewer, final.student).whole:
        return True
    period = final.period
    enrolments = db.session.execute(
        sa.select(Enrolment)
        .join(SchoolClass, SchoolClass.id == Enrolment.class_id)
        .where(Enrolment.student_id == final.student_id, SchoolClass.year_id == final.year_id)
    ).scalars()
    return any(
        can_view_journal(viewer, enrolment.school_class, final.subject_id)
        and (
            period is None
            or (
                enrolment.starts_on <= period.ends_on
                and (enrolment.ends_on is None or enrolment.ends_on > period.starts_on)
            )
        )
        for enrolment in enrolments
    )


def can_download_attachment(viewer: Viewer, attachment: HomeworkAttachment) -> bool:
    """Anyone who may see that class's homework: the staff reading its journal of the
    subject, and the family of a student enrolled in the class on the lesson's day."""
    lesson = attachment.homework.lesson
    if can_view_journal(viewer, lesson.school_class, lesson.subject_id):
        return True
    family = viewer.family_ids
    if not family:
        return False
    enrolled = db.session.execute(
        sa.select(Student)
        .join(Enrolment, Enrolment.student_id == Student.id)
        .where(
            Enrolment.class_id == lesson.class_id,
            Enrolment.student_id.in_(family),
            enrolment_open_on(lesson.on_date),
        )
    ).scalars()
    return any("homework" in reach_of(viewer, student).whole for student in enrolled)


# --- classes and schools -------------------------------------------------------------------


def can_lead_class(viewer: Viewer, school_class: SchoolClass) -> bool:
    """Class-teacher work: the class's parents, announcements, meetings, moderation,
    acknowledgements, final marks overview. The school's administrators may do it too."""
    return (
        school_class.id in viewer.class_teacher_of
        or school_class.school_id in viewer.school_admin_of
    )


def can_manage_school(viewer: Viewer, school_id: int) -> bool:
    """School administration: roster, staff, classes, timetable, links, policy."""
    return school_id in viewer.school_admin_of


def can_view_class_reports(viewer: Viewer, school_class: SchoolClass) -> bool:
    return can_lead_class(viewer, school_class) or any(
        class_id == school_class.id for class_id, _ in viewer.teaches
    )


def can_view_school_reports(viewer: Viewer, school_id: int) -> bool:
    return school_id in viewer.school_admin_of or viewer.department


def can_view_region(viewer: Viewer) -> bool:
    """The department's dashboard across the region's schools."""
    return viewer.department


def can_view_school_attendance(viewer: Viewer, school_id: int) -> bool:
    """The school's absences by date: its health workers and administrators."""
    return school_id in viewer.health_worker_of or school_id in viewer.school_admin_of


# --- the family's own rights ----------------------------------------------------------------


def can_acknowledge(viewer: Viewer, student: Student) -> bool:
    """Only a parent acknowledges a week: not a trusted person, not the student, not
    the staff."""
    return viewer.person is not None and student.id in viewer.guardian_of


def parent_links(viewer: Viewer, student_ids: list[int]) -> set[int]:
    """Of these students, those the viewer is a parent (not a trusted person) of, by a
    live link read now. Parents read the access log and are the ones whose own views
    are not logged."""
    ids = [sid for sid in student_ids if sid in viewer.guardian_of]
    if not ids or viewer.person is None:
        return set()
    return set(
        db.session.execute(
            sa.select(Guardian.student_id).where(
                Guardian.person_id == viewer.person.id,
                Guardian.student_id.in_(ids),
                Guardian.kind == "parent",
                Guardian.revoked_at.is_(None),
            )
        ).scalars()
    )


def can_read_access_log(viewer: Viewer, student_id: int) -> bool:
    return student_id in parent_links(viewer, [student_id])


# --- messages (who writes to whom now) ----------------------------------------------------


def message_family_ids(viewer: Viewer) -> set[int]:
    """The students the viewer writes and reads direct messages about as family: their
    children as a parent, their own record, and a trusted person's children whose
    grant includes messages."""
    trusted = {sid for sid, sections in viewer.trusted_sections.items() if "messages" in sections}
    return viewer.guardian_of | viewer.own_student_ids | trusted


def children_in_class(viewer: Viewer, class_id: int, on: date | None = None) -> list[int]:
    """The viewer's children (as a guardian) enrolled in the class today."""
    if not viewer.guardian_of:
        return []
    return list(
        db.session.execute(
            sa.select(Enrolment.student_id).where(
                Enrolment.class_id == class_id,
                Enrolment.student_id.in_(viewer.guardian_of),
                enrolment_open_on(on or clock.today()),
            )
        ).scalars()
    )


def can_message_guardians_of(viewer: Viewer, student: Student) -> bool:
    """Staff write to the guardians of the students of the classes they teach or lead
    now, or of any student of a school they administer now: a student who has moved
    away is no longer theirs to write about."""
    if not viewer.is_staff:
        return False
    if student.school_id in viewer.school_admin_of:
        return True
    school_class = class_of(student)
    if school_class is None:
        return False
    return school_class.id in viewer.class_teacher_of or any(
        class_id == school_class.id for class_id, _subject in viewer.teaches
    )


def can_read_class_threads(viewer: Viewer, school_class: SchoolClass) -> bool:
    """The class's announcements and parents' conversation: the guardians of its
    students now, the class teacher and the school's administrators. A student's own
    account never."""
    if viewer.person is None:
        return False
    return can_lead_class(viewer, school_class) or bool(children_in_class(viewer, school_class.id))


# --- access codes ---------------------------------------------------------------------------


def can_issue_codes(viewer: Viewer, student: Student, today: date) -> bool:
    """Codes for a student: the administrators of their school now and the class
    teacher of the class they are in now."""
    if student.school_id is not None and can_manage_school(viewer, student.school_id):
        return True
    school_class = class_of(student, today)
    return school_class is not None and school_class.id in viewer.class_teacher_of


# --- threads -----------------------------------------------------------------------------


def thread_participant(thread_id: int, person_id: int) -> ThreadParticipant | None:
    return db.session.execute(
        sa.select(ThreadParticipant).where(
            ThreadParticipant.thread_id == thread_id, ThreadParticipant.person_id == person_id
        )
    ).scalar_one_or_none()


def can_read_thread(viewer: Viewer, thread: Thread) -> bool:
    if viewer.person is None:
        return False
    if thread.kind in CLASS_KINDS:
        return thread.school_class is not None and can_read_class_threads(
            viewer, thread.school_class
        )
    if not thread_participant(thread.id, viewer.person.id):
        return False
    # A guardian whose link was revoked (or a student who is no longer theirs, or a
    # trusted person whose grant no longer gives messages) loses the correspondence
    # about that child; staff keep what they wrote.
    if viewer.is_staff or thread.student_id is None:
        return True
    return thread.student_id in message_family_ids(viewer)


def can_post(viewer: Viewer, thread: Thread) -> bool:
    """Replies: anyone who reads a direct thread; only the class teacher (or the school's
    administrators) in an announcement, whose readers answer privately; only the
    class's guardians in the parents' conversation, which the class teacher moderates."""
    if not can_read_thread(viewer, thread):
        return False
    if thread.kind == "announcement":
        return can_lead_class(viewer, thread.school_class)
    if thread.kind == "class_parents":
        return bool(children_in_class(viewer, thread.class_id))
    return True


def can_moderate(viewer: Viewer, thread: Thread) -> bool:
    return (
        thread.kind == "class_parents"
        and thread.school_class is not None
        and can_lead_class(viewer, thread.school_class)
    )


# --- signed answers ------------------------------------------------------------------------


def can_view_request(viewer: Viewer, request: AnswerRequest, today: date) -> bool:
    """A request for signed answers: the parents of the class's students today and
    whoever leads the class."""
    return bool(children_in_class(viewer, request.class_id, today)) or can_lead_class(
        viewer, request.school_class
    )
