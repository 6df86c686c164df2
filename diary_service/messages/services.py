"""Rules of the messages room: who may write to whom, who reads which thread, posting,
moderation, unread marks, notification settings and the outbox sender.

Direct threads are read by their participants only. The class-wide threads (the class
teacher's announcements and the class parents' conversation) are read by the parents
of the class's current students, the class teacher and the school's administrators;
never by students, whose own account sees only the direct threads they are in. Staff
may write to the guardians of the students of the classes they teach or lead now (any
of their school's if they administer it): ``access.can_message_guardians_of``; the
family's side is ``access.message_family_ids``. The rules of a thread itself (who reads,
posts, moderates it) are ``access``'s too, made of those.

A trusted person (issue 6) takes part only when the parent's grant includes
``messages``, and while it is open: then they write to the child's teachers and read
the direct threads about the child they are in, like a parent; the class-wide threads
stay the parents' (the other families' conversation is not theirs to read). Their
notifications follow their sections too: marks only if they see the marks, and so on.

One module a part: ``base`` (limits, errors, who is who), ``recipients``, ``threads``,
``settings``, ``outbox``; this module re-exports them for the views, the notifications,
the tasks and the CLI.
"""

from __future__ import annotations

# The messages' views ask this access rule through services.
from diary_service.access import children_in_class as children_in_class
from diary_service.messages.base import (
    ALL_GUARDIANS,
    CHILD_EVENTS,
    EVENT_SECTIONS,
    MAX_ATTEMPTS,
    MAX_BODY,
    MAX_REASON,
    MAX_SUBJECT,
    OWN_EVENTS,
    THREAD_LIST_LIMIT,
    FieldError,
    child_events,
    guardians_of,
    students_of_classes,
)
from diary_service.messages.outbox import backoff, send_due_notifications, send_notification
from diary_service.messages.recipients import (
    get_class,
    get_student,
    recipient_choices,
    student_label,
    writable_students,
)
from diary_service.messages.settings import (
    SettingContext,
    check_setting_access,
    default_setting,
    save_setting,
    setting_contexts,
    setting_for,
)
from diary_service.messages.threads import (
    ClassLink,
    ThreadPage,
    ThreadRow,
    class_links,
    class_parents_thread,
    empty_class_parents_page,
    get_thread,
    hide_message,
    mark_read,
    moderated_message,
    open_class_parents,
    open_thread,
    post_announcement,
    post_to_class_parents,
    readable_class_ids,
    reply,
    restore_message,
    start_direct_thread,
    threads_for,
)

__all__ = [
    "ALL_GUARDIANS",
    "CHILD_EVENTS",
    "EVENT_SECTIONS",
    "MAX_ATTEMPTS",
    "MAX_BODY",
    "MAX_REASON",
    "MAX_SUBJECT",
    "OWN_EVENTS",
    "THREAD_LIST_LIMIT",
    "ClassLink",
    "FieldError",
    "SettingContext",
    "ThreadPage",
    "ThreadRow",
    "backoff",
    "check_setting_access",
    "child_events",
    "children_in_class",
    "class_links",
    "class_parents_thread",
    "default_setting",
    "empty_class_parents_page",
    "get_class",
    "get_student",
    "get_thread",
    "guardians_of",
    "hide_message",
    "mark_read",
    "moderated_message",
    "open_class_parents",
    "open_thread",
    "post_announcement",
    "post_to_class_parents",
    "readable_class_ids",
    "recipient_choices",
    "reply",
    "restore_message",
    "save_setting",
    "send_due_notifications",
    "send_notification",
    "setting_contexts",
    "setting_for",
    "start_direct_thread",
    "student_label",
    "students_of_classes",
    "threads_for",
    "writable_students",
]
