"""Families in the diary: who may see which student (guardians), the weekly "I have
read the diary" acknowledgement, and the family's diary pages."""
