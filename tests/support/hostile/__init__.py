"""Hostile input, one module per class of attack (parsing, code, web, budgets, data).

Each module holds an ``ATTACKS`` table; its ``tests/test_hostile_<class>.py`` runs every row on a
fresh service and checks that it was refused with a 4xx and that nothing ran or stayed: the row
count of every table is unchanged and no marker file appears — or, where storing the input is the
point (a customer name with <script> in it), that it comes back as inert text wherever it is shown.
README's "## Hostile input" states how many attacks each class has; tests/test_hostile_readme.py
keeps it in step.
"""
