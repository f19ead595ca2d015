"""Hostile input, the code class (tests/support/hostile/code.py): each attack is refused and nothing runs or stays."""
from __future__ import annotations

import pytest

from tests.support.hostile import code, support
from tests.support.hostile.support import Attack, Ctx, refused_and_nothing_stays

ctx = support.ctx  # the service every class's attacks run against, one per module


@pytest.mark.parametrize("hostile", code.ATTACKS, ids=lambda a: f"{a.kind}-{a.name}")
def test_the_attack_is_refused_and_nothing_runs_or_stays(ctx: Ctx, hostile: Attack):
    refused_and_nothing_stays(ctx, hostile)
