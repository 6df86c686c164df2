"""Messages between families and teachers (direct threads, class teacher to all
parents of the class, the class parents' conversation the class teacher moderates) and
free notifications of marks, absences, homework and messages by e-mail and SMS."""
