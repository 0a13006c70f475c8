"""Imports run one way and sit at the top of modules.

The graph of the project's own modules (saas, tenants, accounts, integrations, audit; migrations
left out) built from their top-level imports must have no cycle: a cycle is what body imports used
to hide. Imports inside functions are allowed only where Django requires them (AppConfig.ready:
models load after the app registry), listed below with the reason."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("saas", "tenants", "accounts", "integrations", "audit")

# (module, function): why the import cannot be at the top
BODY_IMPORTS_ALLOWED = {
    ("saas.apps", "ready"): "AppConfig.ready: registers system checks once the registry is ready",
    ("tenants.apps", "ready"): "AppConfig.ready: models and signal receivers after the registry",
    ("accounts.apps", "ready"): "AppConfig.ready: models and signal receivers after the registry",
    ("accounts.apikeys.apps", "ready"): "AppConfig.ready: models after the registry",
    ("integrations.apps", "ready"): "AppConfig.ready: models and metric collectors after the registry",
    ("audit.apps", "ready"): "AppConfig.ready: Celery hooks, and the writer handed to the manager",
    ("accounts.mail.apps", "ready"): "AppConfig.ready: the mail outbox registers with tenants.due",
    ("accounts.sso.apps", "ready"): "AppConfig.ready: models tracked by the audit trail after the registry",
    # saas.sentry is imported by the settings (when SENTRY_DSN is set): the SDK loads only then, and
    # Django's database module only when an event is sent.
    ("saas.sentry", "sentry_init"): "settings time: sentry_sdk loads only when a DSN is set",
    ("saas.sentry", "_context_tags"): "settings-time module: django.db only when an event is sent",
    ("accounts.mail.services", "_send_task"): "services send tasks; tasks import services at their top",
    ("integrations.services", "_task"): "services send tasks; tasks import services at their top",
}


def _modules() -> dict[str, Path]:
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _targets(module: str, node: ast.Import | ast.ImportFrom, is_package: bool) -> set[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level:
            parts = module.split(".")[: None if is_package else -1]
            parts = parts[: len(parts) - node.level + 1]
            base = ".".join([*parts, *([node.module] if node.module else [])])
        else:
            base = node.module or ""
        names = [
            f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names
        ]
    found = set()
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != module:
            found.add(name)
    return found


def _top_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports that run when the module is imported: at the top, or under a top-level `if`/`try`."""
    found = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If | ast.Try):
            found.extend(n for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom))
    return found


def _graph() -> dict[str, set[str]]:
    graph = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text())
        is_package = path.name == "__init__.py"
        graph[module] = set().union(*(_targets(module, n, is_package) for n in _top_level_imports(tree)))
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        if start in state:
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            for nxt in stack[-1]:
                if state.get(nxt) == 1:
                    return [*path[path.index(nxt) :], nxt]
                if nxt not in state:
                    state[nxt] = 1
                    path.append(nxt)
                    stack.append(iter(sorted(graph.get(nxt, ()))))
                    break
            else:
                state[path.pop()] = 2
                stack.pop()
    return None


def test_the_module_graph_has_no_cycle():
    assert _cycle(_graph()) is None


def test_the_cycle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_imports_in_function_bodies_are_only_where_django_requires_them():
    found = set()
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
                isinstance(n, ast.Import | ast.ImportFrom) for n in ast.walk(node)
            ):
                found.add((module, node.name))
    assert found - set(BODY_IMPORTS_ALLOWED) == set()
    assert set(BODY_IMPORTS_ALLOWED) - found == set(), "allowed but gone: shorten the list"
