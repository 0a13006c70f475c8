"""Settings: one topic module defines each value, and .env.example lists every environment variable
the code reads, and nothing else."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "saas" / "settings"
# The code that runs outside the tests: the apps, the settings, and the process configuration.
SOURCES = [
    *(ROOT / "saas").rglob("*.py"),
    *(ROOT / "tenants").rglob("*.py"),
    *(ROOT / "accounts").rglob("*.py"),
    *(ROOT / "integrations").rglob("*.py"),
    *(ROOT / "audit").rglob("*.py"),
    *(ROOT / "scripts").rglob("*.py"),
    ROOT / "gunicorn.conf.py",
    ROOT / "manage.py",
]
# Functions whose first argument names the variable read: django-environ's `env.<cast>("NAME")`,
# `os.environ.get`, `os.getenv`, and scripts/services.py's `configured`.
ENV_CASTS = {"str", "int", "bool", "float", "list", "tuple", "dict", "json", "url", "db_url", "path"}


def _read_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
        key = node.slice
        return key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None
    if not isinstance(node, ast.Call) or not node.args:
        return None
    first = node.args[0]
    if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
        return None
    func = ast.unparse(node.func)
    reads = func in {"env", "os.environ.get", "os.getenv", "configured"} or (
        func.startswith("env.") and func.removeprefix("env.") in ENV_CASTS
    )
    return first.value if reads else None


def variables_read() -> set[str]:
    names: set[str] = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            name = _read_name(node)
            if name:
                names.add(name)
    return names


def variables_listed() -> set[str]:
    pattern = re.compile(r"^(?:#\s*)?([A-Z][A-Z0-9_]*)=", re.MULTILINE)
    return set(pattern.findall((ROOT / ".env.example").read_text()))


def test_every_variable_the_code_reads_is_in_env_example():
    read = variables_read()
    assert {"SECRET_KEY", "DATABASE_URL", "SSO_HTTP_TIMEOUT", "GUNICORN_WORKERS"} <= read  # the scan works
    assert sorted(read - variables_listed()) == []


def test_env_example_lists_only_variables_the_code_reads():
    # A listed name must appear as a string in the code: one read through a loop variable
    # (scripts/services.py's BOOTSTRAP_DATABASE_URL) counts too.
    code = "\n".join(path.read_text() for path in SOURCES)
    unused = {name for name in variables_listed() if f'"{name}"' not in code}
    assert sorted(unused) == []


def test_each_setting_is_defined_in_one_topic_module():
    # base.py only gathers the topic modules, so none may redefine (or patch) another's value.
    defined: dict[str, list[str]] = {}
    for path in sorted(SETTINGS.glob("*.py")):
        if path.name in {"base.py", "test.py", "__init__.py"}:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AnnAssign):
                targets = [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id.isupper():
                    defined.setdefault(target.id, []).append(path.name)
                elif isinstance(target, ast.Subscript) and ast.unparse(target.value).isupper():
                    # SETTING["key"] = ...: a value patched after its definition
                    defined.setdefault(ast.unparse(target), []).append(path.name)
    assert "SECRET_KEY" in defined
    assert {name: files for name, files in defined.items() if len(files) > 1} == {}
    assert not [name for name in defined if "[" in name]
