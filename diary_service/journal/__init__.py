"""The class journal: dated lessons with topics and homework, marks and attendance
(corrections are new versions, never overwrites), period and year marks under the
school's versioned mark policy, and teachers' remarks to parents."""
