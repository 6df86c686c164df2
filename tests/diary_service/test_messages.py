"""Messages: direct threads between families and teachers, the class teacher's
announcements and the class parents' conversation, read through the pages as each role
and as strangers (school 2, the ``nobody`` person, a signed-out visitor)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from diary_service.extensions import db
from diary_service.messages import services
from diary_service.models.auth import DiaryPerson
from diary_service.models.family import Guardian
from diary_service.models.messages import Message, NotificationSetting, Thread, ThreadParticipant
from shared.sessions import utcnow
from tests.helpers import forms_of, submit, text_of


def token(client) -> str:
    """A CSRF token of the client's session (from the header's sign-out form)."""
    page = client.get("/messages/")
    form = next(f for f in forms_of(page.get_data(as_text=True)) if f.method == "post")
    return form.fields["csrf_token"]


def threads(kind: str | None = None) -> list[Thread]:
    query = sa.select(Thread).order_by(Thread.id)
    if kind:
        query = query.where(Thread.kind == kind)
    return list(db.session.execute(query).scalars())


def start(client, student_id: int, recipient: int | str, subject="Вопрос", body="Добрый день!"):
    url = f"/messages/new?student={student_id}"
    return submit(
        client,
        url,
        {"recipient": str(recipient), "subject": subject, "body": body},
        action=url,
    )


def give_account(student, name: str) -> DiaryPerson:
    """The student's own portal account (14+), as a sign-in would link it."""
    person = DiaryPerson(sub=f"sub-{name}", family_name=student.family_name, given_name=name)
    db.session.add(person)
    db.session.flush()
    student.person_id = person.id
    db.session.commit()
    return person


@pytest.fixture
def people(world):
    return world.people


@pytest.fixture
def direct(world, people, login) -> Thread:
    """The parent of Пётр (6А) writes to his Russian teacher."""
    response = start(login(people["parent"]), world.one.students["petr"].id, people["teacher2"].id)
    assert response.status_code == 302
    return threads("direct")[-1]


# --- direct threads -------------------------------------------------------------------------


def test_parent_chooses_a_child_then_one_of_its_teachers(world, people, login):
    client = login(people["parent"])
    page = client.get("/messages/new")
    # Two children: first the choice of whom the message is about.
    assert "Иванов Пётр Сергеевич, 6А" in text_of(page)
    assert "Иванова Алиса Сергеевна, 9Б" in text_of(page)
    page = client.get(f"/messages/new?student={world.one.students['petr'].id}")
    text = text_of(page)
    assert "Смирнова Ольга Викторовна (Математика, классный руководитель)" in text
    assert "Орлов Павел Игоревич (Русский язык)" in text
    assert "Соколова Нина Андреевна (администрация школы)" in text
    # The health worker and school 2's teachers are nobody to write to.
    assert "Белова" not in text
    assert len([o for o in forms_of(page.get_data(as_text=True)) if o.method == "post"]) == 2


def test_direct_thread_reaches_the_teacher_and_nobody_else(world, people, login, direct):
    teacher2 = login(people["teacher2"])
    listing = teacher2.get("/messages/")
    assert "Вопрос" in text_of(listing)
    assert "не прочитано" in text_of(listing)
    page = teacher2.get(f"/messages/{direct.id}")
    assert page.status_code == 200
    assert "Добрый день!" in text_of(page)
    assert "Об ученике: Иванов Пётр Сергеевич" in text_of(page)
    assert "1 новое сообщение" in text_of(page)
    # Opening the thread writes nothing; the reader marks it read with a button.
    assert "не прочитано" in text_of(teacher2.get("/messages/"))
    read = f"/messages/{direct.id}/read"
    assert submit(teacher2, f"/messages/{direct.id}", action=read).status_code == 302
    assert "не прочитано" not in text_of(teacher2.get("/messages/"))
    assert "новое" not in text_of(teacher2.get(f"/messages/{direct.id}"))
    # The teacher answers; the parent sees the answer as unread.
    reply = submit(teacher2, f"/messages/{direct.id}", {"body": "Здравствуйте, Мария Петровна."})
    assert reply.status_code == 302
    parent = login(people["parent"])
    assert "не прочитано" in text_of(parent.get("/messages/"))
    assert "Здравствуйте, Мария Петровна." in text_of(parent.get(f"/messages/{direct.id}"))
    for name in ("teacher", "admin", "nurse", "parent2", "alisa", "nobody", "two_teacher"):
        assert login(people[name]).get(f"/messages/{direct.id}").status_code == 403, name
        assert "Вопрос" not in text_of(login(people[name]).get("/messages/")), name
    assert login(people["two_teacher"]).get("/messages/999999").status_code == 404
    anonymous = login(None).get(f"/messages/{direct.id}")
    assert anonymous.status_code == 302 and "/login" in anonymous.location


def test_a_message_that_arrives_after_the_page_stays_unread(world, people, login, direct):
    teacher2 = login(people["teacher2"])
    page = teacher2.get(f"/messages/{direct.id}").get_data(as_text=True)
    read = next(f for f in forms_of(page) if f.action == f"/messages/{direct.id}/read")
    # Meanwhile the parent writes again; the teacher marks read what their page showed.
    again = submit(login(people["parent"]), f"/messages/{direct.id}", {"body": "И ещё вопрос."})
    assert again.status_code == 302
    assert teacher2.post(read.action, data=read.fields).status_code == 302
    assert "не прочитано" in text_of(teacher2.get("/messages/"))
    assert "1 новое сообщение" in text_of(teacher2.get(f"/messages/{direct.id}"))
    # A message of another thread is not something to mark read up to.
    other = dict(read.fields, seen="999999")
    assert teacher2.post(read.action, data=other).status_code == 400
    assert "не прочитано" in text_of(teacher2.get("/messages/"))


def test_strangers_cannot_reply_to_a_thread(world, people, login, direct):
    for name in ("nobody", "teacher", "two_teacher"):
        client = login(people[name])
        response = client.post(
            f"/messages/{direct.id}", data={"body": "чужой", "csrf_token": token(client)}
        )
        assert response.status_code == 403, name
    assert db.session.execute(sa.select(sa.func.count(Message.id))).scalar() == 1


def test_a_revoked_guardian_loses_the_thread(world, people, login, direct):
    petr = world.one.students["petr"]
    guardian = db.session.execute(
        sa.select(Guardian).where(
            Guardian.person_id == people["parent"].id, Guardian.student_id == petr.id
        )
    ).scalar_one()
    guardian.revoked_at = utcnow()
    db.session.commit()
    assert login(people["parent"]).get(f"/messages/{direct.id}").status_code == 403
    assert "Вопрос" not in text_of(login(people["parent"]).get("/messages/"))


def test_recipient_must_come_from_the_list(world, people, login):
    client = login(people["parent"])
    response = start(client, world.one.students["petr"].id, people["two_teacher"].id)
    assert response.status_code == 400
    assert "Выберите получателя из списка." in text_of(response)
    response = start(client, world.one.students["petr"].id, people["teacher2"].id, subject="")
    assert response.status_code == 400
    assert "Заполните это поле." in text_of(response)
    assert threads() == []


def test_nobody_writes_about_a_child_not_theirs(world, people, login):
    masha = world.one.students["masha"]
    assert login(people["parent"]).get(f"/messages/new?student={masha.id}").status_code == 403
    assert login(people["nobody"]).get(f"/messages/new?student={masha.id}").status_code == 403
    assert login(people["nurse"]).get(f"/messages/new?student={masha.id}").status_code == 403
    two = world.two.students["petr"]
    assert login(people["teacher"]).get(f"/messages/new?student={two.id}").status_code == 403
    assert login(people["parent"]).get("/messages/new?student=999999").status_code == 404
    assert "Вам некому написать" in text_of(login(people["nobody"]).get("/messages/new"))


def test_teacher_writes_to_the_guardians_of_a_student_they_teach(world, people, login):
    alisa = world.one.students["alisa"]
    client = login(people["teacher2"])
    page = client.get(f"/messages/new?student={alisa.id}")
    assert "Иванова Мария Петровна (родитель)" in text_of(page)
    assert start(client, alisa.id, people["parent"].id, subject="Сочинение").status_code == 302
    thread = threads("direct")[-1]
    assert {p.person_id for p in thread.participants} == {
        people["teacher2"].id,
        people["parent"].id,
    }
    assert "Сочинение" in text_of(login(people["parent"]).get("/messages/"))
    # The student herself does not see what her teacher and her parent write.
    assert login(people["alisa"]).get(f"/messages/{thread.id}").status_code == 403
    assert "Сочинение" not in text_of(login(people["alisa"]).get("/messages/"))


def test_admin_writes_to_all_guardians_of_a_student(world, people, login):
    petr = world.one.students["petr"]
    db.session.add(
        Guardian(
            student_id=petr.id,
            person_id=people["parent2"].id,
            kind="trusted",
            reason="test",
            sections=["schedule", "messages"],  # a trusted person is written to if granted
            opens_at=utcnow(),
        )
    )
    db.session.commit()
    client = login(people["admin"])
    page = client.get(f"/messages/new?student={petr.id}")
    assert "Всем родителям (законным представителям) ученика" in text_of(page)
    assert "Кузнецов Олег Ильич (доверенное лицо)" in text_of(page)
    assert start(client, petr.id, services.ALL_GUARDIANS).status_code == 302
    thread = threads("direct")[-1]
    assert {p.person_id for p in thread.participants} == {
        people["admin"].id,
        people["parent"].id,
        people["parent2"].id,
    }


def test_student_writes_to_her_teachers(world, people, login):
    client = login(people["alisa"])
    page = client.get("/messages/new")  # her only student record: no choice to make
    assert "Смирнова Ольга Викторовна (Математика)" in text_of(page)
    assert start(client, world.one.students["alisa"].id, people["teacher"].id).status_code == 302
    thread = threads("direct")[-1]
    assert login(people["teacher"]).get(f"/messages/{thread.id}").status_code == 200
    assert login(people["parent"]).get(f"/messages/{thread.id}").status_code == 403


# --- announcements ----------------------------------------------------------------------------


def announce(client, class_id: int, subject="Родительское собрание", body="В четверг в 18:00."):
    url = f"/messages/classes/{class_id}/announce"
    return submit(client, url, {"subject": subject, "body": body}, action=url)


def test_class_teacher_announces_to_the_parents_of_the_class(world, people, login):
    six_a = world.one.classes["6А"]
    masha = give_account(world.one.students["masha"], "Маша")
    assert announce(login(people["teacher"]), six_a.id).status_code == 302
    thread = threads("announcement")[-1]
    for name in ("parent", "parent2"):
        client = login(people[name])
        assert "Родительское собрание" in text_of(client.get("/messages/")), name
        page = client.get(f"/messages/{thread.id}")
        assert "В четверг в 18:00." in text_of(page)
        assert "Написать автору" in text_of(page)
    # Parents answer privately: the announcement takes no replies from them.
    response = login(people["parent"]).post(f"/messages/{thread.id}", data={"body": "Придём"})
    assert response.status_code in (400, 403)
    for person in (
        people["teacher2"],
        people["nurse"],
        people["two_admin"],
        people["nobody"],
        masha,
    ):
        assert login(person).get(f"/messages/{thread.id}").status_code == 403
        assert "Родительское собрание" not in text_of(login(person).get("/messages/"))
    # The private answer: a direct thread with the announcement's author, about the child.
    page = login(people["parent2"]).get(
        f"/messages/new?student={world.one.students['masha'].id}&to={people['teacher'].id}"
    )
    assert 'selected value="{}"'.format(people["teacher"].id) in page.get_data(as_text=True)


def test_only_who_leads_the_class_announces(world, people, login):
    nine_b = world.one.classes["9Б"]
    for name in ("teacher", "teacher2", "parent", "alisa", "two_admin", "nobody"):
        assert login(people[name]).get(f"/messages/classes/{nine_b.id}/announce").status_code == 403
    assert login(people["admin"]).get("/messages/classes/999999/announce").status_code == 404
    response = announce(login(people["admin"]), nine_b.id, subject="")
    assert response.status_code == 400 and "Заполните это поле." in text_of(response)
    assert announce(login(people["admin"]), nine_b.id).status_code == 302
    assert "Родительское собрание" in text_of(login(people["parent"]).get("/messages/"))


# --- the class parents' conversation ---------------------------------------------------------


def test_class_parents_conversation_is_created_on_first_use(world, people, login):
    six_a = world.one.classes["6А"]
    url = f"/messages/classes/{six_a.id}/parents"
    parent = login(people["parent"])
    page = parent.get(url)
    assert page.status_code == 200 and "Родители 6А класса" in text_of(page)
    assert threads("class_parents") == []
    assert submit(parent, url, {"body": "Кто едет на экскурсию?"}, action=url).status_code == 302
    thread = threads("class_parents")[0]
    parent2 = login(people["parent2"])
    assert parent2.get(url).location.endswith(f"/messages/{thread.id}")
    assert submit(parent2, f"/messages/{thread.id}", {"body": "Мы едем."}).status_code == 302
    assert len(threads("class_parents")) == 1
    teacher = login(people["teacher"])
    assert "Кто едет на экскурсию?" in text_of(teacher.get(f"/messages/{thread.id}"))
    # The class teacher reads and moderates but does not post there.
    response = teacher.post(
        f"/messages/{thread.id}", data={"body": "Я тоже", "csrf_token": token(teacher)}
    )
    assert response.status_code == 403


def test_students_and_strangers_never_see_the_parents_conversation(world, people, login):
    six_a = world.one.classes["6А"]
    url = f"/messages/classes/{six_a.id}/parents"
    submit(login(people["parent"]), url, {"body": "Привет всем"}, action=url)
    thread = threads("class_parents")[0]
    masha = give_account(world.one.students["masha"], "Маша")
    for person in (
        masha,
        people["teacher2"],
        people["nurse"],
        people["two_teacher"],
        people["nobody"],
    ):
        assert login(person).get(url).status_code == 403
        assert login(person).get(f"/messages/{thread.id}").status_code == 403
        assert "Родители 6А класса" not in text_of(login(person).get("/messages/"))
    # Alisa's parent is in the 9Б conversation, not 6А's through her; Alisa in none.
    alisa = login(people["alisa"])
    assert alisa.get(f"/messages/classes/{world.one.classes['9Б'].id}/parents").status_code == 403
    assert login(people["admin"]).get(f"/messages/{thread.id}").status_code == 200
    assert login(people["parent"]).get("/messages/classes/999999/parents").status_code == 404


def conversation(world, login, people) -> tuple[Thread, Message]:
    url = f"/messages/classes/{world.one.classes['6А'].id}/parents"
    submit(login(people["parent"]), url, {"body": "Нормальное сообщение"}, action=url)
    thread = threads("class_parents")[0]
    submit(login(people["parent2"]), f"/messages/{thread.id}", {"body": "Грубость"})
    message = db.session.execute(sa.select(Message).where(Message.body == "Грубость")).scalar_one()
    return thread, message


def test_class_teacher_hides_a_message_with_a_reason(world, people, login):
    thread, message = conversation(world, login, people)
    teacher = login(people["teacher"])
    action = f"/messages/hide/{message.id}"
    response = submit(teacher, f"/messages/{thread.id}", {"reason": "оскорбление"}, action=action)
    assert response.status_code == 302
    db.session.expire_all()
    message = db.session.get(Message, message.id)
    assert message.hidden_at is not None
    assert message.hidden_by_id == people["teacher"].id
    assert message.hidden_reason == "оскорбление"
    for name in ("parent", "parent2"):
        text = text_of(login(people[name]).get(f"/messages/{thread.id}"))
        assert "Скрыто классным руководителем: оскорбление" in text
        assert "Грубость" not in text
        assert "Нормальное сообщение" in text
    # The moderator may show it again.
    action = f"/messages/restore/{message.id}"
    assert submit(teacher, f"/messages/{thread.id}", action=action).status_code == 302
    db.session.expire_all()
    assert db.session.get(Message, message.id).hidden_at is None


def test_hiding_needs_a_reason_and_the_class_teacher(world, people, login):
    thread, message = conversation(world, login, people)
    teacher = login(people["teacher"])
    action = f"/messages/hide/{message.id}"
    response = submit(teacher, f"/messages/{thread.id}", {"reason": "  "}, action=action)
    assert response.status_code == 400
    assert "Заполните это поле." in text_of(response)
    for name in ("parent", "parent2", "teacher2", "two_admin", "nobody"):
        client = login(people[name])
        response = client.post(action, data={"reason": "спам", "csrf_token": token(client)})
        assert response.status_code == 403, name
    db.session.expire_all()
    assert db.session.get(Message, message.id).hidden_at is None
    # Only the parents' conversation is moderated: a direct message cannot be hidden.
    start(login(people["parent"]), world.one.students["petr"].id, people["teacher"].id)
    direct = db.session.execute(sa.select(Message).order_by(Message.id.desc())).scalars().first()
    fields = {"reason": "x", "csrf_token": token(teacher)}
    assert teacher.post(f"/messages/hide/{direct.id}", data=fields).status_code == 403
    assert teacher.post("/messages/hide/999999", data=fields).status_code == 404


def test_index_lists_threads_newest_first(world, people, login):
    petr = world.one.students["petr"].id
    client = login(people["parent"])
    start(client, petr, people["teacher"].id, subject="Первая тема")
    start(client, petr, people["teacher2"].id, subject="Вторая тема")
    text = text_of(client.get("/messages/"))
    assert text.index("Вторая тема") < text.index("Первая тема")
    # Own messages are read: nothing unread for their author.
    assert "не прочитано" not in text
    reads = db.session.execute(
        sa.select(ThreadParticipant.last_read_at).where(
            ThreadParticipant.person_id == people["parent"].id
        )
    ).scalars()
    assert all(reads)


# --- notification settings page ----------------------------------------------------------------


def test_settings_page_per_child_says_it_is_free(world, people, login):
    text = text_of(login(people["parent"]).get("/messages/settings"))
    assert "бесплатны" in text
    assert "Иванов Пётр Сергеевич" in text and "Иванова Алиса Сергеевна" in text
    assert "Сообщения вам как сотруднику школы" not in text
    teacher = text_of(login(people["teacher"]).get("/messages/settings"))
    assert "Сообщения вам как сотруднику школы" in teacher
    assert "Настраивать нечего" in text_of(login(people["nobody"]).get("/messages/settings"))


def settings_form(client, key: int | str, data: dict):
    url = f"/messages/settings/{key}"
    prefix = f"s{key if key != 'own' else 0}-"
    return submit(
        client, "/messages/settings", {prefix + k: v for k, v in data.items()}, action=url
    )


def test_settings_are_saved_for_one_child(world, people, login):
    petr = world.one.students["petr"]
    client = login(people["parent"])
    response = settings_form(
        client,
        petr.id,
        {"by_sms": "y", "on_homework": "y", "quiet_from": "22:30", "quiet_to": "07:15"},
    )
    assert response.status_code == 302
    setting = db.session.execute(sa.select(NotificationSetting)).scalar_one()
    assert (setting.person_id, setting.student_id) == (people["parent"].id, petr.id)
    assert (setting.by_email, setting.by_sms) == (False, True)
    assert (setting.on_mark, setting.on_absence, setting.on_homework) == (False, False, True)
    assert str(setting.quiet_from) == "22:30:00" and str(setting.quiet_to) == "07:15:00"
    page = client.get("/messages/settings")
    assert 'value="22:30"' in page.get_data(as_text=True)


def test_settings_validation_changes_nothing(world, people, login):
    masha = world.one.students["masha"]
    client = login(people["parent2"])  # no phone number from the portal
    response = settings_form(
        client, masha.id, {"by_sms": "y", "quiet_from": "21:00", "quiet_to": "08:00"}
    )
    assert response.status_code == 400
    assert "Портал не передал дневнику ваш номер телефона" in text_of(response)
    response = settings_form(
        client, masha.id, {"by_email": "y", "quiet_from": "25:99", "quiet_to": ""}
    )
    assert response.status_code == 400
    assert "Введите время в виде ЧЧ:ММ." in text_of(response)
    assert db.session.execute(sa.select(NotificationSetting)).first() is None


def test_settings_only_for_own_children(world, people, login):
    masha = world.one.students["masha"]
    data = {"by_email": "y", "quiet_from": "21:00", "quiet_to": "08:00"}
    client = login(people["parent"])
    data["csrf_token"] = token(client)
    assert client.post(f"/messages/settings/{masha.id}", data=data).status_code == 403
    assert client.post("/messages/settings/own", data=data).status_code == 403
    assert client.post("/messages/settings/999999", data=data).status_code == 404
    # A member of staff sets their own messages' notifications.
    response = settings_form(
        login(people["teacher"]),
        "own",
        {"on_message": "y", "by_email": "y", "quiet_from": "20:00", "quiet_to": "20:00"},
    )
    assert response.status_code == 400  # the teacher has no e-mail address from the portal
    response = settings_form(
        login(people["teacher"]),
        "own",
        {"on_message": "y", "by_email": "", "quiet_from": "20:00", "quiet_to": "20:00"},
    )
    assert response.status_code == 302
    setting = db.session.execute(sa.select(NotificationSetting)).scalar_one()
    assert setting.student_id is None and setting.on_message and not setting.by_email


def test_signed_out_visitors_are_sent_to_sign_in(world, login):
    client = login(None)
    for url in ("/messages/", "/messages/new", "/messages/settings"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.location, url


def test_teacher_chooses_among_the_students_of_their_classes(world, people, login):
    text = text_of(login(people["teacher2"]).get("/messages/new"))
    assert "Иванов Пётр Сергеевич, 6А" in text
    assert "Иванова Алиса Сергеевна, 9Б" in text
    assert text.count("Иванов Пётр Сергеевич") == 1  # school 2's Пётр is not theirs
    assert "Вам некому написать" in text_of(login(people["nurse"]).get("/messages/new"))
