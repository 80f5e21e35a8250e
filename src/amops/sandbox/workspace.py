"""The sandbox's workspace folder: its amops.toml, Lambda sources, Terraform module, runtime files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from importlib.resources import as_file, files
from pathlib import Path

from amops.runbook.errors import UsageError
from amops.sandbox import ACCOUNTS, DOMAIN, DR_REGION, PRIMARY_REGION, role_arn

MARKER = ".amops-sandbox"
SOURCES = ("functions", "terraform")


def default_workspace() -> Path:
    if os.environ.get("AMOPS_SANDBOX_WORKSPACE"):
        return Path(os.environ["AMOPS_SANDBOX_WORKSPACE"])
    from platformdirs import user_data_dir

    return Path(user_data_dir("amops")) / "sandbox"


class Workspace:
    def __init__(self, path: Path) -> None:
        self.path = path.expanduser().resolve()

    @property
    def runtime(self) -> Path:
        return self.path / ".sandbox"

    @property
    def state_file(self) -> Path:
        return self.runtime / "state.json"

    @property
    def log_file(self) -> Path:
        return self.runtime / "server.log"

    @property
    def lock_file(self) -> Path:
        return self.runtime / "lock"

    @property
    def config_file(self) -> Path:
        return self.path / "amops.toml"

    @property
    def code_dir(self) -> Path:
        return self.runtime / "code"

    def check(self) -> Workspace:
        """Refuse a folder that is something else; changes nothing."""
        if self.path.exists() and not self.path.is_dir():
            raise UsageError(f"{self.path} is a file, not a sandbox workspace", "pass --workspace DIR with a folder")
        # A runtime folder without the marker is a workspace another `up` is laying out right now.
        occupied = self.path.is_dir() and any(self.path.iterdir())
        if occupied and not (self.path / MARKER).is_file() and not self.runtime.is_dir():
            raise UsageError(
                f"{self.path} is not an amops sandbox workspace (it has files but no {MARKER})",
                "choose an empty or new folder with --workspace",
            )
        return self

    def ensure(self) -> Workspace:
        """Create the workspace on first use (under the sandbox's lock); refuse a folder that is something else."""
        self.check()
        if not (self.path / MARKER).is_file():
            self.path.mkdir(parents=True, exist_ok=True)
            self._lay_out()
        self.runtime.mkdir(exist_ok=True)
        return self

    def _lay_out(self) -> None:
        self.restore_sources()
        (self.path / MARKER).write_text("This folder is an amops sandbox workspace.\n")
        _git_init(self.path)

    def recreate(self) -> None:
        """Everything but the runtime folder, as shipped: sources, module, a fresh git repository."""
        for child in self.path.iterdir():
            if child.name == self.runtime.name:
                continue
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        self._lay_out()

    def restore_sources(self) -> None:
        """Put the reference Lambda sources and Terraform module back as shipped."""
        with as_file(files("amops.sandbox") / "workspace") as shipped:
            for name in SOURCES:
                target = self.path / name
                if target.exists():
                    shutil.rmtree(target)
                shutil.copytree(shipped / name, target, ignore=shutil.ignore_patterns("__pycache__"))
            shutil.copyfile(shipped / "gitignore", self.path / ".gitignore")

    def write_settings(self, endpoint: str, api_urls: dict[tuple[str, str], str]) -> None:
        """amops.toml and the Terraform var files, which name this run's ports."""
        self.config_file.write_text(config_text(endpoint, api_urls))
        env_dir = self.path / "terraform" / "env"
        env_dir.mkdir(parents=True, exist_ok=True)
        for env, account in ACCOUNTS.items():
            values = {
                "env": env,
                "account_id": account,
                "region": PRIMARY_REGION,
                "api_url": api_urls[(env, PRIMARY_REGION)],
            }
            if (env, DR_REGION) in api_urls:
                values |= {"dr_region": DR_REGION, "dr_api_url": api_urls[(env, DR_REGION)]}
            (env_dir / f"{env}.tfvars").write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items()))


def config_text(endpoint: str, api_urls: dict[tuple[str, str], str]) -> str:
    branches = {"dev": "*", "sit": "release/*", "prod": "main"}
    approvals = {"dev": 0, "sit": 0, "prod": 1}
    lines = [
        "# The sandbox's configuration, written by `amops sandbox up` (its ports change each start).",
        "# Each environment is its own fake account, reached by assuming amops-operator in it.",
        "",
        "[platform]",
        f'domain = "{DOMAIN}"',
        "",
    ]
    for env, account in ACCOUNTS.items():
        lines += [
            f"[environments.{env}]",
            f'account_id = "{account}"',
            f'region = "{PRIMARY_REGION}"',
            *([f'dr_region = "{DR_REGION}"'] if env == "prod" else []),
            f'role_arn = "{role_arn(env)}"',
            f'endpoint_url = "{endpoint}"',
            f'api_url = "{api_urls[(env, PRIMARY_REGION)]}"',
            *([f'dr_api_url = "{api_urls[(env, DR_REGION)]}"'] if (env, DR_REGION) in api_urls else []),
            f"approvals = {approvals[env]}",
            f'branch = "{branches[env]}"',
            "",
        ]
    return "\n".join(lines)


def _git_init(path: Path) -> None:
    """A git repository on main, tagged and pushed to a local origin, as the platform's would be."""
    if not shutil.which("git"):
        return
    who = {"GIT_AUTHOR_NAME": "amops sandbox", "GIT_AUTHOR_EMAIL": "sandbox@am.sandbox.local"}
    env = {
        **os.environ,
        **who,
        "GIT_COMMITTER_NAME": who["GIT_AUTHOR_NAME"],
        "GIT_COMMITTER_EMAIL": who["GIT_AUTHOR_EMAIL"],
    }
    origin = path / ".sandbox" / "origin.git"
    for command in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "The reference Access Management platform"],
        ["git", "tag", "v1.0.0"],
        ["git", "init", "-q", "--bare", "-b", "main", str(origin)],
        ["git", "remote", "add", "origin", str(origin)],
        ["git", "push", "-q", "-u", "origin", "main", "--tags"],
    ):
        subprocess.run(command, cwd=path, env=env, capture_output=True, check=False)
