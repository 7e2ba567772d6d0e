"""`python -m services.console.create_officer --username X --role admin`: make an officer account
(the first admin, at installation). The password is asked twice at a terminal, or read from
the first line of standard input when it is not a terminal (scripts); never from the command
line, where it would stay in the shell history and the process list."""
from __future__ import annotations

import argparse
import getpass
import sys

from assistant.settings import load_settings
from services.console.accounts import MIN_PASSWORD, ROLES, AccountError, Accounts


def read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"Mật khẩu (ít nhất {MIN_PASSWORD} ký tự): ")
    if getpass.getpass("Nhập lại mật khẩu: ") != first:
        raise AccountError("Hai lần nhập mật khẩu không khớp.")
    return first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Tạo tài khoản cán bộ cho bàn làm việc (console).")
    parser.add_argument("--username", required=True, help="tên đăng nhập")
    parser.add_argument("--role", choices=ROLES, default="admin", help="vai trò (mặc định: admin)")
    args = parser.parse_args(argv)
    settings = load_settings()
    try:
        officer = Accounts.from_settings(settings).create(args.username, read_password(), args.role)
    except AccountError as error:
        print(f"LỖI: {error}", file=sys.stderr)
        return 1
    print(f"Đã tạo tài khoản {officer.username} ({officer.role}) trong {settings.console_db}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
