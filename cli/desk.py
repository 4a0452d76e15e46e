"""For admins: the editors' desk's users and the tokens newsroom tools call its API with
(`wirepress desk add-user`, `add-token`, `revoke-token`)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import secrets
import sys


def add_user_command(args: argparse.Namespace) -> int:
    from services.desk import DeskSettings, add_user

    if args.generate_password:
        password = secrets.token_urlsafe(18)
    elif args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
    try:
        added = asyncio.run(add_user(DeskSettings(), args.name, password, args.role))
    except ValueError as exc:
        print(f"not added: {exc}", file=sys.stderr)
        return 2
    if not added:
        print(f"not added: {args.name} exists already", file=sys.stderr)
        return 1
    print(f"added {args.role} {args.name.strip().lower()}")
    if args.generate_password:
        print(f"password: {password}")
    return 0


def add_token_command(args: argparse.Namespace) -> int:
    from services.desk import DeskSettings, add_token

    try:
        token = asyncio.run(add_token(DeskSettings(), args.name, args.role))
    except ValueError as exc:
        print(f"not added: {exc}", file=sys.stderr)
        return 2
    if token is None:
        print(f"not added: a token named {args.name} exists already", file=sys.stderr)
        return 1
    print(f"token {args.name} ({args.role}); it is shown only now:", file=sys.stderr)
    print(token)
    return 0


def revoke_token_command(args: argparse.Namespace) -> int:
    from services.desk import DeskSettings, revoke_token

    if not asyncio.run(revoke_token(DeskSettings(), args.name)):
        print(f"no token named {args.name}", file=sys.stderr)
        return 1
    print(f"revoked token {args.name}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    desk = sub.add_parser("desk", help="the editors' desk: its users and API tokens")
    actions = desk.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add-user", help="add an editor or an admin who may sign in")
    add.add_argument("name")
    add.add_argument("--role", choices=["editor", "admin"], default="editor")
    source = add.add_mutually_exclusive_group()
    source.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    source.add_argument(
        "--generate-password", action="store_true", help="make a random one and print it"
    )
    add.set_defaults(func=add_user_command)
    token = actions.add_parser("add-token", help="a bearer token for a tool to call the API")
    token.add_argument("name")
    token.add_argument("--role", choices=["editor", "admin"], default="editor")
    token.set_defaults(func=add_token_command)
    revoke = actions.add_parser("revoke-token", help="a token stops working at once")
    revoke.add_argument("name")
    revoke.set_defaults(func=revoke_token_command)
