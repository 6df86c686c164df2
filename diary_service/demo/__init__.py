"""Demo data: the deterministic demo regions ``flask --app diary_service seed`` loads
(``seed``: the command and its docstring, which tells what they hold). Plain data
(``names``, ``places``, ``curriculum``, ``topics``, ``texts``), the demo people and regions
(``people``), the plan of a run (``calendar``, ``plans``), the run itself (``region`` with
``schools``, ``staffing``, ``notices``, ``journal``) and the rows' writer (``writer``).
It stands above every room and only writes their tables."""
