"""What happened in the school, the journal and the messages, for whoever listens
(notifications; the journal's lessons).

Senders call ``signal.send(current_app._get_current_object(), **fields)`` after their
transaction commits; the receivers must not fail the sender (they queue work). The
fields each signal carries are listed with it.
"""

from blinker import Namespace

_signals = Namespace()

#: A mark was given or corrected (not deleted). Fields: ``mark`` (the new current ``Mark``).
mark_recorded = _signals.signal("mark-recorded")
#: An absence or lateness was recorded. Fields: ``attendance`` (the new current row).
absence_recorded = _signals.signal("absence-recorded")
#: Homework was set or changed. Fields: ``homework`` (the ``Homework``).
homework_set = _signals.signal("homework-set")
#: A message was posted. Fields: ``message`` (the ``Message``).
message_posted = _signals.signal("message-posted")
#: A dated change of a class's timetable was added or removed. Fields: ``school_class``,
#: ``on_date``, ``lesson_number``.
timetable_changed = _signals.signal("timetable-changed")
