"""The house plan, checked: every service has one shape, and owns its Redis keys.

import-linter (`make lint`) checks who imports what; this checks what imports cannot see: a key
spelled as a string outside the service that owns it is hidden coupling through Redis.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("ingest", "enrich", "render", "publish")
SHAPE = (
    "__init__.py",
    "app.py",
    "handlers.py",
    "ports.py",
    "adapters.py",
    "keys.py",
    "settings.py",
)


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_one_shape(service: str) -> None:
    folder = ROOT / "services" / service
    assert {name for name in SHAPE if (folder / name).is_file()} == set(SHAPE)
    # Each opens with what it consumes and what it emits.
    doc = ast.get_docstring(ast.parse((folder / "__init__.py").read_text()))
    assert doc is not None
    first = doc.splitlines()[0]
    assert first.startswith(f"{service.capitalize()}: consumes ") and "; emits " in first


def _string_constants(path: Path) -> set[str]:
    return {
        node.value
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def _keys_of(service: str) -> set[str]:
    module = importlib.import_module(f"services.{service}.keys")
    return {
        value
        for name, value in vars(module).items()
        if name.isupper() and isinstance(value, str) and value.startswith("wirepress:")
    }


def test_each_service_owns_its_redis_keys() -> None:
    owned = {service: _keys_of(service) for service in SERVICES}
    for service, keys in owned.items():
        assert keys, f"{service} declares no keys"
        for other, others in owned.items():
            if other != service:
                assert not keys & others, f"{service} and {other} share {keys & others}"
    sources = [
        p
        for top in ("services", "shared", "cli", "bench")
        for p in (ROOT / top).rglob("*.py")
        if ".venv" not in p.parts
    ]
    for path in sources:
        parts = path.relative_to(ROOT).parts
        mine = parts[1] if parts[0] == "services" and len(parts) > 2 else None
        constants = _string_constants(path)
        for service, keys in owned.items():
            if service == mine:
                continue
            spelled = {c for c in constants for key in keys if c.startswith(key)}
            assert not spelled, f"{path.relative_to(ROOT)} spells {service}'s keys: {spelled}"
