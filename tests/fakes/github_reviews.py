"""The fake GitHub's pull request reviews, in GitHub's REST shapes: "List reviews for a pull request",
"Create a review for a pull request", "List review comments on a pull request", "Create a reply for
a review comment" and "List pull requests files". Lists come a page at a time (`per_page`, at most
100, and `page`), with GitHub's `Link` header.

Given a repository's git data (`FakeGitHub.git_dirs`: a bare repository, as GitHttpServer serves
it), a pull request's diff (`github_diff`) is real: its files are listed, and a review with an
inline comment that is not on a line of that diff is refused as GitHub refuses it: 422 for the
whole review, without saying which comment. Without git data any line is taken, and no files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from fakes.github_diff import file_json, git, pull_diff, side_lines
from fakes.github_git import commit_sha, review_json
from fakes.github_json import FakeRepo, GitHubError, Pull, ReviewComment, user_json

if TYPE_CHECKING:
    from fakes.github_api import FakeGitHub

_STATES = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}
_OWN_PULL = {
    "APPROVE": "Can not approve your own pull request",
    "REQUEST_CHANGES": "Can not request changes on your own pull request",
}


@dataclass
class NewComment:
    """An inline comment a review brings."""

    path: str
    line: int
    side: str
    body: str


def _sentence(parts: list[str]) -> str:
    """Parts joined as GitHub joins its reasons: `a`, `a and b`, `a, b, and c`."""
    if len(parts) < 3:
        return " and ".join(parts)
    return ", ".join(parts[:-1]) + ", and " + parts[-1]


def _placed(
    fake: FakeGitHub, full_name: str, pull: Pull, comments: list[NewComment]
) -> tuple[str, list[tuple[int | None, str]]]:
    """The head commit, and each comment's position and diff hunk; GitHub's 422 when, with git
    data, a comment's path or line is not in the pull request's diff."""
    git_dir = fake.git_dir(full_name)
    if git_dir is None:
        return commit_sha(full_name, pull.head), [(None, "") for _ in comments]
    diff = pull_diff(git_dir, pull)
    reasons = []
    for c in comments:
        if c.path not in diff:
            reasons.append("Path could not be resolved")
        elif c.line not in side_lines(diff[c.path], c.side):
            reasons.append("Line could not be resolved")
    if reasons:
        raise GitHubError(422, "Unprocessable Entity", [_sentence(reasons)])
    head = git(git_dir, "rev-parse", f"refs/heads/{pull.head}").strip()
    return head, [side_lines(diff[c.path], c.side)[c.line] for c in comments]


def add_review(
    fake: FakeGitHub,
    full_name: str,
    number: int,
    user: str,
    event: str,
    body: str,
    comments: list[NewComment],
) -> tuple[dict[str, Any], list[ReviewComment]]:
    """Submit a review of pull request `number` with its inline comments (all or none): its JSON
    and its comments."""
    repo = fake.repo(full_name)
    pull = _pull(repo, number)
    if event not in _STATES:  # GitHub keeps a review without one pending; the fake keeps none
        raise _invalid("event")
    if pull.user == user and event in _OWN_PULL:
        raise GitHubError(422, "Unprocessable Entity", [_OWN_PULL[event]])
    head, places = _placed(fake, full_name, pull, comments)
    review = review_json(repo.json, pull, fake.next_id(), user, _STATES[event], body) | {"commit_id": head}
    made = [
        ReviewComment(
            fake.next_id(), number, review["id"], c.path, c.line, c.side, c.body, user, head, hunk, position
        )
        for c, (position, hunk) in zip(comments, places, strict=True)
    ]
    repo.reviews.setdefault(number, []).append(review)
    repo.review_comments += made
    return review, made


def add_reply(fake: FakeGitHub, full_name: str, number: int, comment_id: int, body: str) -> ReviewComment:
    """Answer review comment `comment_id` in its thread; as on GitHub, the reply comes in a review
    of its own. Replies thread to the comment that started the thread."""
    repo = fake.repo(full_name)
    pull = _pull(repo, number)
    to = next((c for c in repo.review_comments if c.id == comment_id and c.pull_number == number), None)
    if to is None:
        raise GitHubError(404, "Not Found")
    review = review_json(repo.json, pull, fake.next_id(), fake.login, "COMMENTED", "") | {
        "commit_id": to.commit_id
    }
    reply = ReviewComment(
        fake.next_id(), number, review["id"], to.path, to.line, to.side, body, fake.login, to.commit_id,
        to.diff_hunk, to.position, in_reply_to_id=to.in_reply_to_id or to.id,
    )  # fmt: skip
    repo.reviews.setdefault(number, []).append(review)
    repo.review_comments.append(reply)
    return reply


def review_comment_json(repo: dict[str, Any], comment: ReviewComment) -> dict[str, Any]:
    """A review comment ("List review comments on a pull request"); `in_reply_to_id` only on replies."""
    url, pull_url = f"{repo['url']}/pulls/comments/{comment.id}", f"{repo['url']}/pulls/{comment.pull_number}"
    html = f"{repo['html_url']}/pull/{comment.pull_number}#discussion_r{comment.id}"
    reactions = {
        key: 0
        for key in ("total_count", "+1", "-1", "laugh", "confused", "heart", "hooray", "eyes", "rocket")
    }
    body: dict[str, Any] = {
        "url": url, "pull_request_review_id": comment.review_id, "id": comment.id,
        "node_id": f"PRRC_kwDO{comment.id:08d}", "diff_hunk": comment.diff_hunk, "path": comment.path,
        "position": comment.position if comment.line is not None else None,
        "original_position": comment.position, "commit_id": comment.commit_id,
        "original_commit_id": comment.commit_id, "user": user_json(comment.user), "body": comment.body,
        "created_at": comment.created_at, "updated_at": comment.updated_at, "html_url": html,
        "pull_request_url": pull_url, "author_association": "COLLABORATOR",
        "_links": {"self": {"href": url}, "html": {"href": html}, "pull_request": {"href": pull_url}},
        "reactions": {"url": f"{url}/reactions", **reactions}, "start_line": None,
        "original_start_line": None, "start_side": None, "line": comment.line,
        "original_line": comment.line, "side": comment.side, "subject_type": "line",
    }  # fmt: skip
    if comment.in_reply_to_id is not None:
        body["in_reply_to_id"] = comment.in_reply_to_id
    return body


def paged(request: Request, items: list[Any]) -> JSONResponse:
    """One page of `items` as GitHub answers a list: `per_page` (30 unless asked, at most 100) from
    `page`, and a `Link` header naming the first, previous, next and last pages there are."""
    chunk, link = one_page(request, items)
    return JSONResponse(chunk, headers={"Link": link} if link else None)


def one_page(request: Request, items: list[Any]) -> tuple[list[Any], str]:
    """The page of `items` the request asks for, and the `Link` header's value (empty: one page)."""
    per_page = min(max(_number(request, "per_page", 30), 1), 100)
    page, last = max(_number(request, "page", 1), 1), max((len(items) + per_page - 1) // per_page, 1)
    links = {"first": 1, "prev": page - 1} if page > 1 else {}
    links |= {"next": page + 1, "last": last} if page < last else {}
    link = ", ".join(f'<{request.url.include_query_params(page=n)}>; rel="{rel}"' for rel, n in links.items())
    return items[(page - 1) * per_page : page * per_page], link


def _number(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name, "")
    return int(value) if value.isdigit() else default


def _pull(repo: FakeRepo, number: int) -> Pull:
    if number not in repo.pulls:
        raise GitHubError(404, "Not Found")
    return repo.pulls[number]


def _invalid(field: str) -> GitHubError:
    return GitHubError(
        422, "Validation Failed", [{"resource": "PullRequestReview", "field": field, "code": "invalid"}]
    )


def _new_comments(body: dict[str, Any]) -> list[NewComment]:
    """The review's `comments`: each needs a path, a body and a `line` (no `position` here)."""
    comments = body.get("comments") or []
    if not isinstance(comments, list):
        raise _invalid("comments")
    made = []
    for item in comments:
        path, line, side, text = (item.get(key) for key in ("path", "line", "side", "body"))
        side = side or "RIGHT"
        if (
            not isinstance(path, str)
            or not isinstance(line, int)
            or not isinstance(text, str)
            or side not in ("RIGHT", "LEFT")
        ):
            raise _invalid("comments")
        made.append(NewComment(path, line, side, text))
    return made


def add_review_routes(app: FastAPI, fake: FakeGitHub) -> None:
    """Mount the routes on the fake's app."""

    @app.get("/repos/{owner}/{name}/pulls/{number:int}/reviews")
    async def list_reviews(owner: str, name: str, number: int, request: Request) -> JSONResponse:
        repo = fake.repo(f"{owner}/{name}")
        _pull(repo, number)
        return paged(request, repo.reviews.get(number, []))

    @app.post("/repos/{owner}/{name}/pulls/{number:int}/reviews")
    async def create_review(owner: str, name: str, number: int, request: Request) -> JSONResponse:
        repo, body = fake.repo(f"{owner}/{name}"), await request.json()
        comments = _new_comments(body)
        review, _ = add_review(
            fake,
            repo.json["full_name"],
            number,
            fake.login,
            str(body.get("event")),
            str(body.get("body") or ""),
            comments,
        )
        return JSONResponse(review)

    @app.get("/repos/{owner}/{name}/pulls/{number:int}/comments")
    async def list_comments(owner: str, name: str, number: int, request: Request) -> JSONResponse:
        repo = fake.repo(f"{owner}/{name}")
        _pull(repo, number)
        found = [review_comment_json(repo.json, c) for c in repo.review_comments if c.pull_number == number]
        descending = "sort" in request.query_params and request.query_params.get("direction") == "desc"
        return paged(request, found[::-1] if descending else found)

    @app.post("/repos/{owner}/{name}/pulls/{number:int}/comments/{comment_id:int}/replies")
    async def reply(owner: str, name: str, number: int, comment_id: int, request: Request) -> JSONResponse:
        repo, body = fake.repo(f"{owner}/{name}"), await request.json()
        text = body.get("body")
        if not isinstance(text, str) or not text:
            raise GitHubError(
                422,
                "Validation Failed",
                [{"resource": "PullRequestReviewComment", "field": "body", "code": "missing_field"}],
            )
        made = add_reply(fake, repo.json["full_name"], number, comment_id, text)
        location = f"{repo.json['url']}/pulls/comments/{made.id}"
        return JSONResponse(review_comment_json(repo.json, made), 201, headers={"Location": location})

    @app.get("/repos/{owner}/{name}/pulls/{number:int}/files")
    async def list_files(owner: str, name: str, number: int, request: Request) -> JSONResponse:
        repo = fake.repo(f"{owner}/{name}")
        pull, git_dir = _pull(repo, number), fake.git_dir(repo.json["full_name"])
        if git_dir is None:
            return paged(request, [])
        head = git(git_dir, "rev-parse", f"refs/heads/{pull.head}").strip()
        return paged(
            request, [file_json(repo.json, head, diff) for diff in pull_diff(git_dir, pull).values()]
        )
