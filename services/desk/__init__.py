"""Desk: the editors' console and API.

Consumes (as an observer group, `desk`, that never holds the pipeline back) `wirepress:ingested`
(article.ingested), `wirepress:enriched` (article.enriched) and `wirepress:published`
(article.published), and reads the dead-letter streams, to keep its own index of every story:
status, versions, tags, links and a timeline per stage. Emits editors' commands as
article.republish_requested on `wirepress:republish` (republish, pins, bans, tag removals and
bans, take-downs, embargo moves), each recorded in its audit log.

Editors sign in with a user name and an Argon2-hashed password (users in Redis, made with
`wirepress desk add-user`), get a signed, expiring, `HttpOnly`, `SameSite=Strict` session cookie,
and every state-changing request carries a CSRF token tied to that session. Repeated failed
sign-ins are answered 429 with `Retry-After`, per user name and per address. Roles: *editor*
steers stories, *admin* also requeues and discards dead letters. Tools call the JSON API
(`/api/v1/openapi.json`) with bearer tokens (`wirepress desk add-token`).
Run it with `python -m services.desk` (`services.desk.app:create_app`).
"""

from services.desk.app import add_token, add_user, revoke_token
from services.desk.settings import DeskSettings

__all__ = ["DeskSettings", "add_token", "add_user", "revoke_token"]
