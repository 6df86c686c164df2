"""Who may see and change what in the diary: the one place the access rules live.

A ``Viewer`` is what a signed-in person is here, read once per request: their staff
records and roles, the classes they teach or lead, the students they are a guardian of
and their own student record. Every view that reads or writes a student, a class's
journal or a school's data asks one of the ``can_*`` predicates below, or calls
``require`` with its answer; pages 404 for objects that do not exist and 403 for those
that exist but are not the viewer's.

The scopes (issue 5, "Access"):

- teacher: the journal of the classes and subjects they teach (or substitute in);
- class teacher: everything about their own class and its students;
- school administrator: everything in their school;
- health worker: attendance and illness of their school's students, nothing else;
- department: aggregates across the region's schools, never one student's record;
- parent (guardian): their linked children;
- trusted person (issue 6): the sections of one child's record a parent granted them on
  the portal, from the moment the grant opens to its last day, read-only: never what
  belongs to the parents as legal representatives (acknowledging a week, signed
  answers, the access log, codes), and messages only when granted;
- student: themselves (not the remarks addressed to their parents, not parents' threads).

What ties a viewer to a record *today* (issue 11): the family (parents, the student,
trusted persons with an open grant) follows the child everywhere, across schools and
years: their ``Reach`` is the ``whole`` record. Staff see a student only through the
enrolments that tie the student to them (``Span``): an enrolment in a class they lead or
teach, or at a school they administer or are the health worker of, and of the record
only the lessons and records of that enrolment's class and dates. Once a student
moves, the old school keeps the history of the time the student was theirs and nothing
after; the new school sees from the admission on, not the old school's journal (what
it receives is the record card: the enrolment history). A teacher of last year's
class sees last year. Class pages (the journal, class reports) are the class's own
lessons; actions on a student now (codes, writing to the parents, moving them) need
today's enrolment.
"""

from __future__ import annotations

from diary_service.access.log import DEDUP_WINDOW, record_access
from diary_service.access.reach import (
    ROLE_ORDER,
    Reach,
    Span,
    can_view_student,
    class_shown,
    reach_of,
    roles_toward,
)
from diary_service.access.rules import (
    can_acknowledge,
    can_download_attachment,
    can_issue_codes,
    can_lead_class,
    can_manage_school,
    can_message_guardians_of,
    can_moderate,
    can_post,
    can_read_access_log,
    can_read_class_threads,
    can_read_thread,
    can_set_final_marks,
    can_view_attendance,
    can_view_class_reports,
    can_view_final_mark,
    can_view_journal,
    can_view_lesson_record,
    can_view_region,
    can_view_request,
    can_view_school_attendance,
    can_view_school_reports,
    can_write_journal,
    children_in_class,
    message_family_ids,
    parent_links,
    thread_participant,
)
from diary_service.access.viewer import (
    ANONYMOUS,
    CLASS_TEACHER_SECTIONS,
    HEALTH_WORKER_SECTIONS,
    SCHOOL_ADMIN_SECTIONS,
    SECTIONS,
    STUDENT_SELF_SECTIONS,
    SUBJECT_TEACHER_SECTIONS,
    Viewer,
    children_of_parent,
    class_of,
    classes_on,
    enrolment_open_on,
    granted_sections,
    link_sections,
    require,
    trusted_link_open,
    viewer_for,
)

__all__ = [
    "ANONYMOUS",
    "CLASS_TEACHER_SECTIONS",
    "DEDUP_WINDOW",
    "HEALTH_WORKER_SECTIONS",
    "ROLE_ORDER",
    "SCHOOL_ADMIN_SECTIONS",
    "SECTIONS",
    "STUDENT_SELF_SECTIONS",
    "SUBJECT_TEACHER_SECTIONS",
    "Reach",
    "Span",
    "Viewer",
    "can_acknowledge",
    "can_download_attachment",
    "can_issue_codes",
    "can_lead_class",
    "can_manage_school",
    "can_message_guardians_of",
    "can_moderate",
    "can_post",
    "can_read_access_log",
    "can_read_class_threads",
    "can_read_thread",
    "can_set_final_marks",
    "can_view_attendance",
    "can_view_class_reports",
    "can_view_final_mark",
    "can_view_journal",
    "can_view_lesson_record",
    "can_view_region",
    "can_view_request",
    "can_view_school_attendance",
    "can_view_school_reports",
    "can_view_student",
    "can_write_journal",
    "children_in_class",
    "children_of_parent",
    "class_of",
    "class_shown",
    "classes_on",
    "enrolment_open_on",
    "granted_sections",
    "link_sections",
    "message_family_ids",
    "parent_links",
    "reach_of",
    "record_access",
    "require",
    "roles_toward",
    "thread_participant",
    "trusted_link_open",
    "viewer_for",
]
