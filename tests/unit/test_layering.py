"""shared/ is the services' core (docs/design.md §10): a module there imports the web framework,
an HTTP client, the broker client or a database driver only when it is the adapter for that
one thing; everything else (errors, idempotency types, clock, envelope…) imports none of
them. The operator tooling lives in fleetctl/, which no service imports. Read from the source
(the imports a module makes itself at run time; `if TYPE_CHECKING:` blocks are types only)."""

import ast
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.unit.test_domain_purity import WITH_IO

SHARED = ROOT / "shared"
SERVICES = sorted(path.parent.name for path in ROOT.glob("*/app.py") if path.parent.name != "console")

# What the domain modules may not load (drivers, broker and HTTP clients, servers, the web
# framework), and the migration tool and other clients a shared adapter might use.
FRAMEWORK_AND_IO = WITH_IO | {"alembic", "elasticsearch", "fastapi_offline", "requests"}

# module -> what it is the adapter for
ADAPTERS = {
    "shared/web.py": {"fastapi", "fastapi_offline", "starlette"},
    # CrashBeforeAnswer, the participants' crash seam, is ASGI middleware.
    "shared/crashpoints.py": {"starlette"},
    "shared/problem.py": {"fastapi", "starlette"},
    "shared/callers.py": {"fastapi", "starlette"},
    "shared/paging.py": {"fastapi"},
    "shared/idempotency/header.py": {"fastapi"},
    "shared/versions.py": {"fastapi"},
    "shared/idempotency/sql.py": {"sqlalchemy"},
    "shared/idempotency/mongo.py": {"pymongo"},
    "shared/sql.py": {"sqlalchemy", "alembic"},
    "shared/mongo.py": {"pymongo"},
    "shared/http.py": {"aiohttp"},
    "shared/messaging/broker.py": {"aio_pika"},
    "shared/messaging/sql_outbox.py": {"sqlalchemy"},
    "shared/messaging/mongo_outbox.py": {"pymongo"},
    "shared/runner.py": {"uvicorn"},
}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_imports(path: Path) -> set[str]:
    """Every module name `path` imports at run time (dotted, as written)."""
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return names


def top_level(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


SHARED_MODULES = sorted(str(p.relative_to(ROOT)) for p in SHARED.rglob("*.py"))


@pytest.mark.parametrize("module", SHARED_MODULES)
def test_a_shared_module_imports_a_framework_or_driver_only_as_its_adapter(module: str):
    used = top_level(runtime_imports(ROOT / module)) & FRAMEWORK_AND_IO
    assert used <= ADAPTERS.get(module, set()), f"{module} imports {sorted(used)}"


def test_the_adapter_list_names_existing_modules_that_use_what_they_adapt():
    for module, allowed in ADAPTERS.items():
        path = ROOT / module
        assert path.exists(), module
        assert top_level(runtime_imports(path)) & allowed, f"{module} adapts nothing it lists"


def test_errors_and_idempotency_types_import_nothing_with_io_even_indirectly():
    # What domain and use-case code imports from shared/ must not drag an adapter in.
    pure = ["shared/errors.py", "shared/idempotency/__init__.py", "shared/clock.py", "shared/forever.py"]
    for module in pure:
        seen: set[str] = set()
        todo = [module]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            imports = runtime_imports(ROOT / current)
            assert top_level(imports) & FRAMEWORK_AND_IO == set(), f"{module} reaches {current}"
            for name in imports:
                if name.split(".")[0] != "shared":
                    continue
                as_path = ROOT / Path(*name.split("."))
                target = as_path / "__init__.py" if as_path.is_dir() else as_path.with_suffix(".py")
                todo.append(str(target.relative_to(ROOT)))


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_imports_the_operator_tooling(service: str):
    for path in (ROOT / service).rglob("*.py"):
        assert "fleetctl" not in top_level(runtime_imports(path)), str(path.relative_to(ROOT))


def test_nothing_in_shared_imports_the_operator_tooling():
    for module in SHARED_MODULES:
        assert "fleetctl" not in top_level(runtime_imports(ROOT / module)), module
