"""The house's import rules, read from the code with ``ast`` (nothing is imported or run).

1. Only ``orderflow/engine/`` imports SpiffWorkflow; the engine imports nothing of the service but
   ``orderflow.core.errors`` and ``orderflow.core.i18n``.
2. Flask (and werkzeug) is imported by ``orderflow/web/`` and the wiring only: domain modules take
   a session and an actor.
3. ``handlers/`` imports nothing of the service: a handler sees only its ``ctx``.
4. Tests import ``tests.support``, never another test module.
5. Import circles and function-local imports of the service's own modules are listed below with
   the reason each still exists; the lists may only shrink (a new one fails, a gone one must be
   struck from its list).
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "orderflow"
WIRING = {"orderflow/__init__.py", "orderflow/cli.py"}   # Flask meets the domain here

# module -> the service modules it imports inside a function. The wiring does so by design (the app
# factory registers blueprints and the scheduler, commands load what they run); the rest are the
# circle below's seams, and each goes when its module's record keeping and commands are split.
WEB = "orderflow.web"
LOCAL_IMPORTS: dict[str, set[str]] = {
    "orderflow": {"orderflow.cli", "orderflow.scheduler", WEB, "orderflow.web.db_session"},
    "orderflow.cli": {"orderflow.core.schema", "orderflow.demo.simulate"},
    "orderflow.scheduler": {"orderflow.workflow.notify"},
    WEB: {f"{WEB}.{m}" for m in ("admin", "analytics", "api", "auth", "board", "customer_links", "customers",
                                  "drafts", "errors", "form_editor", "modeler", "monitor", "notifications",
                                  "openapi", "pages", "present", "security", "trust", "versions")},
    "orderflow.web.auth": {"orderflow.access.tokens", WEB},
    "orderflow.web.pages": {"orderflow.workflow.audit"},
    "orderflow.web.present": {"orderflow.access.accounts"},
    "orderflow.orders.analytics.report": {"orderflow.access.accounts", "orderflow.orders.analytics.after_sales"},
    "orderflow.workflow.customer_links": {"orderflow.workflow.tasks"},
    "orderflow.workflow.incidents": {"orderflow.workflow.instances"},
    "orderflow.workflow.job_kinds": {"orderflow.workflow.notify"},
    "orderflow.workflow.jobs": {"orderflow.core.errors"},
    "orderflow.workflow.messages": {"orderflow.workflow.instances", "orderflow.workflow.processes"},
    "orderflow.workflow.processes": {"orderflow.workflow.instances"},
}
# import circles (strongly connected sets of modules) that still exist. The models: two files of one
# mapping. The domain: the load-run-store layer and the commands share modules (instances,
# incidents, messages, customer links, processes). The web: its package both registers the
# blueprints and lends them helpers. Issue 14's rooms split each.
CIRCLES: list[set[str]] = [
    {"orderflow.core.access_models", "orderflow.core.models"},
    {"orderflow.orders.analytics", "orderflow.orders.analytics.after_sales", "orderflow.orders.analytics.export",
     "orderflow.orders.analytics.report", "orderflow.workflow.customer_links", "orderflow.workflow.incidents", "orderflow.workflow.instances",
     "orderflow.workflow.messages", "orderflow.workflow.processes", "orderflow.orders.related_order", "orderflow.workflow.signatures",
     "orderflow.workflow.tasks"},
    {WEB, *(f"{WEB}.{m}" for m in ("admin", "analytics", "api", "auth", "board", "customer_links", "customers",
                                    "drafts", "form_editor", "modeler", "monitor", "notifications", "pages",
                                    "trust", "versions"))},
]


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


def test_function_local_imports_are_only_the_listed_ones():
    found: dict[str, set[str]] = {}
    for name, edges in _graph().items():
        local = {t for t, in_function in edges.items() if in_function}
        if local:
            found[name] = local
    assert found == LOCAL_IMPORTS


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


def test_the_import_circles_are_only_the_listed_ones():
    found = _circles(_graph())
    assert sorted(map(sorted, found)) == sorted(map(sorted, CIRCLES))
