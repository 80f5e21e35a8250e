"""The platform repository as git sees it: branch, cleanliness, whether HEAD is pushed and tagged."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class RepoState:
    branch: str
    commit: str
    changed_files: list[str] = field(default_factory=list)
    upstream: str | None = None
    ahead: int = 0  # commits on HEAD that the upstream does not have
    tags: list[str] = field(default_factory=list)  # tags pointing at HEAD


def git_version() -> str | None:
    if not shutil.which("git"):
        return None
    answer = subprocess.run(["git", "--version"], capture_output=True, text=True, check=False)
    return answer.stdout.strip().removeprefix("git version ") or None


def _git(path: Path, *args: str) -> tuple[int, str]:
    answer = subprocess.run(["git", *args], cwd=path, capture_output=True, text=True, check=False, timeout=30)
    return answer.returncode, answer.stdout.strip()


def repo_state(path: Path) -> RepoState | None:
    """None when path is not in a git work tree (or git is missing)."""
    if not shutil.which("git") or _git(path, "rev-parse", "--is-inside-work-tree")[1] != "true":
        return None
    upstream_code, upstream = _git(path, "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{u}")
    ahead = 0
    if upstream_code == 0:
        ahead = int(_git(path, "rev-list", "--count", "@{u}..HEAD")[1] or 0)
    status = _git(path, "status", "--porcelain")[1]
    return RepoState(
        branch=_git(path, "rev-parse", "--abbrev-ref", "HEAD")[1],
        commit=_git(path, "rev-parse", "HEAD")[1],
        changed_files=[line[3:] for line in status.splitlines() if line.strip()],
        upstream=upstream if upstream_code == 0 else None,
        ahead=ahead,
        tags=[tag for tag in _git(path, "tag", "--points-at", "HEAD")[1].splitlines() if tag],
    )


def resolve(path: Path, ref: str) -> str | None:
    """The full commit a ref names, or None when the repository has no such commit."""
    code, commit = _git(path, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return commit if code == 0 else None


def is_ancestor(path: Path, ancestor: str, descendant: str) -> bool:
    return _git(path, "merge-base", "--is-ancestor", ancestor, descendant)[0] == 0


def branches_containing(path: Path, commit: str) -> list[str]:
    """Local and remote-tracking branches that contain commit (remote ones without the remote's name)."""
    _, listed = _git(path, "branch", "--all", "--contains", commit, "--format=%(refname)")
    names = set()
    for ref in listed.splitlines():
        if ref.startswith("refs/heads/"):
            names.add(ref.removeprefix("refs/heads/"))
        elif ref.startswith("refs/remotes/") and not ref.endswith("/HEAD"):
            names.add(ref.removeprefix("refs/remotes/").split("/", 1)[1])
    return sorted(names)


def tags_at(path: Path, commit: str) -> list[str]:
    return [tag for tag in _git(path, "tag", "--points-at", commit)[1].splitlines() if tag]


def add_worktree(path: Path, commit: str, where: Path) -> Path:
    """A detached checkout of commit at where (reused when it is already there)."""
    if not (where / ".git").exists():
        where.parent.mkdir(parents=True, exist_ok=True)
        code, _ = _git(path, "worktree", "add", "--force", "--detach", str(where), commit)
        if code != 0:
            raise RuntimeError(f"git could not check out {commit[:12]} into {where}")
    return where


def remove_worktree(path: Path, where: Path) -> None:
    _git(path, "worktree", "remove", "--force", str(where))


def commits_between(path: Path, older: str, newer: str) -> list[str]:
    """`git log --oneline older..newer`: what going back from newer to older undoes."""
    return [line for line in _git(path, "log", "--oneline", f"{older}..{newer}")[1].splitlines() if line]
