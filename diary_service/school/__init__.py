"""The region's schools: municipalities, schools, academic years and their periods,
classes, students and their enrolments, staff and their roles, subjects, who teaches
what, the weekly timetable with its changes, and notices to families."""
