"""The student's diary: what a student's week, marks, attendance and news look like to
whoever may see them, and the weekly "I have read the diary" acknowledgement. It reads
the journal's and the school's tables; the family's links decide whose diary a viewer
has (through ``diary_service.access``). The pages' views are the family blueprint's
(``diary_service.family.views``: their endpoints and templates keep the name)."""
