"""The evaluator: simpleeval with every node and every bulk operation spending fuel, integers
bounded before they are computed. One per thread, kept: building one costs more than a condition."""
from __future__ import annotations

import ast
import operator as op
import threading
from collections.abc import Callable, ItemsView, KeysView, Mapping, ValuesView
from itertools import chain
from typing import Any

import simpleeval

from orderflow.core.i18n import Msg
from orderflow.engine.expression_limits import (
    FUEL,
    INT_BITS,
    NODE_COST,
    SAFE_METHODS,
    TOO_LARGE,
    TOO_MUCH_DATA,
    TOO_MUCH_WORK,
    ExpressionError,
)

# -- evaluating: every node and every bulk operation spends fuel ----------------------------------

_SEQUENCES = (list, tuple, set, frozenset, KeysView, ValuesView, ItemsView)


def weight(value: Any, cap: int) -> int:
    """Elements in nested containers plus string lengths (keys too), counted up to ``cap``.
    Walked a level at a time with C-level map/sum/chain: weighing must cost far less than the
    work it prices (a per-element Python loop made it the slowest part of an evaluation)."""
    total, level = 0, [value]
    while level and total <= cap:
        kinds = set(map(type, level))
        groups: list[tuple[type, list[Any]]] = [
            (kind, level if len(kinds) == 1 else [x for x in level if type(x) is kind]) for kind in kinds]
        containers = []
        for kind, group in groups:
            if issubclass(kind, (str, bytes, dict)) or issubclass(kind, _SEQUENCES):
                total += sum(map(len, group))
                if not issubclass(kind, (str, bytes)):
                    containers.append((kind, group))
        if total > cap:  # before the next level is listed: it holds as many references as counted
            break
        level = []
        for kind, group in containers:
            level.extend(chain.from_iterable(group))  # a dict's keys
            if issubclass(kind, dict):
                level.extend(chain.from_iterable(map(kind.values, group)))
    return total


_SCALARS = frozenset({int, float, bool, type(None)})
_KEY_BITS = 63  # ints past this can share a hash (n*(2**61-1) all do): n such keys cost n*n to insert


def _key(value: Any) -> Any:
    """A dict key or set element: no integer (also inside a tuple) beyond _KEY_BITS bits."""
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is int and item.bit_length() > _KEY_BITS:
            raise ExpressionError(Msg("A number beyond %(bits)s bits cannot be a key or a set element.",
                                      bits=_KEY_BITS))
        if type(item) is tuple:
            stack.extend(item)
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int)  # bool too: True * 10**5000 is as large


_Operators = dict[type[ast.AST], Callable[..., Any]]  # simpleeval's: operator node class -> function


class Evaluator(simpleeval.EvalWithCompoundTypes):
    operators: _Operators

    def __init__(self, functions: Mapping[str, Any]) -> None:
        super().__init__(functions=dict(functions))
        self.functions = dict(functions)  # not simpleeval's list/dict/set/tuple: only what the compiler allows
        compare: _Operators = {kind: self._compared(fn) for kind, fn in
                               [(ast.Eq, op.eq), (ast.NotEq, op.ne), (ast.Lt, op.lt), (ast.LtE, op.le),
                                (ast.Gt, op.gt), (ast.GtE, op.ge)]}
        self.operators = {**self.operators, **compare, ast.Add: self._add, ast.Sub: self._sub,
                          ast.Mult: self._mult, ast.Pow: self._pow, ast.Mod: self._mod,
                          ast.Div: self._divided(op.truediv), ast.FloorDiv: self._divided(op.floordiv),
                          ast.In: self._contains, ast.NotIn: lambda a, b: not self._contains(a, b)}
        self.spent = 0

    # fuel
    def spend(self, units: int, building: bool = False) -> None:
        self.spent += units
        if self.spent > FUEL:
            raise ExpressionError(TOO_MUCH_DATA if building else TOO_MUCH_WORK)

    def size(self, value: Any) -> int:
        """What running over ``value`` costs: its length, nested elements counted (up to what is left)."""
        kind = type(value)
        if kind is str or kind is bytes:
            return len(value)
        if kind in _SCALARS:  # the usual operand of a condition: no walk
            return 1
        return weight(value, FUEL - self.spent + 1)

    def charge(self, result: Any) -> Any:
        """Spend what building ``result`` cost (text and nested elements)."""
        if isinstance(result, (str, list, tuple, dict, set)):
            self.spend(self.size(result), building=True)
        return result

    @staticmethod
    def bounded(value: Any) -> Any:
        if _is_int(value) and value.bit_length() > INT_BITS:
            raise ExpressionError(TOO_LARGE)
        return value

    def _eval(self, node: ast.AST) -> Any:
        self.spend(NODE_COST)
        return super()._eval(node)

    # operators: sizes checked before the work where the work is the danger
    def _add(self, a: Any, b: Any) -> Any:
        return self.bounded(self.charge(simpleeval.safe_add(a, b)))

    def _sub(self, a: Any, b: Any) -> Any:
        if not (_is_int(a) or isinstance(a, float)) or not (_is_int(b) or isinstance(b, float)):
            for side in (a, b):  # set differences (of keys views) hash every element of both sides
                if isinstance(side, (list, tuple, set, frozenset, KeysView)):
                    self.spend(self.size(side))
                    for element in side:
                        _key(element)
        return self.bounded(self.charge(a - b))

    def big(self, bits: int) -> None:
        """Big-integer arithmetic costs a unit per 32 bits of its operands (a few machine words)."""
        if bits > INT_BITS:
            raise ExpressionError(TOO_LARGE)
        self.spend(bits >> 5)

    def _mult(self, a: Any, b: Any) -> Any:
        if _is_int(a) and _is_int(b):  # the product has at most the sum of the operands' bits
            self.big(a.bit_length() + b.bit_length())
            return a * b
        seq, times = (a, b) if isinstance(a, (str, list, tuple)) else (b, a)
        if isinstance(seq, (str, list, tuple)) and _is_int(times) and \
                self.size(seq) * max(times, 0) > FUEL - self.spent:
            raise ExpressionError(TOO_MUCH_DATA)
        return self.charge(simpleeval.safe_mult(a, b))

    def _pow(self, a: Any, b: Any) -> Any:
        # the result has at least (bits(base) - 1) * exponent + 1 bits and under twice that: refused
        # beyond the cap before computing, checked exactly after; 0, 1 and -1 stay small for any exponent
        if _is_int(a) and _is_int(b) and b > 0 and abs(a) > 1:
            self.big((abs(a).bit_length() - 1) * b + 1)
        return self.bounded(a ** b)

    def _divided(self, divide: Any) -> Any:
        def run(a: Any, b: Any) -> Any:  # long division costs the dividend's size
            if _is_int(a) and _is_int(b):
                self.big(max(a.bit_length(), b.bit_length()))
            return divide(a, b)
        return run

    def _mod(self, a: Any, b: Any) -> Any:
        if isinstance(a, (str, bytes)):  # printf padding ("%0999999999d") builds any size from a few characters
            # the operator as a param: a bare "% i" in a template reads as a placeholder to the catalog
            raise ExpressionError(Msg("Formatting text with %(operator)s is not supported (its padding builds text "
                                      "beyond any limit); join texts with + and str(), e.g. 'Order ' + str(number).",
                                      operator="%"))
        return self._divided(op.mod)(a, b)

    def _compared(self, compare: Any) -> Any:
        def run(a: Any, b: Any) -> Any:  # long texts or lists compare element by element
            self.spend(min(self.size(a), self.size(b)))
            return compare(a, b)
        return run

    def _contains(self, item: Any, container: Any) -> bool:
        if isinstance(container, (dict, set, frozenset, KeysView)):
            self.spend(self.size(_key(item)))  # hashed: costs the item, not the container
        else:
            self.spend(self.size(container) + (len(item) if isinstance(item, str) else 0))
        return item in container

    # nodes
    def _eval_call(self, node: ast.Call) -> Any:
        if isinstance(node.func, ast.Attribute):
            return self._call_method(node, node.func)
        return super()._eval_call(node)

    def _call_method(self, node: ast.Call, func: ast.Attribute) -> Any:  # func: node.func
        name = func.attr  # one of SAFE_METHODS: the compiler refused any other
        receiver = self._eval(func.value)
        args = [self._eval(arg) for arg in node.args]
        kwargs = dict(self._eval(k) for k in node.keywords)
        # get hashes its key; the others run over the whole receiver (and their text arguments)
        self.spend((0 if name == "get" else self.size(receiver)) + sum(self.size(_key(arg)) for arg in args[:1])
                   + sum(self.size(arg) for arg in args[1:]))
        method = getattr(receiver, name, None)
        if not callable(method) or isinstance(receiver, type(simpleeval)):
            raise ExpressionError(Msg("'.%(name)s()' does not apply to this value (%(kind)s).",
                                      name=name, kind=type(receiver).__name__))
        return self.charge(method(*args, **kwargs))

    def _eval_attribute(self, node: ast.Attribute) -> Any:
        # record.field reads a key (SpiffWorkflow diagrams write it so); methods only run when called
        # (_call_method), so no object's attributes are ever exposed and no method escapes its cost
        value = self._eval(node.value)
        if isinstance(value, dict) and node.attr in value:
            return value[node.attr]
        if node.attr in SAFE_METHODS:
            raise ExpressionError(Msg("'.%(name)s' must be called, e.g. .%(name)s().", name=node.attr))
        raise ExpressionError(Msg("The value has no field '%(name)s'.", name=node.attr))

    def _eval_subscript(self, node: ast.Subscript) -> Any:
        container = self._eval(node.value)
        key = self._eval(node.slice)
        if isinstance(key, (str, tuple)) or isinstance(container, dict):  # hashed (a tuple's hash is
            self.spend(self.size(_key(key)))                              # not kept: each look-up pays)
        result = container[key]
        if isinstance(key, slice):  # a slice copies
            self.spend(len(result) if hasattr(result, "__len__") else 1, building=True)
        return result

    def _eval_dict(self, node: ast.Dict) -> Any:
        result: dict = {}
        for key, value in zip(node.keys, node.values):
            if key is None:  # {**record}: its keys were checked when it was built (or are JSON text)
                result.update(self._eval(value))
            else:
                result[_key(self._eval(key))] = self._eval(value)
        return self.charge(result)  # keys hashed, {**record} copied

    def _eval_set(self, node: ast.Set) -> Any:
        return self.charge({_key(self._eval(element)) for element in node.elts})  # elements hashed

    def _eval_comprehension(self, node: Any) -> Any:
        # simpleeval's, with every round spending fuel (one that builds nothing costs as much)
        result: Any = {} if isinstance(node, ast.DictComp) else []
        scope: dict[str, Any] = {}
        outer = self.nodes[ast.Name]

        def read(name: ast.Name) -> Any:
            return scope[name.id] if name.id in scope else outer(name)

        def bind(target: ast.AST, value: Any) -> None:
            if isinstance(target, ast.Name):
                scope[target.id] = value
            elif isinstance(target, (ast.Tuple, ast.List)):
                for part, item in zip(target.elts, value):
                    bind(part, item)
            else:
                raise ExpressionError(Msg("A comprehension can only name its items "
                                          "(for a in ..., for a, b in ...)."))

        def rounds(index: int) -> None:
            generator = node.generators[index]
            for item in self._eval(generator.iter):
                self.spend(NODE_COST)
                bind(generator.target, item)
                if all(self._eval(condition) for condition in generator.ifs):
                    if index + 1 < len(node.generators):
                        rounds(index + 1)
                    elif isinstance(result, dict):
                        key = _key(self._eval(node.key))
                        self.spend(self.size(key))  # hashed
                        result[key] = self._eval(node.value)
                    else:
                        result.append(self._eval(node.elt))

        self.nodes[ast.Name] = read
        try:
            rounds(0)
        finally:
            self.nodes[ast.Name] = outer
        return result

    def _check_disallowed_items(self, item: Any) -> None:
        # simpleeval walks every nested element on every node (quadratic on big lists); task
        # data is JSON and the names hold only allow-listed functions, so the top level suffices
        if isinstance(item, type(simpleeval)) or (callable(item) and item in simpleeval.DISALLOW_FUNCTIONS):
            raise ExpressionError(Msg("That value is not available in expressions."))

    def _eval_name(self, node: ast.Name) -> Any:
        try:
            return super()._eval_name(node)
        except simpleeval.NameNotDefined:
            raise ExpressionError(Msg("'%(name)s' is not in the order data yet.", name=node.id)) from None


_local = threading.local()


def running() -> Evaluator:
    """The evaluation running on this thread (functions spend their work from its fuel)."""
    return _local.ev


def for_thread(functions: Mapping[str, Any]) -> Evaluator:
    """This thread's evaluator, made on first use."""
    ev = getattr(_local, "ev", None)
    if ev is None:
        ev = _local.ev = Evaluator(functions)
    return ev
