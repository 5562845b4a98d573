"""GitHub releases: the tag and its release made in one call, found by tag when GitHub says it exists.

GitHub tags `target_commitish` only when the tag is new; given a tag that exists, it publishes the
release on that tag, whatever commit it names. So the tag is looked up first, and one on another
commit is refused before anything is made.
"""

from __future__ import annotations

from shipyard.domain.errors import Conflict
from shipyard.forge.github_answers import release_info
from shipyard.forge.github_base import GitHubApi, GitHubFailed
from shipyard.forge.github_repo import RepoRef
from shipyard.forge.models import ReleaseInfo

_TAG_TAKEN = "Release tag_name already_exists"  # GitHub's 422 error object, as github_base reads it


class GitHubReleases(GitHubApi):
    """The release calls of the GitHub client."""

    async def create_release(self, ref: RepoRef, tag: str, sha: str, name: str, notes: str) -> ReleaseInfo:
        """Release `name` with `notes` on tag `tag` at commit `sha`; the existing release when `tag`
        names `sha` already; Conflict naming both commits when it names another."""
        what = f"release {tag} of {ref.full_name}"
        tagged = await self.tag_commit(ref, tag)
        _check_commit(ref, tag, sha, tagged)
        request = self._github.rest.repos.async_create_release(
            ref.owner, ref.name, tag_name=tag, target_commitish=sha, name=name, body=notes
        )
        try:
            return release_info(await self._raw(what, request), sha)
        except GitHubFailed as err:
            if err.status != 422 or _TAG_TAKEN not in err.details:
                raise
        found = await self._raw(
            what, self._github.rest.repos.async_get_release_by_tag(ref.owner, ref.name, tag)
        )
        # A tag made after the look above (its release too) names the commit; `target_commitish` only
        # says what was asked for, maybe a branch that has moved since.
        _check_commit(ref, tag, sha, tagged or await self.tag_commit(ref, tag))
        return release_info(found, sha)

    async def tag_commit(self, ref: RepoRef, tag: str) -> str | None:
        """The commit tag `tag` names (an annotated tag is followed to it), or None when there is no tag."""
        what = f"tag {tag} of {ref.full_name}"
        try:
            found = await self._raw(
                what, self._github.rest.git.async_get_ref(ref.owner, ref.name, f"tags/{tag}")
            )
        except GitHubFailed as err:
            if err.status == 404:
                return None
            raise
        target = found.get("object") or {}
        if target.get("type") == "tag":  # annotated: the ref names the tag object, which names the commit
            request = self._github.rest.git.async_get_tag(ref.owner, ref.name, str(target.get("sha")))
            target = (await self._raw(what, request)).get("object") or {}
        return str(target.get("sha") or "") or None


def _check_commit(ref: RepoRef, tag: str, sha: str, tagged: str | None) -> None:
    if tagged is not None and tagged != sha:
        where = f"tag {tag} already exists in {ref.full_name} on commit {tagged}"
        raise Conflict(f"{where}, not on {sha}, the commit to release")
