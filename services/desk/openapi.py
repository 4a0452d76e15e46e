"""The OpenAPI 3.1 document the desk serves at `/api/v1/openapi.json`.

Paths and auth are written out here; the schemas of what the API answers are generated from the
desk's own types, so the document cannot drift from them (and a test checks that every API route
is in it, and nothing else).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import TypeAdapter

from services.desk.actions import BULK_SCOPES, FRONT_OPS, STORY_ACTIONS
from services.desk.ports import STATUSES, AuditRecord, DeskStory, Job, TimelineEntry

REF = "#/components/schemas/{model}"
SECURITY: list[dict[str, list[str]]] = [{"bearer": []}, {"session": []}]


def _schema(kind: type) -> dict[str, Any]:
    return TypeAdapter(kind).json_schema(ref_template="#/components/schemas/{model}")


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}


def _errors(*codes: str) -> dict[str, Any]:
    words = {
        "400": "The request is not one the desk can do as asked (the detail says why)",
        "401": "Not signed in, or a token that matches none",
        "403": "The role may not do this, or the CSRF token is missing or wrong",
        "404": "No such story, job or dead letter",
        "409": "The action needs confirming, or does not fit the story's state",
        "413": "The body is too large",
        "503": "A service the desk asks (render, about the fronts) did not answer",
    }
    return {code: _json(words[code], _ERROR) for code in codes}


def _op(summary: str, ok: dict[str, Any], *errors: str, **extra: Any) -> dict[str, Any]:
    status = "202" if extra.pop("accepted", False) else "200"
    return {
        "summary": summary,
        "security": SECURITY,
        "responses": {status: ok, **_errors("401", "403", *errors)},
        **extra,
    }


def _body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "properties": properties, "required": required}
            }
        },
    }


def _param(
    name: str, description: str, schema: dict[str, Any], where: str = "query"
) -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path", "description": description,
            "schema": schema}  # fmt: skip


_ID = _param("article_id", "The story's article id (or its guid).", {"type": "string"}, "path")


@cache
def openapi_document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for kind in (DeskStory, TimelineEntry, Job, AuditRecord):
        schema = _schema(kind)
        schemas.update(schema.pop("$defs", {}))
        schemas[kind.__name__] = schema
    story_ref = {"$ref": REF.format(model="DeskStory")}
    listing = {
        "type": "object",
        "properties": {
            "total": {"type": "integer"},
            "offset": {"type": "integer"},
            "limit": {"type": "integer"},
            "stories": {"type": "array", "items": story_ref},
        },
    }
    action_body = _body(
        {
            "action": {"enum": list(STORY_ACTIONS), "description": _actions_text()},
            "value": {"description": "What the action needs (see action).",
                      "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
            "confirm": {"type": "string", "description": "takedown: the story's article id."},
        },
        ["action"],
    )  # fmt: skip
    dead_body = _body(
        {"stream": {"type": "string"}, "dead_ids": {"type": "array", "items": {"type": "string"}}},
        ["stream", "dead_ids"],
    )
    paths = {
        "/api/v1/me": {"get": _op("Who is calling", _json("The caller", {"type": "object"}))},
        "/api/v1/openapi.json": {
            "get": _op("This document", _json("OpenAPI 3.1", {"type": "object"}))
        },
        "/api/v1/stories": {
            "get": _op(
                "Every story, newest first: searched by headline, filtered, paged",
                _json("A page of stories", listing),
                "400",
                parameters=[
                    _param(
                        "q",
                        "Headline words (the last may be the start of one).",
                        {"type": "string"},
                    ),
                    _param("status", "One status.", {"enum": list(STATUSES)}),
                    _param("section", "A section slug.", {"type": "string"}),
                    _param("tag", "A tag slug.", {"type": "string"}),
                    _param("since", "From this day (UTC).", {"type": "string", "format": "date"}),
                    _param("until", "To this day (UTC).", {"type": "string", "format": "date"}),
                    _param("offset", "Stories skipped.", {"type": "integer", "minimum": 0}),
                    _param("limit", "Stories per page.", {"type": "integer", "maximum": 200}),
                ],
            )
        },
        "/api/v1/stories/{article_id}": {
            "get": _op(
                "One story: its versions, timeline, tags, links and the editors' overrides",
                _json("The story", story_ref),
                "404",
                parameters=[_ID],
            )
        },
        "/api/v1/stories/{article_id}/actions": {
            "post": _op(
                "Act on a story: a command on wirepress:republish, recorded in the audit log",
                _json(
                    "Sent",
                    {
                        "type": "object",
                        "properties": {
                            "correlation_id": {"type": "string"},
                            "article_id": {"type": "string"},
                            "job_id": {"type": "string"},
                        },
                    },
                ),
                "400",
                "404",
                "409",
                "413",
                parameters=[_ID],
                requestBody=action_body,
                accepted=True,
            )
        },
        "/api/v1/stories/{article_id}/actions/{correlation_id}": {
            "get": _op(
                "Whether an action is on the site yet",
                _json(
                    "Its state",
                    {
                        "type": "object",
                        "properties": {
                            "requested_at": {"type": "number"},
                            "on_site_at": {"type": ["number", "null"]},
                            "on_site": {"type": "boolean"},
                        },
                    },
                ),
                "404",
                parameters=[
                    _ID,
                    _param("correlation_id", "The action's.", {"type": "string"}, "path"),
                ],
            )
        },
        "/api/v1/republish": {
            "post": _op(
                "Republish a section, a tag or everything, paced so fresh news keeps its room",
                _json("The job", {"$ref": REF.format(model="Job")}),
                "400",
                "404",
                "413",
                requestBody=_body(
                    {"scope": {"enum": list(BULK_SCOPES)}, "value": {"type": "string"}}, ["scope"]
                ),
                accepted=True,
            )
        },
        "/api/v1/jobs/{job_id}": {
            "get": _op(
                "A bulk job's progress",
                _json("The job", {"$ref": REF.format(model="Job")}),
                "404",
                parameters=[_param("job_id", "The job's id.", {"type": "string"}, "path")],
            )
        },
        "/api/v1/fronts": {
            "get": _op(
                "The curated fronts: for each, the stories pinned to lead it, in order",
                _json(
                    "Fronts",
                    {
                        "type": "object",
                        "properties": {
                            "fronts": {
                                "type": "object",
                                "additionalProperties": {
                                    "type": "array",
                                    "items": {"type": "string"},
                                },
                            }
                        },
                    },
                ),
            ),
            "post": _op(
                "Pin, lead, move up or unpin a story on a front (a command to render)",
                _json(
                    "Sent",
                    {
                        "type": "object",
                        "properties": {
                            "correlation_id": {"type": "string"},
                            "front": {"type": "string"},
                            "op": {"type": "string"},
                        },
                    },
                ),
                "400",
                "404",
                "409",
                "413",
                "503",
                requestBody=_body(
                    {
                        "front": {"type": "string", "description": "home, or section/<slug>"},
                        "op": {"enum": list(FRONT_OPS), "description": _ops_text()},
                        "article_id": {"type": "string"},
                    },
                    ["front", "op", "article_id"],
                ),
                accepted=True,
            ),
        },
        "/api/v1/queue": {
            "get": _op(
                "Per stream and group: length, lag, pending, oldest pending; the dead letters",
                _json("The queue", {"type": "object"}),
            )
        },
        "/api/v1/queue/{verb}": {
            "post": _op(
                "Requeue or discard dead letters (admins)",
                _json("How many", {"type": "object", "properties": {"count": {"type": "integer"}}}),
                "400",
                "404",
                "413",
                parameters=[
                    _param("verb", "What to do.", {"enum": ["requeue", "discard"]}, "path")
                ],
                requestBody=dead_body,
            )
        },
        "/api/v1/audit": {
            "get": _op(
                "The audit log, newest first",
                _json(
                    "Entries", {"type": "array", "items": {"$ref": REF.format(model="AuditRecord")}}
                ),
                parameters=[
                    _param("before", "An entry id: the page after it.", {"type": "string"}),
                    _param("limit", "Entries.", {"type": "integer", "maximum": 1000}),
                ],
            )
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Wirepress desk",
            "version": "1",
            "description": "The editors' desk API. Machines send `Authorization: Bearer <token>` "
            "(made with `wirepress desk add-token`); a browser's session cookie works too, "
            "with its CSRF token in `X-CSRF-Token` on every POST.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "desk_session"},
            },
        },
    }


def _actions_text() -> str:
    return "; ".join(f"{name}: {needs or 'nothing'}" for name, needs in STORY_ACTIONS.items())


def _ops_text() -> str:
    return "; ".join(f"{name}: {what}" for name, what in FRONT_OPS.items())
