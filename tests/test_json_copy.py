"""copy_json: the fast deep copy forms are handed out with is equal to its original and shares none
of its dicts or lists, for any decoded JSON; anything else is copied as copy.deepcopy copies it."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from orderflow.engine.json_clean import copy_json

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
                    max_leaves=30)


def _containers(value, found):
    if isinstance(value, dict | list):
        found.append(value)
        for item in value.values() if isinstance(value, dict) else value:
            _containers(item, found)
    return found


@given(JSON)
def test_a_copy_is_equal_and_shares_no_container(value):
    copied = copy_json(value)
    assert copied == value
    originals = {id(c) for c in _containers(value, [])}
    assert not originals & {id(c) for c in _containers(copied, [])}


def test_other_values_are_deep_copied():
    shared = [1, 2]
    value = {"pair": (shared, 3), "set": {4}}
    copied = copy_json(value)
    assert copied == value and copied["pair"][0] is not shared and copied["set"] is not value["set"]
