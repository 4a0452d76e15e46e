"""The OpenAPI 3.1 document ingest serves at `/openapi.json`.

Paths, auth schemes and media types are written out here; the response bodies' schemas are
generated from the pydantic models ingest answers with, so the document cannot drift from them.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic.json_schema import models_json_schema

from services.ingest.auth import FEED_HEADER, SUPERDESK_HEADER, WIREPRESS_HEADER
from services.ingest.handlers import ACCEPTED_MEDIA_TYPES, RETRY_AFTER_S
from services.ingest.ports import ProblemDocument, PushOutcome

PROBLEM_JSON = "application/problem+json"
REF = "#/components/schemas/{model}"

_PROBLEMS = {
    "400": "Malformed JSON or XML, an unknown format, or XML with entity declarations",
    "401": "No credentials, or a bearer token that matches no feed",
    "403": "A signature that does not verify, has expired or was already used",
    "413": "The payload is larger than the configured limit",
    "415": "A media type that is not a wire format, with a payload that is not one either",
    "422": "A well-formed item that is not a usable text story (no id, no headline, a picture)",
    "503": "Redis is unreachable or the pipeline is too far behind: retry after `Retry-After`",
}


def _problem(description: str, retry: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": REF.format(model="ProblemDocument")}}},
    }
    if retry:
        response["headers"] = {
            "Retry-After": {
                "description": f"seconds to wait before retrying (usually {RETRY_AFTER_S})",
                "schema": {"type": "integer"},
            }
        }
    return response


@cache
def openapi_document() -> dict[str, Any]:
    _, schemas = models_json_schema(
        [(PushOutcome, "serialization"), (ProblemDocument, "serialization")],
        ref_template=REF,
    )
    components = schemas.get("$defs", {})
    story_body = {
        "type": "string",
        "description": "a ninjs, NITF, NewsML-G2, NewsML 1.2, ANPA 1312, IPTC 7901 or AP Media API "
        "document (AP with its NITF rendition: multipart/related, the JSON part first)",
    }
    outcome = {"application/json": {"schema": {"$ref": REF.format(model="PushOutcome")}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Wirepress ingest",
            "version": "1",
            "description": (
                "The front door of the Wirepress pipeline: wire feeds push stories here as "
                "ninjs (1.x, 2.x, 3.x, Superdesk), NITF or NewsML-G2. Every authenticated "
                "payload is archived raw before it is answered. `X-Wirepress-Signature` is "
                "`t=<unix seconds>,sha256=<hex HMAC-SHA256 of '<t>.' + raw body>`, valid "
                "within the configured clock skew and only once; `X-Superdesk-Signature` is "
                "`sha1=<hex HMAC-SHA1 of the raw body>`. Name the feed for a signature with "
                f"`{FEED_HEADER}` or `?feed=`."
            ),
        },
        "paths": {
            "/v1/stories": {
                "post": {
                    "operationId": "pushStory",
                    "summary": "Push one story (or a NewsML-G2 newsMessage of several)",
                    "parameters": [
                        {
                            "name": "feed",
                            "in": "query",
                            "required": False,
                            "description": "the feed a signed request comes from",
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "X-Correlation-ID",
                            "in": "header",
                            "required": False,
                            "description": "follows the story through every service",
                            "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"},
                        },
                    ],
                    "security": [
                        {"bearer": []},
                        {"wirepressSignature": []},
                        {"superdeskSignature": []},
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            media: {"schema": story_body} for media in ACCEPTED_MEDIA_TYPES
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "Every story in the payload was a duplicate",
                            "content": outcome,
                        },
                        "202": {
                            "description": "Accepted: at least one story is on its way",
                            "content": outcome,
                        },
                        **{
                            status: _problem(text, retry=status == "503")
                            for status, text in _PROBLEMS.items()
                        },
                    },
                }
            },
            "/healthz": {
                "get": {
                    "operationId": "health",
                    "summary": "Whether Redis and S3 answer",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "healthy",
                            "content": {
                                "application/json": {"schema": {"$ref": REF.format(model="Health")}}
                            },
                        },
                        "503": {
                            "description": "Redis or S3 does not answer",
                            "content": {
                                "application/json": {"schema": {"$ref": REF.format(model="Health")}}
                            },
                        },
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3.1",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": {
                **components,
                "Health": {
                    "type": "object",
                    "properties": {
                        "service": {"const": "ingest"},
                        "redis": {"type": "boolean"},
                        "s3": {"type": "boolean"},
                    },
                    "required": ["service", "redis", "s3"],
                },
            },
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the feed's secret; it also names the feed",
                },
                "wirepressSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": WIREPRESS_HEADER.title(),
                    "description": "t=<unix seconds>,sha256=<hex HMAC-SHA256 of '<t>.' + body>",
                },
                "superdeskSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": SUPERDESK_HEADER.title(),
                    "description": "sha1=<hex HMAC-SHA1 of the body> (Superdesk HTTP push)",
                },
            },
        },
    }
