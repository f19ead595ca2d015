"""The house's import rules, read from the code with ``ast`` (nothing is imported or run).

1. Only ``orderflow/engine/`` imports SpiffWorkflow; the engine imports nothing of the service but
   ``orderflow.core.errors`` and ``orderflow.core.i18n``.
2. Flask (and werkzeug) is imported by ``orderflow/web/`` and the wiring only: domain modules take
   a session and an actor.
3. ``handlers/`` imports nothing of the service: a handler sees only its ``ctx``.
4. Tests import ``tests.support``, never another test module.
5. The layers (``LAYERS``): engine, core, access, workflow (the platform, which knows no order),
   orders (the business on it, plugged in through ``core/hooks.py``), demo, web, the wiring. A
   module imports its own layer and those below, never one above.
6. No import circles, and no function-local imports of the service's own modules outside the
   wiring (the app factory imports its parts when it builds the app; commands load what they run).
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "orderflow"
WIRING = {"orderflow/__init__.py", "orderflow/cli.py"}   # Flask meets the domain here

# Bottom to top; a module imports only its own layer and the layers below it. ``errors`` and
# ``i18n`` are the foundation even the engine stands on; the wiring (the app factory, the commands,
# the scheduler) puts the layers together.
LAYERS = ["foundation", "engine", "core", "access", "workflow", "orders", "demo", "web", "wiring"]
FOUNDATION = {"orderflow.core.errors", "orderflow.core.i18n"}
WIRING_MODULES = {"orderflow", "orderflow.cli", "orderflow.scheduler"}


def layer_of(module: str) -> str:
    if module in FOUNDATION:
        return "foundation"
    if module in WIRING_MODULES:
        return "wiring"
    room = module.split(".")[1]
    return "core" if room == "migrations" else room   # the migrations read the tables only


def _modules(folder: Path) -> Iterator[tuple[str, Path]]:
    for path in sorted(folder.rglob("*.py")):
        if "migrations/versions" in path.as_posix():
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


MODULES = {name for folder in (PACKAGE, ROOT / "handlers") for name, _ in _modules(folder)}


def _imports(name: str, path: Path) -> Iterator[tuple[str, bool]]:
    """(what is imported, inside a function?) for every import of the file: a module, or for
    ``from m import n`` the module ``m.n`` when there is one, else ``m``."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    local = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
             for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, id(node) in local
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield (f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base), id(node) in local


def _graph() -> dict[str, dict[str, bool]]:
    known = dict(_modules(PACKAGE))
    graph: dict[str, dict[str, bool]] = {}
    for name, path in known.items():
        edges = graph.setdefault(name, {})
        for target, in_function in _imports(name, path):
            if target in known and target != name:
                edges[target] = edges.get(target, True) and in_function
    return graph


def test_only_the_engine_imports_spiffworkflow_and_it_stands_on_errors_and_i18n_alone():
    for name, path in [*_modules(PACKAGE), *_modules(ROOT / "handlers")]:
        imported = {target for target, _ in _imports(name, path)}
        inside = name.startswith("orderflow.engine")
        assert inside or not any(t.split(".")[0] == "SpiffWorkflow" for t in imported), name
        if inside:
            service = {t for t in imported if t.startswith("orderflow") and not t.startswith("orderflow.engine")
                       and t != "orderflow.core"}
            assert service <= {"orderflow.core.errors", "orderflow.core.i18n"}, (name, service)


def test_flask_stays_in_the_web_layer_and_the_wiring():
    for name, path in _modules(PACKAGE):
        where = path.relative_to(ROOT).as_posix()
        if where.startswith("orderflow/web/") or where in WIRING:
            continue
        imported = {target for target, _ in _imports(name, path) if target != "werkzeug.security"}  # hashing
        assert not {t.split(".")[0] for t in imported} & {"flask", "flask_login", "flask_wtf", "flask_babel",
                                                          "werkzeug"}, name


def test_handlers_import_nothing_of_the_service():
    for name, path in _modules(ROOT / "handlers"):
        assert not any(t.split(".")[0] == "orderflow" for t, _ in _imports(name, path)), name


def test_no_test_module_imports_another():
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if "corpus" in path.parts or "probes" in path.parts:
            continue
        for target, _ in _imports("tests." + path.stem, path):
            assert not target.split(".")[-1].startswith("test_") or not target.startswith("tests"), (path.name, target)
            assert target != "tests.conftest", path.name


def test_each_layer_imports_only_itself_and_the_layers_below():
    for name, edges in _graph().items():
        for target in edges:
            assert LAYERS.index(layer_of(target)) <= LAYERS.index(layer_of(name)), \
                f"{name} ({layer_of(name)}) imports {target} ({layer_of(target)}), a layer above it"


def test_function_local_imports_are_only_in_the_wiring():
    for name, edges in _graph().items():
        local = {t for t, in_function in edges.items() if in_function}
        assert name in WIRING_MODULES or not local, (name, local)


def _circles(graph: dict[str, dict[str, bool]]) -> list[set[str]]:
    """Strongly connected sets of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    members = set()
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        members.add(top)
                        if top == node:
                            break
                    if len(members) > 1:
                        found.append(members)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(graph[child])))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_there_are_no_import_circles():
    assert _circles(_graph()) == []


def test_the_layer_test_sees_a_circle_and_a_climb():
    """The checks above fail on a graph that breaks them (they would pass on an empty graph)."""
    graph = {"orderflow.workflow.a": {"orderflow.workflow.b": False},
             "orderflow.workflow.b": {"orderflow.workflow.a": True, "orderflow.orders.c": False},
             "orderflow.orders.c": {}}
    assert [sorted(c) for c in _circles(graph)] == [["orderflow.workflow.a", "orderflow.workflow.b"]]
    assert LAYERS.index(layer_of("orderflow.orders.c")) > LAYERS.index(layer_of("orderflow.workflow.b"))


def _string_literals(path: Path) -> set[str]:
    """The file's string constants, docstrings left out (prose may speak of orders)."""
    tree = ast.parse(path.read_text())
    docs = {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return {node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs}


def test_the_platform_names_no_process_key_and_no_field_of_the_business():
    """workflow/ (and what it stands on) runs any diagram: the process keys in processes/ and the
    fields the order business plugs in (orderflow/orders/plug.py) are the business's words.
    "customer" is the platform's own too (customer lanes and steps, the customer as the actor); the
    models store the columns the business projects (``Hooks.project`` fills them)."""
    from orderflow.orders import keys, plug

    keys_deployed = {path.stem for path in (ROOT / "processes").glob("*.bpmn")}
    business = {keys.ORDER_PROCESS, keys.CASE_PROCESS, *keys.SURVEY_STEPS, *keys_deployed,
                *plug.BUSINESS_KEY_FIELDS, *plug.SALES_LIST_FIELDS, *plug.HOOKS.link_header,
                *plug.HOOKS.link_reference, *plug.HOOKS.link_addressee} - {"business_key", "customer"}
    for room in ("engine", "core", "access", "workflow"):
        for name, path in _modules(PACKAGE / room):
            if "migrations" in name or name.startswith("orderflow.core.models"):
                continue
            found = _string_literals(path) & business
            assert not found, f"{name} names {sorted(found)}: ask the business through core/hooks.py"
