"""The family's diary pages as a parent, a student and the school's staff see them:
the week, marks with their average and forecast, attendance, news, the printable week,
and the weekly "I have read the diary" the class teacher sees. Pages are read in Russian.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import url_for

from diary_service.extensions import db
from diary_service.models.auth import PortalChild
from diary_service.models.family import Acknowledgement, Guardian
from diary_service.models.journal import (
    Attendance,
    FinalMark,
    Homework,
    HomeworkAttachment,
    Lesson,
    Mark,
    MarkPolicy,
    Remark,
)
from diary_service.models.school import Holiday, Notice, ParentMeeting, TimetableChange
from tests.diary_service.factories import World, lesson, mark, monday_of
from tests.helpers import forms_of, region_today, submit, text_of


@dataclass
class Diary:
    """What the tests put in 6А's journal for Пётр in one week of the second quarter."""

    monday: date
    math_monday: Lesson
    corrected: Mark
    attachment: HomeworkAttachment


@pytest.fixture
def diary_week(world: World) -> Diary:
    # A week inside the second quarter, whatever weekday today is.
    monday = monday_of(world.one.periods[1].starts_on) + timedelta(days=7)
    tuesday, wednesday = monday + timedelta(days=1), monday + timedelta(days=2)
    teacher = world.one.staff["teacher"]
    six_a = world.one.classes["6А"]

    math_monday = lesson(world, "6А", monday, 1, "Сложение десятичных дробей")
    russian_monday = lesson(world, "6А", monday, 2, "Правописание приставок")
    math_tuesday = lesson(world, "6А", tuesday, 1, "Вычитание десятичных дробей")
    homework = Homework(
        lesson_id=math_monday.id,
        text="Учебник, № 245 и 247",
        due_on=tuesday,
        updated_by_id=teacher.id,
    )
    homework.attachments = [
        HomeworkAttachment(
            filename="задачи.pdf", content_type="application/pdf", size=4, data=b"%PDF"
        )
    ]
    db.session.add(homework)
    mark(world, "petr", math_monday, "4", "control", 5, comment="Ошибка в задаче 3")
    mark(world, "petr", math_tuesday, "5", "test", 3)
    # A Russian mark corrected from 3 to 4: two versions of one mark.
    first = mark(world, "petr", russian_monday, "3", "dictation", 3, is_current=False)
    corrected = mark(
        world, "petr", russian_monday, "4", "dictation", 3, previous_id=first.id, reason="Пересчёт"
    )
    db.session.add_all(
        [
            Attendance(
                lesson_id=russian_monday.id,
                student_id=world.one.students["petr"].id,
                code="н",
                author_id=world.one.staff["teacher2"].id,
            ),
            Remark(
                student_id=world.one.students["petr"].id,
                lesson_id=math_monday.id,
                subject_id=world.subjects["math"].id,
                kind="behaviour",
                text="Разговаривал на контрольной работе",
                author_id=teacher.id,
            ),
            Remark(
                student_id=world.one.students["alisa"].id,
                kind="preparation",
                text="Алиса не принесла тетрадь",
                author_id=teacher.id,
                created_at=datetime.combine(monday, time(12)),
            ),
            TimetableChange(
                class_id=six_a.id,
                on_date=tuesday,
                lesson_number=2,
                kind="substitution",
                substitute_id=teacher.id,
            ),
            TimetableChange(
                class_id=six_a.id, on_date=wednesday, lesson_number=1, kind="cancellation"
            ),
            Notice(
                school_id=world.one.school.id,
                class_id=six_a.id,
                kind="quarantine",
                title="Карантин по гриппу в 6А",
                body="Занятия 6А проходят дистанционно.",
                starts_on=wednesday,
                ends_on=wednesday + timedelta(days=6),
            ),
        ]
    )
    db.session.commit()
    return Diary(
        monday=monday,
        math_monday=math_monday,
        corrected=corrected,
        attachment=homework.attachments[0],
    )


def week_url(world: World, student: str, day: date) -> str:
    return f"/students/{world.one.students[student].id}/week?date={day.isoformat()}"


def test_week_shows_the_parent_everything_of_the_week(world, login, diary_week):
    client = login(world.people["parent"])
    page = client.get(week_url(world, "petr", diary_week.monday))
    assert page.status_code == 200
    text = text_of(page)
    assert "Иванов Пётр Сергеевич" in text
    assert "Класс 6А" in text
    # Timetable with bells, teacher and room; topic and homework (set and due).
    assert "08:30–09:15" in text
    assert "Математика" in text and "Смирнова О. В." in text and "каб. 21" in text
    assert "Тема: Сложение десятичных дробей" in text
    assert "Домашнее задание: Учебник, № 245 и 247" in text
    assert "Задано на сегодня" in text
    # Marks with kind, weight and comment; the corrected one shows its current value.
    assert "4 контрольная работа, вес 5" in text
    assert "«Ошибка в задаче 3»" in text
    assert "4 диктант, вес 3 исправлена" in text
    assert "3 диктант" not in text
    # Attendance with its legend, the remark, the changes and the quarantine.
    assert "н отсутствовал(а)" in text
    assert "Разговаривал на контрольной работе — Смирнова О. В., " in text
    assert "Замена: Смирнова О. В. вместо Орлов П. И." in text
    assert "Отменён" in text
    assert "Карантин по гриппу в 6А" in text
    html = page.get_data(as_text=True)
    assert 'class="badge quarantine"' in html
    assert '<s class="subject">Математика</s>' in html
    # Alisa's remark is hers, not her brother's.
    assert "не принесла тетрадь" not in text


def test_mark_links_to_its_history_and_homework_to_its_files(diary, world, login, diary_week):
    page = login(world.people["parent"]).get(week_url(world, "petr", diary_week.monday))
    html = page.get_data(as_text=True)
    with diary.test_request_context():
        history = url_for("journal.mark_history", mark_id=diary_week.corrected.id)
        attachment = url_for("journal.attachment", attachment_id=diary_week.attachment.id)
    assert f'href="{history}"' in html
    assert f'href="{attachment}">задачи.pdf</a>' in html
    # Homework due on Tuesday is listed on Tuesday, with its file.
    tuesday = (diary_week.monday + timedelta(days=1)).isoformat()
    assert "задачи.pdf" in html.split(f'id="day-{tuesday}"')[1].split("</section>")[0]


def test_switcher_lists_every_child_of_the_parent_across_schools(world, login, diary_week):
    # The parent's third child goes to school 2, in another municipality.
    db.session.add(
        Guardian(
            student_id=world.two.students["masha"].id,
            person_id=world.people["parent"].id,
            reason="test: a child in another school",
        )
    )
    db.session.commit()
    page = login(world.people["parent"]).get(week_url(world, "petr", diary_week.monday))
    html = page.get_data(as_text=True)
    switcher = html.split('class="child-switcher"')[1].split("</nav>")[0]
    for key, school in (("alisa", world.one), ("petr", world.one), ("masha", world.two)):
        assert f'/students/{school.students[key].id}/week"' in switcher
    assert "Алиса" in switcher and "9Б · СОШ № 1" in switcher and "6А · СОШ № 2" in switcher
    assert 'aria-current="page"' in switcher.split("Пётр")[0].rsplit("<a", 1)[1]
    other = login(world.people["parent"]).get(f"/students/{world.two.students['masha'].id}/week")
    assert other.status_code == 200
    assert "Средняя общеобразовательная школа № 2" in text_of(other)


def test_week_names_holidays_and_lessons_added_outside_the_timetable(world, login):
    year = world.one.year
    monday = monday_of(world.one.periods[2].starts_on) + timedelta(days=14)
    db.session.add(
        Holiday(year_id=year.id, name="Дополнительные каникулы", starts_on=monday, ends_on=monday)
    )
    lesson(world, "6А", monday + timedelta(days=5), 1, "Консультация перед контрольной")
    db.session.commit()
    text = text_of(login(world.people["parent"]).get(week_url(world, "petr", monday)))
    monday_text = text.split("Вторник")[0]
    assert "Каникулы: Дополнительные каникулы" in monday_text
    assert "Математика" not in monday_text.split("Каникулы")[1]
    saturday_text = text.split("Суббота")[1]
    assert "Тема: Консультация перед контрольной" in saturday_text
    # A summer week, before the student's enrolment: no lessons, no error.
    summer = week_url(world, "petr", year.starts_on - timedelta(days=20))
    page = login(world.people["parent"]).get(summer)
    assert page.status_code == 200
    assert text_of(page).count("Уроков нет.") == 6


def test_pages_render_in_english_too(world, login, diary_week):
    client = login(world.people["parent"])
    client.set_cookie("lang", "en")
    petr = world.one.students["petr"]
    text = text_of(client.get(week_url(world, "petr", diary_week.monday)))
    assert "Topic: Сложение десятичных дробей" in text
    assert "control work, weight 5" in text
    marks = text_of(client.get(f"/students/{petr.id}/marks?period={world.one.periods[1].id}"))
    assert "one more 5 for a control work would make 4.62 → 5" in marks


def test_the_student_sees_her_week_without_remarks_to_parents(world, login, diary_week):
    client = login(world.people["alisa"])
    page = client.get(week_url(world, "alisa", diary_week.monday))
    assert page.status_code == 200
    text = text_of(page)
    assert "Иванова Алиса Сергеевна" in text
    assert "Замечания родителям" not in text
    assert "не принесла тетрадь" not in text
    assert "Я ознакомлен(а) с дневником" not in text  # students do not acknowledge
    # Her mother sees the remark.
    parent = login(world.people["parent"]).get(week_url(world, "alisa", diary_week.monday))
    assert "Алиса не принесла тетрадь" in text_of(parent)
    # …and she cannot open her brother's diary.
    assert client.get(week_url(world, "petr", diary_week.monday)).status_code == 403


def test_marks_page_shows_average_formula_policy_forecast_and_chart(world, login, diary_week):
    client = login(world.people["parent"])
    petr = world.one.students["petr"]
    policy = db.session.execute(
        sa.select(MarkPolicy).where(MarkPolicy.school_id == world.one.school.id)
    ).scalar_one()
    db.session.add_all(
        [
            FinalMark(
                student_id=petr.id,
                subject_id=world.subjects["russian"].id,
                year_id=world.one.year.id,
                period_id=world.one.periods[1].id,
                kind="period",
                value="5",
                average=Decimal("4.00"),
                suggested="4",
                policy_id=policy.id,
                author_id=world.one.staff["teacher2"].id,
            ),
            FinalMark(
                student_id=petr.id,
                subject_id=world.subjects["russian"].id,
                year_id=world.one.year.id,
                kind="year",
                value="4",
                author_id=world.one.staff["teacher2"].id,
            ),
        ]
    )
    db.session.commit()
    page = client.get(f"/students/{petr.id}/marks?period={world.one.periods[1].id}")
    assert page.status_code == 200
    text = text_of(page)
    assert "2 четверть" in text
    # The summary at the top: the subject's average (a decimal comma), the suggested
    # mark and the forecast, one line each.
    summary = text.split("Сводка по предметам")[1].split("Как считается")[0]
    assert "Математика 2 отметки 4,38 4 ещё не выставлена" in summary
    assert "ещё одна пятёрка за контрольную работу даст 4,62 → 5" in summary
    # The average spelled out in words and numbers, and the rule.
    assert "Средний балл: (4 × 5 + 5 × 3) ÷ 8 = 4,38" in text
    assert "каждая отметка умножена на свой вес" in text
    assert "Средний балл от 4,6 даёт «5», от 3,6 — «4», от 2,6 — «3»." in text
    assert "Правила школы, версия 1." in text
    assert "средний балл 4,38" in text
    assert "Предлагаемая отметка за период 4" in text
    assert "исправлена" in text  # the Russian mark, corrected
    # The teacher's period mark for Russian, and the year's marks.
    assert "Отметка учителя за период 5 выставлена по правилам версии 1" in text
    assert "Русский язык 5 4" in text.split("Отметки за периоды и год")[1]
    html = page.get_data(as_text=True)
    assert "<svg" in html and "<polyline" in html and "<script" not in html
    assert "Средний балл по предмету Математика по неделям" in text


def test_marks_page_for_another_year_period_is_not_found(world, login):
    client = login(world.people["parent"])
    petr = world.one.students["petr"]
    other = world.two.periods[0]
    assert client.get(f"/students/{petr.id}/marks?period={other.id}").status_code == 404
    assert client.get(f"/students/{petr.id}/marks").status_code == 200


def test_attendance_summary_counts_by_period_and_subject(world, login, diary_week):
    petr = world.one.students["petr"]
    page = login(world.people["parent"]).get(f"/students/{petr.id}/attendance")
    assert page.status_code == 200
    text = text_of(page)
    assert "По учебным периодам" in text and "По предметам" in text
    assert "Русский язык 1" in text
    assert "урок 2 · Русский язык н отсутствовал(а)" in text


def test_news_shows_notices_and_parent_meetings(world, login, diary_week):
    six_a = world.one.classes["6А"]
    db.session.add_all(
        [
            ParentMeeting(
                class_id=six_a.id,
                held_at=datetime.combine(region_today() + timedelta(days=3), time(18, 30)),
                place="Кабинет 21",
                agenda="Итоги четверти; поездка в музей",
            ),
            Notice(
                school_id=world.one.school.id,
                title="День открытых дверей",
                starts_on=region_today() - timedelta(days=1),
            ),
            Notice(
                school_id=world.two.school.id,
                title="Новости чужой школы",
                starts_on=region_today() - timedelta(days=1),
            ),
        ]
    )
    db.session.commit()
    petr = world.one.students["petr"]
    text = text_of(login(world.people["parent"]).get(f"/students/{petr.id}/news"))
    assert "18:30" in text and "Кабинет 21" in text
    assert "Повестка: Итоги четверти; поездка в музей" in text
    assert "День открытых дверей" in text and "вся школа" in text
    assert "Новости чужой школы" not in text


def test_printable_week_has_the_week_without_the_site_navigation(world, login, diary_week):
    petr = world.one.students["petr"]
    client = login(world.people["parent"])
    page = client.get(f"/students/{petr.id}/week/print?date={diary_week.monday.isoformat()}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'class="main"' not in html and "<form" not in html
    text = text_of(page)
    assert "Тема: Сложение десятичных дробей" in text
    assert "4 контрольная работа, вес 5" in text
    assert "Подпись родителя" in text


def test_index_lists_children_or_explains_linking(world, login):
    text = text_of(login(world.people["parent"]).get("/students/"))
    assert "Иванов Пётр Сергеевич" in text and "Иванова Алиса Сергеевна" in text
    assert "СОШ № 1" in text or "Средняя общеобразовательная школа № 1" in text
    one_child = login(world.people["parent2"]).get("/students/")
    assert one_child.status_code == 302
    assert one_child.location.endswith(f"/students/{world.one.students['masha'].id}/week")
    nobody = world.people["nobody"]
    nobody.children = [PortalChild(portal_id="kid-1", family_name="Посторонний", given_name="Ваня")]
    db.session.commit()
    text = text_of(login(nobody).get("/students/"))
    assert "Школа связывает родителей с записями их детей" in text
    assert "Посторонний Ваня ещё не привязан" in text


STUDENT_PAGES = ("week", "marks", "attendance", "news", "week/print")


@pytest.mark.parametrize("who", ["parent2", "two_parent", "nobody", "department", "two_admin"])
def test_strangers_get_403_on_the_childs_pages(world, login, who):
    petr = world.one.students["petr"]
    client = login(world.people[who])
    for page in STUDENT_PAGES:
        assert client.get(f"/students/{petr.id}/{page}").status_code == 403, page


def test_health_worker_sees_attendance_only(world, login):
    petr = world.one.students["petr"]
    client = login(world.people["nurse"])
    assert client.get(f"/students/{petr.id}/attendance").status_code == 200
    for page in set(STUDENT_PAGES) - {"attendance"}:
        assert client.get(f"/students/{petr.id}/{page}").status_code == 403


def test_staff_of_the_class_see_the_week(world, login, diary_week):
    url = week_url(world, "petr", diary_week.monday)
    for who in ("teacher", "admin"):
        text = text_of(login(world.people[who]).get(url))
        assert "Разговаривал на контрольной работе" in text, who
    # A subject teacher sees marks and attendance, not remarks to the parents.
    page = login(world.people["teacher2"]).get(url)
    assert page.status_code == 200
    assert "Разговаривал на контрольной работе" not in text_of(page)
    assert "4 контрольная работа" in text_of(page)


def test_missing_student_is_404_and_signed_out_visitor_signs_in(world, login):
    assert login(world.people["parent"]).get("/students/999999/week").status_code == 404
    petr = world.one.students["petr"]
    response = login(None).get(f"/students/{petr.id}/week")
    assert response.status_code == 302 and "/login" in response.location


def test_bad_date_shows_the_current_week_with_an_error(world, login):
    petr = world.one.students["petr"]
    page = login(world.people["parent"]).get(f"/students/{petr.id}/week?date=31.02.2026")
    assert page.status_code == 400
    assert "Введите дату в виде ГГГГ-ММ-ДД." in text_of(page)


def test_acknowledgement_reaches_the_class_teacher(world, login):
    petr = world.one.students["petr"]
    client = login(world.people["parent"])
    url = f"/students/{petr.id}/week"
    action = f"/students/{petr.id}/acknowledge"
    response = submit(client, url, action=action, follow=True)
    assert response.status_code == 200
    assert "Спасибо" in text_of(response)
    assert "Иванова Мария Петровна: ознакомлен(а)" in text_of(response)
    # A second click (from a page opened before the first) changes nothing.
    again = client.post(
        action, data={"csrf_token": csrf_token_of(client, url), "week": region_today().isoformat()}
    )
    assert again.status_code == 302
    rows = db.session.execute(sa.select(Acknowledgement)).scalars().all()
    assert len(rows) == 1
    assert rows[0].week_start == monday_of(region_today())
    assert rows[0].person_id == world.people["parent"].id
    assert not any(f.action == action for f in forms_of(client.get(url).get_data(as_text=True)))

    six_a = world.one.classes["6А"]
    teacher_page = login(world.people["teacher"]).get(f"/classes/{six_a.id}/acknowledgements")
    assert teacher_page.status_code == 200
    text = text_of(teacher_page)
    assert "Иванов Пётр Сергеевич Иванова Мария Петровна ознакомлен(а)" in text
    assert "Кузнецова Мария Олеговна Кузнецов Олег Ильич ещё нет" in text
    assert "Ознакомились по 1 из 2 учеников." in text
    last_week = (monday_of(region_today()) - timedelta(days=7)).isoformat()
    earlier = login(world.people["teacher"]).get(
        f"/classes/{six_a.id}/acknowledgements?week={last_week}"
    )
    assert "Ознакомились по 0 из 2 учеников." in text_of(earlier)
    assert (
        login(world.people["admin"]).get(f"/classes/{six_a.id}/acknowledgements").status_code == 200
    )
    for who in ("teacher2", "parent", "two_admin", "nurse"):
        page = login(world.people[who]).get(f"/classes/{six_a.id}/acknowledgements")
        assert page.status_code == 403, who
    assert login(world.people["teacher"]).get("/classes/999999/acknowledgements").status_code == 404


def csrf_token_of(client, url: str) -> str:
    """The CSRF token of the page's forms (every page has the sign-out form)."""
    forms = forms_of(client.get(url).get_data(as_text=True))
    return next(f.fields["csrf_token"] for f in forms if "csrf_token" in f.fields)


def test_only_a_guardian_acknowledges(world, login):
    petr, alisa = world.one.students["petr"], world.one.students["alisa"]
    for who, student in (("alisa", alisa), ("teacher", petr), ("parent2", petr)):
        client = login(world.people[who])
        token = csrf_token_of(client, "/")
        response = client.post(
            f"/students/{student.id}/acknowledge",
            data={"csrf_token": token, "week": region_today().isoformat()},
        )
        assert response.status_code == 403, who
    assert db.session.execute(sa.select(Acknowledgement)).first() is None


def test_a_week_that_has_not_begun_cannot_be_acknowledged(world, login):
    petr = world.one.students["petr"]
    client = login(world.people["parent"])
    next_week = (monday_of(region_today()) + timedelta(days=7)).isoformat()
    response = submit(
        client,
        f"/students/{petr.id}/week",
        {"week": next_week},
        action=f"/students/{petr.id}/acknowledge",
        follow=True,
    )
    assert "Неделю можно отметить только после её начала." in text_of(response)
    assert db.session.execute(sa.select(Acknowledgement)).first() is None
    bad = submit(
        client,
        f"/students/{petr.id}/week",
        {"week": "never"},
        action=f"/students/{petr.id}/acknowledge",
    )
    assert bad.status_code == 400
    assert "Введите дату в виде ГГГГ-ММ-ДД." in text_of(bad)
