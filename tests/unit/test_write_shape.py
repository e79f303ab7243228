"""The write shape (docs/design.md, "The write shape"): a store does reads and single
conditional writes and returns records; the use case owns the transaction, the rule, the
message and the retry loop. So no method of a store takes a callable (a rule or a decision
handed down from the use case) and no method of a store opens a retry loop. Read from the
source of every service's store.py."""

import ast
import textwrap
from pathlib import Path

import pytest

from tests.support import ROOT

STORES = sorted(ROOT.glob("*/store.py"))

# Annotations that make a parameter a function handed in.
CALLABLE_NAMES = {"Callable", "Awaitable", "Coroutine"}


def _aliases(tree: ast.Module) -> set[str]:
    """Module-level names bound to a callable type (`Decide = Callable[...]`)."""
    names: set[str] = set()
    for node in tree.body:
        target, value = None, None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and value is not None and _names_callable(value, set()):
            names.add(target.id)
    return names


def _names_callable(annotation: ast.AST, aliases: set[str]) -> bool:
    for node in ast.walk(annotation):
        if isinstance(node, ast.Name) and (node.id in CALLABLE_NAMES or node.id in aliases):
            return True
        if isinstance(node, ast.Attribute) and node.attr in CALLABLE_NAMES:
            return True
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            # A string annotation: parse it and look again.
            try:
                inner = ast.parse(node.value, mode="eval")
            except SyntaxError:
                continue
            if _names_callable(inner, aliases):
                return True
    return False


def _methods(tree: ast.Module) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    found = []
    for cls in (node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)):
        for item in cls.body:
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                found.append((f"{cls.name}.{item.name}", item))
    return found


def _is_retry_loop(loop: ast.For | ast.AsyncFor | ast.While) -> bool:
    """A loop that tries again: `while`, a `for` over `range(...)` (attempts, not data), or a
    loop whose exception handler goes round again (`continue`)."""
    if isinstance(loop, ast.While):
        return True
    if (
        isinstance(loop.iter, ast.Call)
        and isinstance(loop.iter.func, ast.Name)
        and loop.iter.func.id == "range"
    ):
        return True
    for handler in (n for n in ast.walk(loop) if isinstance(n, ast.ExceptHandler)):
        if any(isinstance(n, ast.Continue) for n in ast.walk(handler)):
            return True
    return False


def violations(source: str) -> list[str]:
    """Every store method that takes a callable or opens a retry loop, named."""
    tree = ast.parse(source)
    aliases = _aliases(tree)
    found: list[str] = []
    for name, method in _methods(tree):
        arguments = method.args
        for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
            if arg.annotation is not None and _names_callable(arg.annotation, aliases):
                found.append(f"{name} takes a callable ({arg.arg})")
        for loop in ast.walk(method):
            if isinstance(loop, ast.For | ast.AsyncFor | ast.While) and _is_retry_loop(loop):
                found.append(f"{name} opens a retry loop (line {loop.lineno})")
    return found


def test_every_service_has_a_store_module_to_check():
    names = {path.parent.name for path in STORES}
    services = {path.parent.name for path in ROOT.glob("*/app.py")} - {"console"}
    assert services <= names, services - names


@pytest.mark.parametrize("path", STORES, ids=lambda p: str(Path(p).relative_to(ROOT)))
def test_a_store_takes_no_callable_and_opens_no_retry_loop(path: Path):
    assert violations(path.read_text()) == []


def test_the_check_finds_a_rule_handed_down_and_a_retry_loop():
    # The shapes this test exists to refuse, as stores had them.
    source = textwrap.dedent(
        """
        from collections.abc import Awaitable, Callable
        Decide = Callable[[int], Awaitable[int | None]]

        class Store:
            async def book(self, event_id: int, rule: Callable[[int], int]) -> None:
                pass

            async def refund(self, payment_id: int, decide: Decide) -> None:
                pass

            async def change(self, check: "Callable[[int], None]") -> None:
                pass

            async def update(self) -> None:
                for attempt in range(10):
                    pass

            async def change_seats(self) -> None:
                result = None
                while result is None:
                    result = 1

            async def create(self, docs: list[int]) -> None:
                for doc in docs:
                    try:
                        pass
                    except ValueError:
                        continue

            async def page(self, rows: list[int]) -> list[int]:
                return [row for row in rows]

            async def each(self, rows: list[int]) -> None:
                for row in rows:
                    print(row)
        """
    )
    assert violations(source) == [
        "Store.book takes a callable (rule)",
        "Store.refund takes a callable (decide)",
        "Store.change takes a callable (check)",
        "Store.update opens a retry loop (line 16)",
        "Store.change_seats opens a retry loop (line 21)",
        "Store.create opens a retry loop (line 25)",
    ]
