"""Signed answers: a class teacher's request that needs the parents' answer (a consent
to an excursion, a medical check), answered after a fresh sign-in at the portal with a
confirmed account."""
