"""The three kinds of module keep to their rooms, read from the source's imports and calls:
the domain imports neither Flask nor SQLAlchemy, only `commands/tx.py` commits, no view imports
another blueprint's views, and templates get data from views, not from globals that query."""
from __future__ import annotations

import ast
from pathlib import Path

import perisai

PACKAGE = Path(perisai.__file__).parent
BLUEPRINTS = sorted(p.parent.name for p in PACKAGE.glob("*/views.py"))


def modules(folder: Path):
    for path in sorted(folder.rglob("*.py")):
        yield path, ast.parse(path.read_text(), filename=str(path))


def imported_names(tree: ast.AST, path: Path) -> set[str]:
    """Every module name the file imports, made absolute (`perisai.x.y`)."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            names.add(prefix)
            names.update(f"{prefix}.{alias.name}" for alias in node.names)
    return names


def test_the_domain_imports_neither_flask_nor_sqlalchemy():
    offenders = []
    for path, tree in modules(PACKAGE / "domain"):
        for name in imported_names(tree, path):
            root = name.split(".")[0]
            if root in ("flask", "flask_babel", "flask_login", "flask_wtf", "sqlalchemy", "werkzeug") \
                    or name.startswith(("perisai.models", "perisai.extensions", "perisai.commands",
                                        "perisai.queries")):
                offenders.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert BLUEPRINTS and not offenders, offenders


def test_only_commands_commit_and_only_commands_and_the_error_handler_roll_back():
    commits = []
    for path, tree in modules(PACKAGE):
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("commit", "rollback"):
                commits.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.func.attr}()")
    assert any(c.startswith("commands/tx.py") for c in commits)  # the check sees real calls
    assert [c for c in commits if c.endswith("commit()") and not c.startswith("commands/tx.py")] == []
    assert [c for c in commits if not c.startswith(("commands/", "errors.py"))] == []


def test_no_view_imports_another_blueprints_views():
    offenders = []
    for name in BLUEPRINTS:
        path = PACKAGE / name / "views.py"
        for imported in imported_names(ast.parse(path.read_text()), path):
            for other in BLUEPRINTS:
                if other != name and imported.startswith(f"perisai.{other}.views"):
                    offenders.append(f"{name}/views.py imports {imported}")
    assert len(BLUEPRINTS) >= 10 and not offenders, offenders


def test_views_do_not_roll_back_and_templates_do_not_query():
    for path, tree in modules(PACKAGE):
        if path.name == "views.py":
            assert "rollback" not in path.read_text(), path
    templating = (PACKAGE / "templating.py").read_text()
    assert "queries" not in templating and "db.session" not in templating
