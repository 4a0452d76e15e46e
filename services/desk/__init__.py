"""Desk: the editors' console. Consumes no stream yet; emits none yet.

This first part is the door: editors sign in with a user name and an Argon2-hashed password
(users in Redis, made with `wirepress desk add-user`), get a signed, expiring, `HttpOnly`,
`SameSite=Strict` session cookie, and every state-changing request carries a CSRF token tied
to that session. Repeated failed sign-ins are answered 429 with `Retry-After`, per user name and
per address. Roles: *editor* steers stories, *admin* also manages users and dead letters.
Run it with `python -m services.desk` (`services.desk.app:create_app`).
"""

from services.desk.app import add_user
from services.desk.settings import DeskSettings

__all__ = ["DeskSettings", "add_user"]
