"""Tables of signed answers: the class teacher's request and each guardian's answer.

An answer keeps how the portal vouched for the person at the moment they answered
(``acr`` and ``auth_time`` of the fresh sign-in): the stand-in for an electronic
signature, so the school can later show who agreed, when and at which level.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from diary_service.extensions import db
from diary_service.models.auth import DiaryPerson
from diary_service.models.school import SchoolClass, StaffMember, Student
from shared.sessions import utcnow


class AnswerRequest(db.Model):
    """A question to the parents of one class, open until ``deadline`` (inclusive)."""

    __tablename__ = "answer_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(
        sa.ForeignKey("school_class.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(sa.String(200))
    text: Mapped[str] = mapped_column(sa.Text, default="")
    options: Mapped[list[str]] = mapped_column(sa.JSON)  # ["Согласен", "Не согласен"]
    deadline: Mapped[date]
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff_member.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    school_class: Mapped[SchoolClass] = relationship()
    created_by: Mapped[StaffMember | None] = relationship()

    def __repr__(self) -> str:
        return f"<AnswerRequest {self.id}>"

    def is_open(self, today: date) -> bool:
        return today <= self.deadline


class Answer(db.Model):
    """One guardian's answer for one student; never changed once given."""

    __tablename__ = "answer"
    __table_args__ = (sa.UniqueConstraint("request_id", "student_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("answer_request.id", ondelete="CASCADE"), index=True
    )
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("student.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("diary_person.id", ondelete="CASCADE"))
    choice: Mapped[str] = mapped_column(sa.String(100))
    comment: Mapped[str] = mapped_column(sa.String(500), default="")
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)
    # How the portal vouched for the person at the fresh sign-in they answered after.
    acr: Mapped[str] = mapped_column(sa.String(100))
    auth_time: Mapped[datetime]

    request: Mapped[AnswerRequest] = relationship()
    student: Mapped[Student] = relationship()
    person: Mapped[DiaryPerson] = relationship()

    def __repr__(self) -> str:
        return f"<Answer {self.id}>"
