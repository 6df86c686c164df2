"""The services the catalog lists, defined in code: a card as Gosuslugi shows it (who may
apply, ways to get it, cost, term, grounds for refusal, result, contacts).

Only "Access to the student's electronic diary" can be applied for online here; the
other cards are honest about being reference only in this demo. ``keywords`` are search
words in both languages (lower case, what people type), never shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

DIARY_ACCESS = "diary-access"
EDUCATION = _l("Education")


@dataclass(frozen=True)
class PublicService:
    slug: str
    title: LazyString
    category: LazyString
    summary: LazyString
    description: LazyString
    applicants: LazyString
    ways: tuple[LazyString, ...]
    cost: LazyString
    keywords: tuple[str, ...]
    online: bool = False
    term: LazyString | None = None
    refusal_grounds: tuple[LazyString, ...] = ()
    result: LazyString | None = None
    contacts: tuple[LazyString, ...] = ()


CATALOG: tuple[PublicService, ...] = (
    PublicService(
        slug=DIARY_ACCESS,
        title=_l("Access to the student's electronic diary"),
        category=EDUCATION,
        summary=_l(
            "Marks, attendance, homework and the schedule of your child in the regional "
            "electronic diary."
        ),
        description=_l(
            "The school gives a parent access to their child's electronic diary: marks and "
            "their history, attendance, homework, the schedule, the teachers' comments and "
            "school news. Once the school approves the application, you sign in to the "
            "region's diary through the portal and see the child there: no separate login "
            "or password is needed."
        ),
        applicants=_l(
            "A parent (legal representative) with a standard or confirmed account whose "
            "child is verified on the portal: the civil registry has confirmed the birth "
            "certificate and the Social Fund the child's SNILS."
        ),
        ways=(
            _l("Online on the portal: choose the child, the region and the school."),
            _l(
                "In person at the school: the class teacher or the school administrator "
                "gives you a one-time access code."
            ),
        ),
        cost=_l("Free"),
        term=_l(
            "3 working days from the day the school receives the application (by the "
            "Russian production calendar)"
        ),
        refusal_grounds=(
            _l("The child does not study at the chosen school."),
            _l("The child's data do not match the school's records."),
            _l("The applicant is not the child's legal representative."),
        ),
        result=_l(
            "Access to the child's electronic diary when you sign in to the region's diary "
            "through the portal, or a refusal with the reason."
        ),
        contacts=(
            _l("The school you choose: its administrator or the class teacher."),
            _l("The education department of the region:"),
        ),
        keywords=(
            "дневник",
            "электронный дневник",
            "эд",
            "электронный журнал",
            "журнал",
            "доступ",
            "успеваемость",
            "оценки",
            "отметки",
            "посещаемость",
            "домашнее задание",
            "расписание",
            "школа",
            "ученик",
            "школьник",
            "учащийся",
            "мэш",
            "мрко",
            "дневник.ру",
            "diary",
            "e-diary",
            "electronic diary",
            "journal",
            "gradebook",
            "marks",
            "grades",
            "attendance",
            "homework",
            "access",
            "school",
            "student",
            "pupil",
        ),
        online=True,
    ),
    PublicService(
        slug="first-grade",
        title=_l("Enrolment of a child in the first grade"),
        category=EDUCATION,
        summary=_l("An application to enrol a child in the first grade of a school."),
        description=_l(
            "Parents apply to enrol a child in the first grade: from 1 April for children "
            "who live in the area the school serves, from 6 July for everyone else while "
            "places remain."
        ),
        applicants=_l(
            "A parent (legal representative) of a child who is at least 6 years and 6 months "
            "and at most 8 years old on 1 September."
        ),
        ways=(_l("In person at the school."),),
        cost=_l("Free"),
        keywords=(
            "первый класс",
            "1 класс",
            "первоклассник",
            "запись в школу",
            "зачисление",
            "поступление",
            "школа",
            "first grade",
            "enrolment",
            "enrollment",
            "admission",
            "school",
        ),
    ),
    PublicService(
        slug="kindergarten-queue",
        title=_l("A place in a kindergarten"),
        category=EDUCATION,
        summary=_l("Putting a child on the waiting list for a municipal kindergarten."),
        description=_l(
            "The municipality puts the child on the waiting list for a kindergarten and "
            "offers a place when one is free in the kindergartens the parent chose."
        ),
        applicants=_l("A parent (legal representative) of a child under 7 years old."),
        ways=(_l("In person at the municipal education department or a service centre (МФЦ)."),),
        cost=_l("Free"),
        keywords=(
            "детский сад",
            "детсад",
            "садик",
            "очередь",
            "ясли",
            "дошкольное",
            "kindergarten",
            "nursery",
            "preschool",
            "waiting list",
            "queue",
        ),
    ),
    PublicService(
        slug="additional-education",
        title=_l("Enrolment in clubs and additional education"),
        category=EDUCATION,
        summary=_l("Sports sections, art studios and technical clubs for schoolchildren."),
        description=_l(
            "An application to enrol a child in a club or a section of a municipal "
            "organisation of additional education."
        ),
        applicants=_l(
            "A parent (legal representative) of a child aged 5 to 18, or a student aged "
            "14 or more themselves."
        ),
        ways=(_l("In person at the organisation of additional education."),),
        cost=_l("Free for municipal clubs"),
        keywords=(
            "кружок",
            "кружки",
            "секция",
            "секции",
            "дополнительное образование",
            "допобразование",
            "спорт",
            "club",
            "clubs",
            "section",
            "sports",
            "additional education",
            "extracurricular",
        ),
    ),
    PublicService(
        slug="exam-results",
        title=_l("Results of the state final exams (ОГЭ, ЕГЭ)"),
        category=EDUCATION,
        summary=_l("The results of the basic and unified state exams of a student."),
        description=_l(
            "Information on the results of the state final exams taken after the 9th "
            "(ОГЭ) and the 11th (ЕГЭ) grade."
        ),
        applicants=_l("A student, or a parent (legal representative) of a student under 18."),
        ways=(_l("In person at the school where the student is registered for the exams."),),
        cost=_l("Free"),
        keywords=(
            "огэ",
            "егэ",
            "гиа",
            "экзамен",
            "экзамены",
            "результаты экзаменов",
            "итоговая аттестация",
            "exam",
            "exams",
            "results",
            "state exam",
            "unified state exam",
        ),
    ),
)
