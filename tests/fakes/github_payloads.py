"""Webhook payloads shaped like GitHub's (the fields Shipyard reads, plus some it does not)."""

from __future__ import annotations

from typing import Any

BEFORE = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
AFTER = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"


def repository(full_name: str = "acme/widgets") -> dict[str, Any]:
    owner, name = full_name.split("/")
    return {
        "id": 1296269, "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5", "name": name, "full_name": full_name,
        "private": False, "owner": {"login": owner, "id": 1, "type": "Organization"},
        "html_url": f"https://github.com/{full_name}", "default_branch": "main",
        "clone_url": f"https://github.com/{full_name}.git",
    }  # fmt: skip


def user(login: str = "octocat", type: str = "User") -> dict[str, Any]:
    return {
        "login": login,
        "id": 583231,
        "node_id": "MDQ6VXNlcjU4MzIzMQ==",
        "type": type,
        "site_admin": False,
    }


def push(branch: str = "main", full_name: str = "acme/widgets", **extra: Any) -> dict[str, Any]:
    return {
        "ref": f"refs/heads/{branch}", "before": BEFORE, "after": AFTER,
        "created": False, "deleted": False, "forced": False, "base_ref": None,
        "compare": f"https://github.com/{full_name}/compare/{BEFORE[:12]}...{AFTER[:12]}",
        "commits": [
            {"id": AFTER, "tree_id": "f9d2a07e9488b91af2641b26b9407fe22a451433", "distinct": True,
             "message": "Update docs", "timestamp": "2026-11-20T10:00:00+01:00",
             "author": {"name": "Mona", "email": "mona@example.com", "username": "mona"},
             "added": ["docs/new.md"], "removed": [], "modified": ["README.md"]},
        ],
        "head_commit": {"id": AFTER, "message": "Update docs"},
        "repository": repository(full_name), "pusher": {"name": "mona", "email": "mona@example.com"},
        "sender": user("mona"), **extra,
    }  # fmt: skip


def issue(number: int = 7, labels: tuple[str, ...] = (), body: str = "It breaks.") -> dict[str, Any]:
    return {
        "id": 1, "node_id": "I_kwDOA", "number": number, "title": "Login fails", "body": body,
        "state": "open", "user": user("reporter"),
        "labels": [{"id": i, "name": n} for i, n in enumerate(labels)],
        "html_url": f"https://github.com/acme/widgets/issues/{number}",
    }  # fmt: skip


def issue_comment(body: str, login: str = "mona", type: str = "User", number: int = 7) -> dict[str, Any]:
    return {
        "action": "created", "issue": issue(number),
        "comment": {"id": 9001, "node_id": "IC_kwDOA", "body": body, "user": user(login, type),
                    "html_url": f"https://github.com/acme/widgets/issues/{number}#issuecomment-9001"},
        "repository": repository(), "sender": user(login, type),
    }  # fmt: skip
