"""Service applications (the portal's way 3 of linking a parent to a student): the
portal forwards a parent's application, the school's administrators approve or refuse
it, each step goes back to the portal. Its own room above the family's links, which
an approval makes."""
