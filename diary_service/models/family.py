"""Tables of families: a guardian's link to a student, the weekly acknowledgement, and
the one-time codes a school hands out to link parents and staff.

A link names the guardian by the portal person once known, and until then by the keyed
hash of their SNILS (a link the school made before the parent's first sign-in); the
sign-in that brings a matching SNILS fills ``person_id``. Ended links stay with
``revoked_at`` so the family's history of access can be told.

Codes are kept only as a keyed hash (``code_hash``): the printed slip is the one place
the code itself ever appears.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from diary_service.extensions import db
from diary_service.models.auth import DiaryPerson
from diary_service.models.school import School, StaffMember, Student, full_name
from shared.sessions import utcnow

# Who a guardian is to the student.
GUARDIAN_KINDS = ("parent", "trusted")
# How the link was made: by the school in the diary (this issue), and later from the
# portal's verified children, an access code, a service application or a trusted grant.
LINK_SOURCES = ("school", "portal", "code", "application", "trusted")


class Guardian(db.Model):
    __tablename__ = "guardian"
    __table_args__ = (
        sa.Index("ix_guardian_person_active", "person_id", "revoked_at"),
        sa.Index("ix_guardian_snils_active", "snils_index", "revoked_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(
        sa.ForeignKey("student.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("diary_person.id", ondelete="CASCADE")
    )
    snils_index: Mapped[str | None] = mapped_column(sa.String(64))
    # The guardian's name as the school recorded it (shown to staff before sign-in).
    family_name: Mapped[str] = mapped_column(sa.String(100), default="")
    given_name: Mapped[str] = mapped_column(sa.String(100), default="")
    middle_name: Mapped[str | None] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(20), default="parent")
    source: Mapped[str] = mapped_column(sa.String(20), default="school")
    # The parent place (1 or 2) an access code filled; None for links made otherwise.
    slot: Mapped[int | None]
    reason: Mapped[str] = mapped_column(sa.String(300), default="")  # why the link exists
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_member.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_member.id"))
    # A trusted person's link (kind "trusted"), as the portal's grant describes it: the
    # grant's id (the portal's revocation names it), the parts of the record they see
    # (access.SECTIONS; None for a parent, who sees everything), the moment access opens
    # (naive UTC) and the last day it lasts (None: until revoked).
    grant_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    sections: Mapped[list[str] | None] = mapped_column(sa.JSON)
    opens_at: Mapped[datetime | None]
    valid_until: Mapped[date | None]

    student: Mapped[Student] = relationship()
    person: Mapped[DiaryPerson | None] = relationship()
    created_by: Mapped[StaffMember | None] = relationship(foreign_keys=[created_by_id])

    def __repr__(self) -> str:
        return f"<Guardian {self.id}>"

    @property
    def full_name(self) -> str:
        if self.person is not None:
            return self.person.full_name
        return full_name(self.family_name, self.given_name, self.middle_name)


class Acknowledgement(db.Model):
    """ "I have read the diary": a guardian's acknowledgement of one week of a student's
    diary, which the class teacher sees."""

    __tablename__ = "acknowledgement"
    __table_args__ = (sa.UniqueConstraint("student_id", "person_id", "week_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("student.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(
        sa.ForeignKey("diary_person.id", ondelete="CASCADE"), index=True
    )
    week_start: Mapped[date]  # the Monday
    acknowledged_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[DiaryPerson] = relationship()


# The parent places a student's access codes are issued for: one code per parent.
PARENT_SLOTS = (1, 2)


class AccessCode(db.Model):
    """A one-time code the school issued for one parent place of a student: whoever
    signs in and enters it first becomes that student's guardian (source ``code``)."""

    __tablename__ = "access_code"
    __table_args__ = (sa.Index("ix_access_code_student_slot", "student_id", "slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("student.id", ondelete="CASCADE"))
    slot: Mapped[int]
    # HMAC-SHA256 of the normalized code under LINK_CODE_KEY (diary_service.family.codes).
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    issued_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff_member.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_on: Mapped[date]  # the last day the code works, printed on the slip
    used_at: Mapped[datetime | None]
    used_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("diary_person.id", ondelete="SET NULL")
    )
    revoked_at: Mapped[datetime | None]

    student: Mapped[Student] = relationship()
    issued_by: Mapped[StaffMember | None] = relationship()
    used_by: Mapped[DiaryPerson | None] = relationship()

    def __repr__(self) -> str:
        return f"<AccessCode {self.id}>"


class StaffInvitation(db.Model):
    """A one-time code the school administrator gives a staff member whose record the
    diary cannot match by SNILS: entering it ties the record to whoever signed in."""

    __tablename__ = "staff_invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(
        sa.ForeignKey("staff_member.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    issued_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff_member.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_on: Mapped[date]
    used_at: Mapped[datetime | None]
    used_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("diary_person.id", ondelete="SET NULL")
    )
    revoked_at: Mapped[datetime | None]

    staff: Mapped[StaffMember] = relationship(foreign_keys=[staff_id])
    issued_by: Mapped[StaffMember | None] = relationship(foreign_keys=[issued_by_id])

    def __repr__(self) -> str:
        return f"<StaffInvitation {self.id}>"


class StudentAccess(db.Model):
    """One look at a student's record by someone other than the student's own family:
    the parent's "who looked at my child's data" log. The viewer's role is stored as a
    label at the time of access, since roles and links change afterwards."""

    __tablename__ = "student_access"
    __table_args__ = (sa.Index("ix_student_access_student_at", "student_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("student.id", ondelete="CASCADE"))
    viewer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("diary_person.id", ondelete="SET NULL")
    )
    role: Mapped[str] = mapped_column(sa.String(30))
    what: Mapped[str] = mapped_column(sa.String(30))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    viewer: Mapped[DiaryPerson | None] = relationship()

    def __repr__(self) -> str:
        return f"<StudentAccess {self.id}>"


# --- service applications ------------------------------------------------------------

# Where an application stands here. The portal shows the citizen the same words (and
# its own "sent" and "undelivered" for before the diary has it).
APPLICATION_STATUSES = ("received", "in_progress", "done", "refused")
OPEN_APPLICATION_STATUSES = ("received", "in_progress")


class Application(db.Model):
    """A parent's application "Access to the student's electronic diary" that the portal
    forwarded (``application.submitted``, diary_service.applications.services): the
    school's administrator finds the child among the school's students and approves
    (a guardian link, source ``application``) or refuses with a reason; each step goes
    back to the portal.

    The portal's id (``portal_id``) makes a resubmission the same application. Both
    SNILS are kept only as blind indexes (the applicant's ties the link to them at
    their first sign-in); the applicant's contacts are there for the school's
    administrators to call them back, and shown to nobody else."""

    __tablename__ = "application"
    __table_args__ = (sa.Index("ix_application_school_status", "school_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    portal_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("school.id"))
    submitted_at: Mapped[datetime]  # on the portal, UTC
    # The applicant as the portal verified them.
    applicant_sub: Mapped[str] = mapped_column(sa.String(64))
    applicant_family_name: Mapped[str] = mapped_column(sa.String(100), default="")
    applicant_given_name: Mapped[str] = mapped_column(sa.String(100), default="")
    applicant_middle_name: Mapped[str | None] = mapped_column(sa.String(100))
    applicant_snils_index: Mapped[str] = mapped_column(sa.String(64))
    applicant_phone: Mapped[str | None] = mapped_column(sa.String(20))
    applicant_email: Mapped[str | None] = mapped_column(sa.String(254))
    # The child as the portal's verified record describes them.
    child_portal_id: Mapped[str] = mapped_column(sa.String(64))
    child_family_name: Mapped[str] = mapped_column(sa.String(100), default="")
    child_given_name: Mapped[str] = mapped_column(sa.String(100), default="")
    child_middle_name: Mapped[str | None] = mapped_column(sa.String(100))
    child_birth_date: Mapped[date]
    child_gender: Mapped[str] = mapped_column(sa.String(10))  # male, female, "" if not given
    child_snils_index: Mapped[str | None] = mapped_column(sa.String(64))
    # The student the child is: found by SNILS and birth date on arrival, or chosen by
    # the administrator when approving.
    student_id: Mapped[int | None] = mapped_column(sa.ForeignKey("student.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(sa.String(20), default="received")
    # A refusal's ground (``applications.REFUSAL_GROUNDS``) and the reason sent to the
    # citizen, in the region's language.
    refusal_ground: Mapped[str | None] = mapped_column(sa.String(30))
    reason: Mapped[str] = mapped_column(sa.String(1000), default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline: Mapped[date]  # the last working day of the term
    taken_at: Mapped[datetime | None]
    taken_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff_member.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff_member.id", ondelete="SET NULL")
    )
    guardian_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("guardian.id", ondelete="SET NULL")
    )

    school: Mapped[School] = relationship()
    student: Mapped[Student | None] = relationship()
    taken_by: Mapped[StaffMember | None] = relationship(foreign_keys=[taken_by_id])
    decided_by: Mapped[StaffMember | None] = relationship(foreign_keys=[decided_by_id])
    guardian: Mapped[Guardian | None] = relationship()

    def __repr__(self) -> str:  # no names: they are personal data
        return f"<Application {self.id}>"

    @property
    def applicant_name(self) -> str:
        return full_name(
            self.applicant_family_name, self.applicant_given_name, self.applicant_middle_name
        )

    @property
    def child_name(self) -> str:
        return full_name(self.child_family_name, self.child_given_name, self.child_middle_name)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_APPLICATION_STATUSES
