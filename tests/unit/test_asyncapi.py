"""The streams' AsyncAPI document: generated from the code, checked in, and complete."""

from __future__ import annotations

import json
import re
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from cli.asyncapi import DOCUMENT, render_document
from shared.events import ALL_EVENTS
from shared.streams import TOPOLOGY

pytestmark = pytest.mark.unit

ASYNCAPI_ID = re.compile(r"^[\w.\-]+$")


def test_the_checked_in_document_matches_the_code() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == render_document(), "run `make docs`"


def test_every_stream_event_and_party_is_documented() -> None:
    document = json.loads(render_document())
    assert document["asyncapi"] == "3.0.0"
    schemas = document["components"]["schemas"]
    for model in ALL_EVENTS:
        assert model.__name__ in schemas
    addresses = {(c["address"], name.rsplit(".", 2)[1]) for name, c in document["channels"].items()}
    for spec in TOPOLOGY:
        for party in (*spec.producers, *spec.groups):
            assert (spec.name, party) in addresses
    for section in ("channels", "operations"):
        assert all(ASYNCAPI_ID.match(name) for name in document[section])
    for name in document["components"]["messages"]:
        assert ASYNCAPI_ID.match(name), name


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models a field's type is made of (`Tag`, `list[Tag]`, `Article | None`)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _undocumented(model: type[BaseModel], seen: set[type[BaseModel]]) -> list[str]:
    if model in seen:
        return []
    seen.add(model)
    missing = []
    for name, field in model.model_fields.items():
        nested = _models_in(field.annotation)
        if not field.description:
            missing.append(f"{model.__name__}.{name}: no description")
        # A field made of models is exemplified by theirs.
        if not nested and not field.examples:
            missing.append(f"{model.__name__}.{name}: no example")
        for inner in nested:
            missing += _undocumented(inner, seen)
    return missing


def test_every_field_of_every_event_is_described_with_an_example() -> None:
    seen: set[type[BaseModel]] = set()
    missing = [gap for model in ALL_EVENTS for gap in _undocumented(model, seen)]
    assert missing == []


def test_schema_version_is_a_literal() -> None:
    for model in ALL_EVENTS:
        schema = model.model_json_schema()
        assert schema["properties"]["schema_version"]["const"] == 1
