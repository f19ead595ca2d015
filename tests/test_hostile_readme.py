"""README's "## Hostile input" states how many attacks each class holds; this keeps it honest."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from tests.support.hostile import budgets, code, data, parsing, web

ROOT = Path(__file__).resolve().parent.parent
CLASSES = (parsing, code, budgets, data, web)


def _section() -> str:
    return (ROOT / "README.md").read_text().split("## Hostile input", 1)[1].split("\n## ", 1)[0]


def test_every_attack_has_a_name_of_its_own():
    names = [a.name for module in CLASSES for a in module.ATTACKS]
    assert len(names) == len(set(names)), [n for n, c in Counter(names).items() if c > 1]


def test_the_readme_states_the_total_and_each_kind():
    attacks = [a for module in CLASSES for a in module.ATTACKS]
    section = _section()
    stated = re.search(r"(\d+) attacks", section)
    assert stated and int(stated.group(1)) == len(attacks), \
        f"README says {stated and stated.group(0)}, tests/support/hostile/ has {len(attacks)} attacks"
    bullets = re.findall(r"^- \*\*[^*]+\*\* \(`(\w+)`, (\d+)\)", section, re.M)
    stated_kinds = {kind: int(n) for kind, n in bullets}
    assert stated_kinds == dict(Counter(a.kind for a in attacks))
