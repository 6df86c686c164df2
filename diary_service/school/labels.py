"""The words for the journal's codes, one set for every page, e-mail and export: the
kinds of work a mark is given for, mark values that are not digits, attendance codes
and the kinds of remarks. They stand in the school's room, below the journal, because
the school's pages (the mark policy, the health worker's absences) name them too."""

from flask_babel import lazy_gettext as _l

MARK_KIND_LABELS = {
    "control": _l("control work"),
    "test": _l("short test"),
    "independent": _l("independent work"),
    "dictation": _l("dictation"),
    "lab": _l("laboratory or practical work"),
    "project": _l("project"),
    "oral": _l("oral answer"),
    "classwork": _l("work in class"),
    "homework": _l("homework assignment"),
}
MARK_VALUE_LABELS = {"pass": _l("pass"), "fail": _l("fail")}  # short, for grids: «зач»
MARK_VALUE_WORDS = {"pass": _l("pass (mark)"), "fail": _l("fail (mark)")}  # in sentences
ATTENDANCE_LABELS = {
    "н": _l("absent"),
    "б": _l("ill"),
    "у": _l("absent for a good reason"),
    "оп": _l("late"),
}
REMARK_KIND_LABELS = {
    "behaviour": _l("behaviour"),
    "preparation": _l("preparation for lessons"),
    "praise": _l("praise"),
}
