"""What happened in the school, the journal and the messages, for whoever listens
(notifications; the journal's lessons), and what a lower room tells a higher one (a
sign-in, heard by the family's links).

Senders call ``signal.send(current_app._get_current_object(), **fields)`` after their
transaction commits; the receivers must not fail the sender (they queue work). The
fields each signal carries are listed with it. ``person_signed_in`` is the exception:
it is sent inside the sign-in's transaction, and its receivers write in it (the sender
commits).
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
#: A person signed in and their row reflects the portal's claims now (their verified
#: ``children`` refreshed), inside the sign-in's transaction, before it commits: the
#: receivers bring what follows from the claims in line and write in that transaction.
#: Fields: ``person`` (the ``DiaryPerson``), ``claims`` (the userinfo claims),
#: ``index_key`` (the key of the SNILS blind index), ``now`` (naive UTC).
person_signed_in = _signals.signal("person-signed-in")
