"""Importing a school's roster from CSV, on the administrator's page and from the command
line: a good file is imported whole; a file with any bad line imports nothing and the
report names every bad line with its number and reason, in Russian."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa

from diary_service.extensions import db
from diary_service.models.school import Enrolment, SchoolClass, StaffMember, Student
from diary_service.school.cli import roster_cli
from tests.diary_service.test_school_admin import count, index, make_snils
from tests.helpers import forms_of, text_of


def upload(client, school_id: int, kind: str, content: bytes):
    url = f"/school/{school_id}/import"
    page = client.get(url)
    [form] = [
        f for f in forms_of(page.get_data(as_text=True)) if f.method == "post" and not f.action
    ]
    return client.post(
        url,
        data={
            "csrf_token": form.fields["csrf_token"],
            "kind": kind,
            "file": (io.BytesIO(content), f"{kind}.csv"),
        },
        content_type="multipart/form-data",
    )


def rows_of(response) -> list[list[str]]:
    """The report table, row by row, each cell as text."""
    html = response.get_data(as_text=True).split("school-report")[1].split("</table>")[0]
    return [
        [
            " ".join(re.sub(r"<[^>]+>", " ", cell).split())
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S)[1:]
    ]


def test_templates_are_csv_headers_excel_opens(world, login):
    client = login(world.people["admin"])
    sid = world.one.school.id
    expected = {
        "classes": "параллель;буква;снилс классного руководителя",
        "staff": "фамилия;имя;отчество;снилс;роли;должность",
        "students": "фамилия;имя;отчество;дата рождения;снилс;класс;дата зачисления",
    }
    for kind, header in expected.items():
        response = client.get(f"/school/{sid}/import/{kind}.csv")
        assert response.status_code == 200
        assert response.mimetype == "text/csv"
        assert f"filename={kind}.csv" in response.headers["Content-Disposition"]
        assert response.data == ("\ufeff" + header + "\r\n").encode()


def test_classes_then_staff_then_students_are_imported(world, login):
    client = login(world.people["admin"])
    sid = world.one.school.id
    teacher_snils = make_snils(100)

    # Staff: «,» between values as some spreadsheets save, roles quoted.
    staff_file = (
        "family_name,given_name,middle_name,snils,roles,position\n"
        f'Зайцев,Олег,Петрович,{teacher_snils},"teacher,class_teacher",учитель физики\n'
        f"Лебедева,Анна,,{make_snils(101)},health_worker,медсестра\n"
    ).encode()
    response = upload(client, sid, "staff", staff_file)
    assert response.status_code == 200, text_of(response)
    assert "Загружено 2 строки." in text_of(response)
    zaitsev = db.session.execute(
        sa.select(StaffMember).where(StaffMember.family_name == "Зайцев")
    ).scalar_one()
    assert zaitsev.role_names == {"teacher", "class_teacher"}
    assert zaitsev.snils_index == index(teacher_snils)
    assert zaitsev.position == "учитель физики" and zaitsev.school_id == sid

    # Classes: Excel's «;» and byte-order mark, the class teacher by SNILS, the columns
    # named in Russian as the template names them.
    classes_file = (
        "\ufeffПараллель;Буква;СНИЛС классного руководителя\r\n7;б;"
        + teacher_snils
        + "\r\n8;В;\r\n"
    ).encode()
    response = upload(client, sid, "classes", classes_file)
    assert response.status_code == 200, text_of(response)
    seven = db.session.execute(
        sa.select(SchoolClass).where(SchoolClass.grade == 7, SchoolClass.letter == "Б")
    ).scalar_one()
    assert seven.class_teacher_id == zaitsev.id and seven.year_id == world.one.year.id
    assert rows_of(response) == [["2", "7Б", "загружено"], ["3", "8В", "загружено"]]

    # Students, with dates in both ways people write them.
    students_file = (
        "family_name;given_name;middle_name;birth_date;snils;class;admission_date\n"
        f"Орлова;Дарья;Игоревна;05.06.2013;{make_snils(102)};7Б;\n"
        f"Павлов;Максим;;2012-01-30;{make_snils(103)};8 в;{world.one.year.starts_on.isoformat()}\n"
    ).encode()
    response = upload(client, sid, "students", students_file)
    assert response.status_code == 200, text_of(response)
    assert "Загружено 2 строки." in text_of(response)
    orlova = db.session.execute(
        sa.select(Student).where(Student.family_name == "Орлова")
    ).scalar_one()
    assert orlova.snils_index == index(make_snils(102)) and orlova.school_id == sid
    [enrolment] = orlova.enrolments
    assert enrolment.class_id == seven.id and enrolment.reason == "admission"
    pavlov = db.session.execute(
        sa.select(Student).where(Student.family_name == "Павлов")
    ).scalar_one()
    assert pavlov.enrolments[0].starts_on == world.one.year.starts_on
    assert "Павлов Максим" in text_of(client.get(f"/school/{sid}/students"))


def test_a_file_with_bad_lines_imports_nothing_and_names_each_line(world, login):
    client = login(world.people["admin"])
    sid = world.one.school.id
    world.one.students["petr"].snils_index = index(make_snils(200))
    world.two.students["alisa"].snils_index = index(make_snils(201))
    db.session.commit()
    before = count(Student), count(Enrolment)
    good = make_snils(202)
    content = (
        "family_name;given_name;middle_name;birth_date;snils;class;admission_date\n"
        f"Орлова;Дарья;Игоревна;05.06.2013;{good};6А;\n"  # line 2: fine
        f"Соколов;Иван;;31.02.2013;{make_snils(203)};6А;\n"  # 3: no such date
        "Белов;Денис;;01.02.2013;123-456-789 00;6А;\n"  # 4: checksum
        f"Орлов;Илья;;01.02.2013;{good};6А;\n"  # 5: the same SNILS as line 2
        f"Петров;Пётр;;01.02.2013;{make_snils(204)};7Я;\n"  # 6: no such class
        f"Иванов;Пётр;;02.09.2014;{make_snils(200)};6А;\n"  # 7: already at this school
        f"Иванова;Алиса;;17.05.2011;{make_snils(201)};9Б;\n"  # 8: at another school
        f";Глеб;;01.02.2013;{make_snils(205)};6А;01.01.2001\n"  # 9: no family name, date
    ).encode()
    response = upload(client, sid, "students", content)
    assert response.status_code == 400
    text = text_of(response)
    assert "Ничего не загружено: ошибки в 7 строках." in text
    rows = {row[0]: row for row in rows_of(response)}
    assert rows["2"][2] == "верно"
    assert "«birth_date»: Дата пишется в виде ДД.ММ.ГГГГ." in rows["3"][2]
    assert "«snils»: Контрольное число СНИЛС не сходится" in rows["4"][2]
    assert "«snils»: То же, что в строке 2." in rows["5"][2]
    assert "«class»: Класса «7Я» в этом году нет." in rows["6"][2]
    assert "Ученик с этим СНИЛС уже учится в этой школе." in rows["7"][2]
    assert "учится в другой школе" in rows["8"][2]
    assert "«family_name»: Не заполнено." in rows["9"][2]
    assert "«admission_date»: Дата вне учебного года" in rows["9"][2]
    # No SNILS appears in the report.
    assert good not in response.get_data(as_text=True)
    assert (count(Student), count(Enrolment)) == before


def test_header_and_encoding_problems_are_reported(world, login):
    client = login(world.people["admin"])
    sid = world.one.school.id
    missing = upload(client, sid, "staff", b"family_name;given_name;snils;role\n")
    assert missing.status_code == 400
    text = text_of(missing)
    assert "Неизвестный столбец «role»." in text
    assert "Нет столбца «roles»." in text
    # A Russian header is answered in its own words.
    russian = upload(client, sid, "staff", "Фамилия;Имя;СНИЛС;роль\n".encode())
    assert "Неизвестный столбец «роль»." in text_of(russian)
    assert "Нет столбца «роли»." in text_of(russian)
    cp1251 = upload(client, sid, "classes", "grade;letter\n7;Б\n".encode("cp1251"))
    assert "Файл не в кодировке UTF-8." in text_of(cp1251)
    empty = upload(client, sid, "classes", b"")
    assert "Файл пуст." in text_of(empty)
    only_header = upload(client, sid, "classes", b"grade;letter\n")
    assert "В файле есть заголовок, но нет строк." in text_of(only_header)
    assert count(SchoolClass) == 4


def test_staff_and_class_duplicates_are_refused(world, login):
    client = login(world.people["admin"])
    sid = world.one.school.id
    world.one.staff["teacher2"].snils_index = index(make_snils(300))
    db.session.commit()
    staff = upload(
        client,
        sid,
        "staff",
        (
            "family_name;given_name;snils;roles\n"
            f"Орлов;Павел;{make_snils(300)};teacher\n"
            f"Новая;Ирина;{make_snils(301)};teacher,director\n"
            f"Новый;Игорь;{make_snils(302)};\n"
        ).encode(),
    )
    assert staff.status_code == 400
    rows = {row[0]: row[2] for row in rows_of(staff)}
    assert "Сотрудник с этим СНИЛС уже есть в списке." in rows["2"]
    assert "Неизвестная роль «director»." in rows["3"]
    assert "Укажите хотя бы одну роль" in rows["4"]
    classes = upload(
        client,
        sid,
        "classes",
        f"grade;letter;class_teacher_snils\n6;А;\n12;Б;\n5;В;\n5;в;\n5;Г;{make_snils(399)}\n²;Д;\n".encode(),
    )
    assert classes.status_code == 400
    rows = {row[0]: row[2] for row in rows_of(classes)}
    assert "Класс 6А в этом году уже есть." in rows["2"]
    assert "«grade»: Целое число от 1 до 11." in rows["3"]
    assert rows["4"] == "верно"
    assert "То же, что в строке 4." in rows["5"]
    assert "Среди работающих сотрудников школы нет человека с этим СНИЛС." in rows["6"]
    assert "«grade»: Целое число от 1 до 11." in rows["7"]  # "²" is no grade (it was a 500)
    assert count(StaffMember) == 9 and count(SchoolClass) == 4


# --- the command line -------------------------------------------------------------------


def test_cli_imports_a_good_file(world, diary, tmp_path):
    path = tmp_path / "classes.csv"
    path.write_bytes("\ufeffgrade;letter\n10;А\n10;Б\n11;А\n".encode())
    result = diary.test_cli_runner().invoke(
        roster_cli, ["import", "--school", str(world.one.school.id), "--kind", "classes", str(path)]
    )
    assert result.exit_code == 0, result.output
    assert "Загружено: 3." in result.output
    names = {
        c.name
        for c in db.session.execute(
            sa.select(SchoolClass).where(SchoolClass.school_id == world.one.school.id)
        ).scalars()
    }
    assert names == {"6А", "9Б", "10А", "10Б", "11А"}


def test_cli_refuses_a_bad_file_line_by_line_and_writes_nothing(world, diary, tmp_path):
    path = tmp_path / "students.csv"
    path.write_bytes(
        (
            "family_name;given_name;middle_name;birth_date;snils;class\n"
            f"Орлова;Дарья;;05.06.2013;{make_snils(400)};6А\n"
            f"Белов;Денис;;01.02.2013;{make_snils(401)};5Б\n"
        ).encode()
    )
    before = count(Student)
    result = diary.test_cli_runner().invoke(
        roster_cli,
        ["import", "--school", str(world.one.school.id), "--kind", "students", str(path)],
    )
    assert result.exit_code == 1
    assert "Строка 3: «class»: Класса «5Б» в этом году нет." in result.output
    assert "Ничего не загружено: ошибки в 1 строке." in result.output
    assert count(Student) == before
    unknown = diary.test_cli_runner().invoke(
        roster_cli, ["import", "--school", "999999", "--kind", "students", str(path)]
    )
    assert unknown.exit_code == 1 and "Школы 999999 нет." in unknown.output


def test_cli_adds_the_first_administrator_of_a_school(world, diary):
    result = diary.test_cli_runner().invoke(
        roster_cli,
        [
            "add-staff",
            "--school",
            str(world.two.school.id),
            "--family-name",
            "Волков",
            "--given-name",
            "Андрей",
            "--role",
            "school_admin",
            "--snils",
            make_snils(500),
        ],
    )
    assert result.exit_code == 0, result.output
    member = db.session.execute(
        sa.select(StaffMember).where(StaffMember.snils_index == index(make_snils(500)))
    ).scalar_one()
    assert member.school_id == world.two.school.id and member.role_names == {"school_admin"}
    template = diary.test_cli_runner().invoke(roster_cli, ["template", "--kind", "staff"])
    assert template.output.strip() == "фамилия;имя;отчество;снилс;роли;должность"
