"""The suite checks that every deploy problem and every expression error is made as a ``Msg``, so a
process owner reads it in their language (``orderflow/web/present.py`` localizes it on the way out):
a message written as a plain English string fails the test that made it."""
from __future__ import annotations

from orderflow.core.i18n import Msg
from orderflow.engine.expression_limits import ExpressionError
from orderflow.engine.model import Problem

_problem_init = Problem.__init__
_error_init = ExpressionError.__init__


def checked_problem(self, message, *args, **kwargs) -> None:
    assert isinstance(message, Msg), f"a deploy problem in plain text, not a Msg: {message!r}"
    _problem_init(self, message, *args, **kwargs)


def checked_error(self, message, *args, **kwargs) -> None:
    assert isinstance(message, Msg), f"an expression error in plain text, not a Msg: {message!r}"
    _error_init(self, message, *args, **kwargs)
