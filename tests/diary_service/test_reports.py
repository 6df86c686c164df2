"""Reports: the numbers on a small hand-computed class, the files, the rating and who
may see what.

The example (class 6А of school 1, the period containing today, every lesson on one
day so it is always in the past or today):

- math (teacher): lesson 1 «Дроби» with homework, lesson 2 no topic, no homework;
  lesson 5 cancelled (never counted);
- Russian (teacher2): lesson 3 «Причастие» with homework, lesson 4 «Деепричастие»
  without homework and without marks;
- Пётр: math 5 (control, 5) + 4 (classwork, 1) → 29/6 = 4.83 → «5»;
  Russian 2 (test, 3) → 2.00 → «2», but the teacher set «3» for the period;
- Маша: math 4 (control, 5) + 5 (homework, 1) → 25/6 = 4.17 → «4»;
  Russian 5 (test, 3) and a pass → 5.00 → «5».

So math: mean (4.83 + 4.17) / 2 = 4.50, quality 100 %, success 100 %; Russian: mean
(2.00 + 5.00) / 2 = 3.50, quality 50 %, success 100 %; the class: success 100 % (2 of 2),
quality 50 % (Маша only), average (4.83 + 2.00 + 4.17 + 5.00) / 4 = 4.00; rating: Маша
4.59 first, Пётр 3.42 second. Attendance: 4 lessons × 2 students = 8, Пётр «н» and Маша
«б» missed, Пётр «оп» late → 6 of 8 = 75.0 %. Completeness: teacher 2 lessons, 1 topic,
1 homework → 50.0 %; teacher2 2 lessons, 2 topics, 1 homework, 1 without marks → 75.0 %;
the school (5 of 8) → 62.5 %.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
import sqlalchemy as sa

from diary_service.extensions import db
from diary_service.journal.queries import current_marks, current_policy, rule_of, summarize
from diary_service.models.journal import (
    Attendance,
    FinalMark,
    Homework,
    Lesson,
    Mark,
)
from diary_service.models.school import Period
from diary_service.reports import services
from diary_service.school.timetable import period_on
from tests.helpers import region_today, text_of

STUDENT_NAMES = ("Иванов", "Кузнецова", "Иванова", "Пётр", "Мария", "Алиса")


@pytest.fixture
def period(world) -> Period:
    return period_on(world.one.year, region_today()) or world.one.periods[0]


@pytest.fixture
def day(period) -> date:
    return min(region_today(), period.ends_on)


@pytest.fixture
def example(world, period, day):
    """The hand-computed example of the module docstring."""
    one = world.one
    cls = one.classes["6А"]
    math, russian = world.subjects["math"], world.subjects["russian"]
    teacher, teacher2 = one.staff["teacher"], one.staff["teacher2"]
    petr, masha = one.students["petr"], one.students["masha"]

    def lesson(number, subject, who, topic="", homework=None, cancelled=False):
        row = Lesson(
            school_class=cls,
            subject=subject,
            teacher=who,
            on_date=day,
            lesson_number=number,
            topic=topic,
            cancelled=cancelled,
        )
        if homework is not None:
            row.homework = Homework(text=homework)
        db.session.add(row)
        return row

    l1 = lesson(1, math, teacher, "Дроби", "№ 12, 14")
    l2 = lesson(2, math, teacher)
    l3 = lesson(3, russian, teacher2, "Причастие", "Упр. 5")
    l4 = lesson(4, russian, teacher2, "Деепричастие")
    l5 = lesson(5, math, teacher, "Отменённый урок", cancelled=True)
    db.session.flush()

    def mark(lesson_, student, value, kind, weight, **kw):
        row = Mark(
            lesson=lesson_,
            student=student,
            value=value,
            kind=kind,
            weight=weight,
            author=teacher,
            **kw,
        )
        db.session.add(row)
        return row

    old = mark(l2, petr, "2", "classwork", 1, is_current=False)
    db.session.flush()
    mark(l1, petr, "5", "control", 5)
    mark(l2, petr, "4", "classwork", 1, previous_id=old.id, reason="ошибка")
    mark(l3, petr, "2", "test", 3)
    mark(l1, masha, "4", "control", 5)
    mark(l2, masha, "5", "homework", 1)
    mark(l2, masha, "2", "oral", 2, deleted=True)
    mark(l3, masha, "5", "test", 3)
    mark(l3, masha, "pass", "oral", 2)
    mark(l5, petr, "2", "oral", 2, deleted=True)

    def absence(lesson_, student, code, **kw):
        db.session.add(Attendance(lesson=lesson_, student=student, code=code, author=teacher, **kw))

    absence(l1, petr, "н")
    absence(l3, masha, "б")
    absence(l4, petr, "оп")
    absence(l2, masha, "н", deleted=True)
    absence(l5, petr, "н")  # the cancelled lesson: not counted
    db.session.add(
        FinalMark(
            student=petr,
            subject=russian,
            year=one.year,
            period=period,
            kind="period",
            value="3",
            average=Decimal("2.00"),
            suggested="2",
            author=teacher2,
        )
    )
    db.session.commit()
    return world


def test_class_numbers_match_the_hand_computed_example(example, period):
    one = example.one
    report = services.class_report(one.classes["6А"], period, region_today())
    math, russian = example.subjects["math"], example.subjects["russian"]

    assert report.by_subject[math.id].average == Decimal("4.50")
    assert report.by_subject[math.id].quality_rate == Decimal("100.0")
    assert report.by_subject[math.id].success_rate == Decimal("100.0")
    assert report.by_subject[russian.id].average == Decimal("3.50")
    assert report.by_subject[russian.id].quality_rate == Decimal("50.0")
    assert report.by_subject[russian.id].success_rate == Decimal("100.0")

    total = report.total
    assert (total.students, total.assessed, total.successful, total.quality) == (2, 2, 2, 1)
    assert total.average == Decimal("4.00")
    assert total.success_rate == Decimal("100.0")
    assert total.quality_rate == Decimal("50.0")
    assert total.student_lessons == 8
    assert dict(total.missed) == {"н": 1, "б": 1, "оп": 1}
    assert total.attended_rate == Decimal("75.0")

    rows = {row.student.given_name: row for row in report.students}
    petr, masha = rows["Пётр"], rows["Мария"]
    assert petr.cells[math.id].average == Decimal("4.83")
    assert petr.cells[math.id].mark == "5"
    assert (petr.cells[russian.id].suggested, petr.cells[russian.id].final) == ("2", "3")
    assert masha.cells[math.id].average == Decimal("4.17")
    assert masha.cells[math.id].mark == "4"
    assert (petr.average, masha.average) == (Decimal("3.42"), Decimal("4.59"))
    assert [(row.place, row.student.given_name) for row in report.rating] == [
        (1, "Мария"),
        (2, "Пётр"),
    ]
    assert (petr.attendance.absent, petr.attendance.attended_rate) == (1, Decimal("75.0"))


def test_sql_averages_agree_with_the_journal_summaries(example, period):
    # The report decides averages and suggestions in SQL; the family pages with
    # journal.queries.summarize. They must never disagree.
    one = example.one
    report = services.class_report(one.classes["6А"], period, region_today())
    rule = rule_of(current_policy(one.school.id))
    for row in report.students:
        for subject in (example.subjects["math"], example.subjects["russian"]):
            marks = current_marks([row.student.id], period.starts_on, period.ends_on, subject.id)
            summary = summarize(subject, marks, rule)
            cell = row.cells[subject.id]
            assert (cell.average, cell.suggested) == (summary.average, summary.suggested)


def test_a_2_as_period_mark_fails_the_student_until_the_teacher_sets_another(example, period):
    one = example.one
    db.session.execute(sa.update(FinalMark).values(deleted=True))
    db.session.commit()
    report = services.class_report(one.classes["6А"], period, region_today())
    assert report.total.success_rate == Decimal("50.0")
    assert report.by_subject[example.subjects["russian"].id].success_rate == Decimal("50.0")


def test_school_report_numbers_and_completeness(example, period):
    one = example.one
    report = services.school_report(one.school, period, region_today())
    classes = {school_class.name: figures for school_class, figures in report.classes}
    assert classes["6А"].average == Decimal("4.00")
    assert classes["6А"].attended_rate == Decimal("75.0")
    assert (classes["9Б"].students, classes["9Б"].assessed) == (1, 0)
    assert classes["9Б"].success_rate is None
    assert report.total.students == 3
    assert (report.total.quality_rate, report.total.success_rate) == (
        Decimal("50.0"),
        Decimal("100.0"),
    )
    subjects = {subject.name: figures for subject, figures in report.subjects}
    assert subjects["Математика"].average == Decimal("4.50")
    # Math: lessons 1 and 2 × 2 students, Пётр «н» at lesson 1 → 3 of 4.
    assert subjects["Математика"].attended_rate == Decimal("75.0")
    teachers = {member.family_name: figures for member, figures in report.teachers}
    smirnova, orlov = teachers["Смирнова"], teachers["Орлов"]
    assert (smirnova.lessons, smirnova.with_topic, smirnova.with_homework) == (2, 1, 1)
    assert (smirnova.topic_rate, smirnova.homework_rate) == (Decimal("50.0"), Decimal("50.0"))
    assert (smirnova.without_marks, smirnova.completeness) == (0, Decimal("50.0"))
    assert (orlov.lessons, orlov.with_topic, orlov.with_homework) == (2, 2, 1)
    assert (orlov.without_marks, orlov.completeness) == (1, Decimal("75.0"))
    assert report.total.completeness == Decimal("62.5")


def test_region_numbers_agree_with_the_school_report(example, period):
    region = services.region_report(period.number, region_today())
    lines = {line.school.id: line for block in region.municipalities for line in block.schools}
    line = lines[example.one.school.id]
    school = services.school_report(example.one.school, period, region_today()).total
    assert line.period.id == period.id
    for name in ("students", "assessed", "successful", "quality", "cents_sum", "cents_count"):
        assert getattr(line.figures, name) == getattr(school, name), name
    assert line.figures.attended_rate == Decimal("75.0")
    assert line.figures.completeness == Decimal("62.5")
    assert lines[example.two.school.id].figures.students == 3
    assert lines[example.two.school.id].figures.average is None
    assert region.total.students == 6


def test_class_page_shows_the_numbers_in_russian(example, period, login):
    client = login(example.people["teacher"])
    page = client.get(f"/reports/classes/{example.one.classes['6А'].id}?period={period.id}")
    assert page.status_code == 200
    text = text_of(page)
    assert "Отчёт по классу 6А" in text
    assert "Математика 4,50 100,0 100,0" in text
    assert "Русский язык 3,50 50,0 100,0" in text
    assert "Весь класс 4,00 50,0 100,0" in text
    assert "Посещено 75,0 %" in text
    assert "Рейтинг" in text
    assert "Успеваемость" in text and "Качество знаний" in text
    assert "ни одной «2»" in text


def test_school_and_region_pages(example, period, login):
    page = login(example.people["admin"]).get(
        f"/reports/schools/{example.one.school.id}?period={period.id}"
    )
    assert page.status_code == 200
    text = text_of(page)
    assert "Полнота журнала" in text
    assert "Смирнова Ольга Викторовна 2 1 (50,0 %) 1 (50,0 %) 0 50,0" in text
    assert "Орлов Павел Игоревич 2 2 (100,0 %) 1 (50,0 %) 1 75,0" in text

    department = login(example.people["department"])
    page = department.get(f"/reports/region?period_number={period.number}")
    assert page.status_code == 200
    text = text_of(page)
    assert "Средняя общеобразовательная школа № 1 3 4,00 50,0 100,0 75,0 62,5" in text
    assert "Заречный муниципальный район" in text
    for name in STUDENT_NAMES:
        assert name not in text
    # The department may read a school's aggregates, never a class's list of students.
    school_page = department.get(f"/reports/schools/{example.one.school.id}")
    assert school_page.status_code == 200
    for name in STUDENT_NAMES:
        assert name not in text_of(school_page)
    assert department.get(f"/reports/classes/{example.one.classes['6А'].id}").status_code == 403


def _csv_rows(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


def test_class_csv_and_xlsx(example, period, login):
    client = login(example.people["admin"])
    class_id = example.one.classes["6А"].id
    response = client.get(f"/reports/classes/{class_id}.csv?period={period.id}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    assert f'filename="class-{class_id}-' in disposition
    assert "filename*=UTF-8''" in disposition
    disposition.encode("ascii")  # the header itself stays ASCII
    rows = _csv_rows(response)
    assert ["Математика", "4,50", "100,0", "100,0", "2"] in rows
    assert ["Весь класс", "4,00", "50,0", "100,0", "2"] in rows
    petr = next(row for row in rows if row and row[0] == "Иванов Пётр Сергеевич")
    assert petr[1:5] == ["4,83", "5", "2,00", "3"]
    assert petr[5:] == ["3,42", "2", "1", "75,0"]
    assert ["2", "8", "1", "1", "0", "1", "75,0"] in rows

    response = client.get(f"/reports/classes/{class_id}.xlsx?period={period.id}")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    workbook = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    sheet = workbook["Предметы"]
    header = [cell.value for cell in sheet[1]]
    assert header[:4] == ["Предмет", "Средний балл", "Качество знаний, %", "Успеваемость, %"]
    assert sheet[1][0].font.bold
    assert sheet.column_dimensions["A"].width > 10
    values = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]
    assert ["Математика", 4.5, 100, 100, 2] in values
    assert ["Русский язык", 3.5, 50, 100, 2] in values
    students = workbook["Ученики"]
    petr = next(
        [cell.value for cell in row]
        for row in students.iter_rows(min_row=2)
        if row[0].value == "Иванов Пётр Сергеевич"
    )
    assert petr == [
        "Иванов Пётр Сергеевич",
        pytest.approx(4.83),
        "5",
        2,
        "3",
        pytest.approx(3.42),
        2,
        1,
        75,
    ]


def test_school_and_region_files(example, period, login):
    admin = login(example.people["admin"])
    rows = _csv_rows(admin.get(f"/reports/schools/{example.one.school.id}.csv?period={period.id}"))
    assert ["Смирнова Ольга Викторовна", "2", "1", "50,0", "1", "50,0", "0", "50,0"] in rows
    assert rows[-1] == ["Вся школа", "4", "3", "75,0", "2", "50,0", "1", "62,5"]
    department = login(example.people["department"])
    response = department.get(f"/reports/region.csv?period_number={period.number}")
    assert response.status_code == 200
    rows = _csv_rows(response)
    school = next(
        row for row in rows if len(row) > 1 and row[1] == "Средняя общеобразовательная школа № 1"
    )
    assert school[0] == "Городской округ Демонстрационный"
    assert school[3:] == ["3", "4,00", "50,0", "100,0", "75,0", "62,5"]
    body = response.get_data().decode("utf-8-sig")
    for name in STUDENT_NAMES:
        assert name not in body
    response = department.get(f"/reports/region.xlsx?period_number={period.number}")
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    line = next(
        [cell.value for cell in row]
        for row in sheet.iter_rows(min_row=2)
        if row[1].value == "Средняя общеобразовательная школа № 1"
    )
    assert line[3:] == [3, 4, 50, 100, 75, 62.5]


def test_rating_is_hidden_when_the_school_disabled_it(example, period, login):
    example.one.school.rating_enabled = False
    db.session.commit()
    page = login(example.people["teacher"]).get(
        f"/reports/classes/{example.one.classes['6А'].id}?period={period.id}"
    )
    assert page.status_code == 200
    assert "Рейтинг" not in text_of(page)
    petr = example.one.students["petr"]
    assert (
        login(example.people["parent"]).get(f"/reports/students/{petr.id}/rating").status_code
        == 404
    )


def test_a_family_sees_only_the_own_place(example, period, login):
    petr, masha = example.one.students["petr"], example.one.students["masha"]
    page = login(example.people["parent"]).get(f"/reports/students/{petr.id}/rating")
    assert page.status_code == 200
    text = text_of(page)
    assert "Место в классе: 2 из 2" in text
    assert "Кузнецова" not in text  # (the parent herself is a Мария: check the family name)
    page = login(example.people["parent2"]).get(f"/reports/students/{masha.id}/rating")
    assert "Место в классе: 1 из 2" in text_of(page)
    assert "Иванов" not in text_of(page)
    # Someone else's child: refused.
    assert (
        login(example.people["parent2"]).get(f"/reports/students/{petr.id}/rating").status_code
        == 403
    )
    # The student herself: «your place»; alone in 9Б without marks: no place yet.
    alisa = example.one.students["alisa"]
    page = login(example.people["alisa"]).get(f"/reports/students/{alisa.id}/rating")
    assert page.status_code == 200
    assert "Пока нет места" in text_of(page)
    assert (
        login(example.people["alisa"]).get(f"/reports/students/{petr.id}/rating").status_code == 403
    )
    assert login(example.people["parent"]).get("/reports/students/999999/rating").status_code == 404


def test_the_student_herself_reads_your_place(example, period, day, login):
    one = example.one
    alisa = one.students["alisa"]
    lesson = Lesson(
        school_class=one.classes["9Б"],
        subject=example.subjects["math"],
        teacher=one.staff["teacher"],
        on_date=day,
        lesson_number=1,
    )
    db.session.add(
        Mark(
            lesson=lesson,
            student=alisa,
            value="5",
            kind="oral",
            weight=2,
            author=one.staff["teacher"],
        )
    )
    db.session.commit()
    page = login(example.people["alisa"]).get(f"/reports/students/{alisa.id}/rating")
    assert "Ваше место: 1 из 1" in text_of(page)


@pytest.mark.parametrize("who", ["parent", "nobody", "two_admin", "two_teacher2", "nurse"])
def test_strangers_are_refused_class_and_school_reports(world, login, who):
    client = login(world.people[who])
    class_id = world.one.classes["6А"].id
    school_id = world.one.school.id
    math_id = world.subjects["math"].id
    for url in (
        f"/reports/classes/{class_id}",
        f"/reports/classes/{class_id}.csv",
        f"/reports/classes/{class_id}.xlsx",
        f"/reports/classes/{class_id}/{math_id}/print",
        f"/reports/schools/{school_id}",
        f"/reports/schools/{school_id}.xlsx",
        "/reports/region",
        "/reports/region.csv",
    ):
        response = client.get(url)
        assert response.status_code == 403, url
    assert "Доступ запрещён" in text_of(client.get(f"/reports/classes/{class_id}"))


def test_staff_of_the_class_may_read_its_report(world, login):
    class_id = world.one.classes["6А"].id
    for who in ("teacher", "teacher2", "admin"):
        assert login(world.people[who]).get(f"/reports/classes/{class_id}").status_code == 200
    # A subject teacher is not the school's administrator.
    school_id = world.one.school.id
    assert login(world.people["teacher2"]).get(f"/reports/schools/{school_id}").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(world, login):
    client = login(None)
    class_id = world.one.classes["6А"].id
    for url in ("/reports/", f"/reports/classes/{class_id}", "/reports/region"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_missing_objects_and_bad_periods_are_404(world, login):
    client = login(world.people["admin"])
    class_id = world.one.classes["6А"].id
    other_period = world.two.periods[0].id
    assert client.get("/reports/classes/999999").status_code == 404
    assert client.get("/reports/schools/999999").status_code == 404
    assert client.get(f"/reports/classes/{class_id}?period=abc").status_code == 404
    assert client.get(f"/reports/classes/{class_id}?period={other_period}").status_code == 404
    assert client.get(f"/reports/classes/{class_id}/999999/print").status_code == 404
    department = login(world.people["department"])
    assert department.get("/reports/region?period_number=9").status_code == 404


def test_printable_journal(example, period, day, login):
    client = login(example.people["teacher"])
    class_id = example.one.classes["6А"].id
    math = example.subjects["math"]
    page = client.get(f"/reports/classes/{class_id}/{math.id}/print?period={period.id}")
    assert page.status_code == 200
    text = text_of(page)
    assert "Классный журнал" in text
    assert "Смирнова Ольга Викторовна" in text
    # Пётр: «н» and 5 at lesson 1, 4 at lesson 2, average 4,83, period mark 5 (suggested).
    assert "1 Иванов Пётр н 5 4 4,83 5" in text
    assert "2 Кузнецова Мария 4 5 4,17 4" in text
    assert f"{day:%d.%m.%Y} 1 Дроби № 12, 14" in text
    assert "Отменённый урок" not in text
    russian = example.subjects["russian"]
    page = client.get(f"/reports/classes/{class_id}/{russian.id}/print?period={period.id}")
    text = text_of(page)
    assert "1 Иванов Пётр 2 оп 2,00 3" in text
    assert "зач" in text


def test_index_lists_what_each_viewer_may_open(world, login):
    text = text_of(login(world.people["teacher2"]).get("/reports/"))
    assert "Класс 6А" in text and "Класс 9Б" in text
    assert "Средняя общеобразовательная школа № 1" not in text
    text = text_of(login(world.people["admin"]).get("/reports/"))
    assert "Средняя общеобразовательная школа № 1" in text
    text = text_of(login(world.people["department"]).get("/reports/"))
    assert "Сводка управления образования" in text
    assert "Средняя общеобразовательная школа № 2" in text
    text = text_of(login(world.people["parent"]).get("/reports/"))
    assert "Иванов Пётр Сергеевич" in text
    text = text_of(login(world.people["nobody"]).get("/reports/"))
    assert "Здесь нет отчётов для вас" in text
