"""The portal's demo people the demo regions hold (matched by the keyed hash of their
SNILS, as anyone is at sign-in) and the two demo regions: their places, schools and
people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from diary_service.demo.places import DISTRICTS, DISTRICTS_2, TOWNS, TOWNS_2


@dataclass(frozen=True)
class DemoPerson:
    family: str
    given: str
    middle: str
    snils: str | None  # None: the school's records have no SNILS for them
    born: date | None = None


PETR = DemoPerson("Иванов", "Пётр", "Сергеевич", "050-234-316 00", date(2014, 9, 2))


KSENIA = DemoPerson("Соколова", "Ксения", "Дмитриевна", "071-458-293 70", date(2014, 3, 11))


# The population knows his SNILS (081-569-304 79); the school never recorded it.
MAKSIM = DemoPerson("Кириллов", "Максим", "Тимурович", None, date(2014, 7, 23))


ALISA = DemoPerson("Иванова", "Алиса", "Сергеевна", "016-103-396 00", date(2011, 5, 17))


MARIA = DemoPerson("Иванова", "Мария", "Петровна", "112-233-445 95")


SERGEY = DemoPerson("Петров", "Сергей", "Николаевич", "987-654-321 83")


OLGA = DemoPerson("Смирнова", "Ольга", "Викторовна", "820-981-233 00")


NIKOLAY = DemoPerson("Орлов", "Николай", "Андреевич", "146-752-983 02")


ELENA = DemoPerson("Морозова", "Елена", "Юрьевна", "237-418-560 78")


VERA = DemoPerson("Белова", "Вера", "Ивановна", "358-129-674 09")


@dataclass(frozen=True)
class DemoRegion:
    """What makes one demo region differ from another: its places, its schools (the
    first one, ``demo``, holds the portal's demo people) and who of them is where."""

    name: str
    towns: list[str]
    districts: list[str]
    # (kind, municipality: 0 the first town, 1 the first district; classes per grade,
    # class size, mark policy); kind "village" is a village school. The first is the
    # demo school; the rest are the small scale's other schools.
    schools: list[tuple[str, int, int, tuple[int, int], str]]
    students: dict[str, tuple[DemoPerson, ...]]  # class → its demo students (first pupils)
    guardians: dict[DemoPerson, tuple[DemoPerson, ...]]  # the school's links to parents
    # The demo mathematics teacher, the classes she teaches it in and the one she leads.
    teacher: DemoPerson | None = None
    teacher_classes: tuple[str, ...] = ()
    led_class: str | None = None
    admin: DemoPerson | None = None
    nurse: DemoPerson | None = None
    department: DemoPerson | None = None
    corrected: tuple[DemoPerson, str] | None = None  # whose first mark of what is corrected
    # This week's changes in the demo school: (class, when, kind, subject or None);
    # when: "next" (the first day after today), "last" (the week's last), "any".
    changes: tuple[tuple[str, str, str, str | None], ...] = ()
    quarantined: str = "2Б"  # the demo school's class in quarantine
    meeting_class: str = "6А"  # the demo school's class whose parents meet again soon

    @property
    def featured(self) -> set[str]:
        """The demo school's classes the README describes (timetabled first)."""
        return set(self.students) | set(self.teacher_classes)


REGIONS = {
    1: DemoRegion(
        name="Демонстрационная область",
        towns=TOWNS,
        districts=DISTRICTS,
        schools=[
            ("СОШ", 0, 2, (22, 25), "weighted"),
            ("Гимназия", 0, 1, (20, 25), "arithmetic"),
            ("village", 1, 1, (18, 22), "rounding"),
        ],
        students={"6А": (PETR, KSENIA, MAKSIM)},
        guardians={PETR: (MARIA, SERGEY)},
        teacher=OLGA,
        teacher_classes=("6А", "9Б"),
        led_class="6А",
        admin=NIKOLAY,
        nurse=VERA,
        department=ELENA,
        corrected=(PETR, "Математика"),
        changes=(
            ("6А", "next", "substitution", "Математика"),
            ("6А", "last", "room_change", None),
            ("9Б", "any", "cancellation", None),
        ),
    ),
    # Алиса studies here: her mother Мария sees both children from one portal sign-in.
    # No other demo citizen works here, so its staff are all generated.
    2: DemoRegion(
        name="Заречная область",
        towns=TOWNS_2,
        districts=DISTRICTS_2,
        schools=[
            ("Лицей", 0, 2, (20, 25), "arithmetic"),
            ("СОШ", 0, 1, (22, 25), "weighted"),
            ("village", 1, 1, (14, 20), "rounding"),
        ],
        students={"9А": (ALISA,)},
        guardians={ALISA: (MARIA,)},
        corrected=(ALISA, "Алгебра"),
        changes=(
            ("9А", "next", "substitution", None),
            ("9А", "any", "cancellation", None),
        ),
        quarantined="3Б",
        meeting_class="9А",
    ),
}
