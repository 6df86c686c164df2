"""The demo schools' curriculum: subjects, weekly hours per grade, teachers'
specialities and special rooms, and how often each kind of work is marked. Plain
data."""

from __future__ import annotations

# name, short name
SUBJECTS = [
    ("Русский язык", "Рус. яз."),
    ("Литература", "Лит."),
    ("Математика", "Матем."),
    ("Алгебра", "Алг."),
    ("Геометрия", "Геом."),
    ("Английский язык", "Англ. яз."),
    ("История", "Ист."),
    ("Обществознание", "Общ."),
    ("География", "Геогр."),
    ("Биология", "Биол."),
    ("Физика", "Физ."),
    ("Химия", "Хим."),
    ("Информатика", "Информ."),
    ("Физкультура", "Физ-ра"),
    ("Музыка", "Муз."),
    ("ИЗО", "ИЗО"),
    ("Технология", "Техн."),
    ("Окружающий мир", "Окр. мир"),
]


# Hours a week per subject and grade (a five-day week, within the SanPiN limits:
# 21 in the first grade, 23 in the primary school, up to 34 in the senior one).
_PRIMARY = {
    "Русский язык": 5,
    "Литература": 4,
    "Математика": 4,
    "Окружающий мир": 2,
    "Английский язык": 2,
    "Музыка": 1,
    "ИЗО": 1,
    "Технология": 1,
    "Физкультура": 3,
}


CURRICULUM: dict[int, dict[str, int]] = {
    1: {k: v for k, v in _PRIMARY.items() if k != "Английский язык"},
    2: _PRIMARY,
    3: _PRIMARY,
    4: _PRIMARY,
    5: {
        "Русский язык": 5,
        "Литература": 3,
        "Математика": 5,
        "Английский язык": 3,
        "История": 2,
        "География": 1,
        "Биология": 1,
        "Информатика": 1,
        "Музыка": 1,
        "ИЗО": 1,
        "Технология": 2,
        "Физкультура": 2,
    },
    6: {
        "Русский язык": 6,
        "Литература": 3,
        "Математика": 5,
        "Английский язык": 3,
        "История": 2,
        "Обществознание": 1,
        "География": 1,
        "Биология": 1,
        "Музыка": 1,
        "ИЗО": 1,
        "Технология": 2,
        "Физкультура": 2,
    },
    7: {
        "Русский язык": 4,
        "Литература": 2,
        "Алгебра": 3,
        "Геометрия": 2,
        "Информатика": 1,
        "Английский язык": 3,
        "История": 2,
        "Обществознание": 1,
        "География": 2,
        "Биология": 1,
        "Физика": 2,
        "Музыка": 1,
        "ИЗО": 1,
        "Технология": 2,
        "Физкультура": 2,
    },
    8: {
        "Русский язык": 3,
        "Литература": 2,
        "Алгебра": 3,
        "Геометрия": 2,
        "Информатика": 1,
        "Английский язык": 3,
        "История": 2,
        "Обществознание": 1,
        "География": 2,
        "Биология": 2,
        "Физика": 2,
        "Химия": 2,
        "Музыка": 1,
        "Технология": 1,
        "Физкультура": 2,
    },
    9: {
        "Русский язык": 3,
        "Литература": 3,
        "Алгебра": 3,
        "Геометрия": 2,
        "Информатика": 1,
        "Английский язык": 3,
        "История": 3,
        "Обществознание": 1,
        "География": 2,
        "Биология": 2,
        "Физика": 3,
        "Химия": 2,
        "Физкультура": 2,
    },
    10: {
        "Русский язык": 2,
        "Литература": 3,
        "Алгебра": 4,
        "Геометрия": 3,
        "Информатика": 1,
        "Английский язык": 3,
        "История": 2,
        "Обществознание": 2,
        "География": 1,
        "Биология": 1,
        "Физика": 2,
        "Химия": 1,
        "Физкультура": 2,
    },
}


CURRICULUM[11] = CURRICULUM[10]


# Teachers' specialities: the subjects each teaches and the position's title. The primary
# school's class teacher teaches most of their own class's subjects.
SPECIALITIES: dict[str, tuple[tuple[str, ...], str]] = {
    "primary": (
        ("Русский язык", "Литература", "Математика", "Окружающий мир", "ИЗО", "Технология"),
        "учитель начальных классов",
    ),
    "russian": (("Русский язык", "Литература"), "учитель русского языка и литературы"),
    "math": (("Математика", "Алгебра", "Геометрия"), "учитель математики"),
    "english": (("Английский язык",), "учитель английского языка"),
    "history": (("История", "Обществознание"), "учитель истории и обществознания"),
    "geography": (("География",), "учитель географии"),
    "biology": (("Биология",), "учитель биологии"),
    "chemistry": (("Химия",), "учитель химии"),
    "physics": (("Физика",), "учитель физики"),
    "informatics": (("Информатика",), "учитель информатики"),
    "pe": (("Физкультура",), "учитель физической культуры"),
    "music": (("Музыка",), "учитель музыки"),
    "art": (("ИЗО",), "учитель изобразительного искусства"),
    "technology": (("Технология",), "учитель технологии"),
}


def speciality_of(subject: str, grade: int) -> str:
    if grade <= 4 and subject in SPECIALITIES["primary"][0]:
        return "primary"
    for key, (subjects, _position) in SPECIALITIES.items():
        if key != "primary" and subject in subjects:
            return key
    raise KeyError(subject)


# Where a speciality's teacher works (a numbered room otherwise).
SPECIAL_ROOMS = {"pe": "Спортзал", "technology": "Мастерская", "music": "Актовый зал"}


# Subjects whose marks are mostly for practical work: few homework assignments, no
# control works, and pass/fail for students exempt on health grounds (PE).
PRACTICAL = {"Физкультура", "Музыка", "ИЗО", "Технология"}


# Kinds of marks given at an ordinary lesson, with their relative frequency.
ORDINARY_KINDS = {
    "oral": 30,
    "classwork": 30,
    "homework": 20,
    "independent": 10,
    "test": 8,
    "project": 2,
}


PRACTICAL_KINDS = {"classwork": 60, "oral": 15, "project": 25}
