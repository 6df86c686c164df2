"""Families in the diary: who may see which student (guardian links: from the portal's
verified children, codes, the school), trusted persons, and the access log's page. The
student's own pages are the ``diary`` room's."""
