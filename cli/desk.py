"""For admins: the editors' desk's users (`wirepress desk add-user`)."""

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


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    desk = sub.add_parser("desk", help="the editors' desk: its users")
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
