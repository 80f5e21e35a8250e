"""amops.toml: the environments, the platform's resource names, contacts and targets."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from amops.runbook.errors import ConfigError, UsageError

CONFIG_FILE = "amops.toml"

FUNCTIONS = ("authorizer", "teams", "permissions", "invitations", "audit-writer", "health")
TABLES = ("teams", "permissions", "invitations", "audit")
ALARMS = ("api-5xx", "api-latency-p99", "authorizer-errors", "audit-write-failures")

_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{1,19}$")


@dataclass(frozen=True)
class Names:
    """Resource name templates; {env}, {account}, {function}, {table}, {alarm}, {domain}."""

    function: str = "am-{env}-{function}"
    alias: str = "live"
    artifacts_bucket: str = "am-{env}-artifacts-{account}"
    api: str = "am-{env}-api"
    stage: str = "v1"
    table: str = "am-{env}-{table}"
    audit_archive_bucket: str = "am-{env}-audit-archive-{account}"
    audit_archive_dr_bucket: str = "am-{env}-audit-archive-dr-{account}"
    dr_exports_bucket: str = "am-{env}-dr-exports-{account}"
    dr_exports_dr_bucket: str = "am-{env}-dr-exports-dr-{account}"
    tfstate_bucket: str = "am-tfstate-{account}"
    tf_lock_table: str = "am-tf-locks"
    tfstate_key: str = "env:/{env}/access-management/terraform.tfstate"  # the S3 backend's key for a workspace
    lock_table: str = "amops-locks"
    runs_table: str = "amops-runs"
    log_group: str = "/aws/lambda/am-{env}-{function}"
    api_log_group: str = "/aws/apigateway/am-{env}-api"
    alarm: str = "am-{env}-{alarm}"
    dns_record: str = "api.{domain}"
    ses_identity: str = "no-reply@{domain}"
    token_signing_key: str = "/am/{env}/token-signing-key"  # SSM parameter; smoke tests sign with it


@dataclass(frozen=True)
class Environment:
    name: str
    account_id: str
    region: str = "af-south-1"
    dr_region: str | None = None
    profile: str | None = None
    role_arn: str | None = None
    approvals: int = 0
    branch: str = "*"  # the branch (glob) this environment deploys from
    endpoint_url: str | None = None  # a local AWS (the sandbox); never set for real accounts
    api_url: str | None = None  # the stage URL; default: API Gateway's execute-api URL
    dr_api_url: str | None = None

    @property
    def regions(self) -> list[str]:
        return [self.region] + ([self.dr_region] if self.dr_region else [])


@dataclass(frozen=True)
class Contacts:
    escalation: tuple[str, ...] = (
        "On-call DevOps engineer (pager)",
        "Platform engineering lead",
        "Head of engineering",
    )
    oncall: dict[str, str] = field(
        default_factory=lambda: {
            "sev1": "Page the on-call DevOps engineer; open an incident channel",
            "sev2": "Page the on-call DevOps engineer",
            "sev3": "Ticket in the platform queue, next business day",
        }
    )


@dataclass(frozen=True)
class Targets:
    rto_hours: float = 4
    rpo_hours: float = 1


@dataclass(frozen=True)
class Platform:
    domain: str = "am.example.com"
    functions: tuple[str, ...] = FUNCTIONS
    functions_dir: str = "functions"
    terraform_dir: str = "terraform"


@dataclass(frozen=True)
class Config:
    path: Path | None
    environments: dict[str, Environment]
    platform: Platform = Platform()
    names: Names = Names()
    contacts: Contacts = Contacts()
    targets: Targets = Targets()
    runbook_owners: dict[str, str] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        """The platform repository amops runs from: where amops.toml lives."""
        return self.path.parent if self.path else Path.cwd()

    def environment(self, name: str) -> Environment:
        try:
            return self.environments[name]
        except KeyError:
            known = ", ".join(self.environments) or "none"
            raise UsageError(
                f"unknown environment {name!r} (configured: {known})",
                f"use one of those, or add [environments.{name}] to {self.path or CONFIG_FILE}",
            ) from None

    def resource_names(self, env: str) -> dict[str, Any]:
        """Every concrete resource name for env, as used in commands and runbooks."""
        environment = self.environment(env)
        values = {"env": env, "account": environment.account_id, "domain": self.platform.domain}
        names: dict[str, Any] = {
            "env": env,
            "account": environment.account_id,
            "region": environment.region,
            "dr_region": environment.dr_region or "",
            "domain": self.platform.domain,
        }
        for item in fields(Names):
            template = getattr(self.names, item.name)
            if "{function}" in template or "{table}" in template or "{alarm}" in template:
                continue
            names[item.name] = template.format(**values)
        names["functions"] = {
            short: self.names.function.format(function=short, **values) for short in self.platform.functions
        }
        names["tables"] = {short: self.names.table.format(table=short, **values) for short in TABLES}
        names["alarms"] = {short: self.names.alarm.format(alarm=short, **values) for short in ALARMS}
        names["audit_table"] = names["tables"]["audit"]
        return names


def find_config(start: Path | None = None) -> Path | None:
    directory = (start or Path.cwd()).resolve()
    for candidate in [directory, *directory.parents]:
        if (candidate / CONFIG_FILE).is_file():
            return candidate / CONFIG_FILE
    return None


def load_config(path: Path | None = None) -> Config:
    """Read amops.toml from path, or from the current directory or its parents."""
    if path is None:
        path = find_config()
        if path is None:
            raise ConfigError(
                f"no {CONFIG_FILE} in {Path.cwd()} or its parents",
                "run `amops init` to write one, pass --config PATH, or practise with --sandbox",
            )
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist", "check --config, or run `amops init`")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}", "fix the syntax at that line") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot be read: {error}") from None
    return parse_config(data, path)


def parse_config(data: dict[str, Any], path: Path | None = None) -> Config:
    reader = _Reader(path)
    reader.only_keys(data, "", {"platform", "environments", "names", "contacts", "targets", "runbooks"})
    environments_data = reader.table(data, "environments", required=True)
    if not environments_data:
        reader.fail("environments", "at least one environment is needed, e.g. [environments.dev]")
    environments = {
        name: _environment(reader, name, reader.table(environments_data, name, prefix="environments"))
        for name in environments_data
    }
    runbooks = reader.table(data, "runbooks")
    owners = {}
    for name in runbooks:
        entry = reader.table(runbooks, name, prefix="runbooks")
        reader.only_keys(entry, f"runbooks.{name}", {"owner"})
        owners[name] = reader.string(entry, "owner", f"runbooks.{name}")
    contacts_data = reader.table(data, "contacts")
    reader.only_keys(contacts_data, "contacts", {"escalation", "oncall"})
    contacts = Contacts(
        escalation=tuple(reader.strings(contacts_data, "escalation", "contacts", Contacts.escalation)),
        oncall=_string_table(reader, contacts_data, "oncall", "contacts") or Contacts().oncall,
    )
    return Config(
        path=path,
        environments=environments,
        platform=reader.dataclass(Platform, reader.table(data, "platform"), "platform"),
        names=reader.dataclass(Names, reader.table(data, "names"), "names"),
        contacts=contacts,
        targets=reader.dataclass(Targets, reader.table(data, "targets"), "targets"),
        runbook_owners=owners,
    )


def _environment(reader: _Reader, name: str, data: dict[str, Any]) -> Environment:
    key = f"environments.{name}"
    if not _ENV_NAME.match(name):
        reader.fail(key, "environment names are lowercase words like dev, sit, prod")
    environment = reader.dataclass(Environment, {**data, "name": name}, key, required={"account_id"})
    if not _ACCOUNT.match(environment.account_id):
        reader.fail(
            f"{key}.account_id",
            f"must be a 12-digit AWS account id, got {environment.account_id!r}",
        )
    for region_key in ("region", "dr_region"):
        region = getattr(environment, region_key)
        if region is not None and not _REGION.match(region):
            reader.fail(f"{key}.{region_key}", f"{region!r} is not an AWS region like af-south-1")
    if environment.profile and environment.role_arn:
        reader.fail(key, "set profile or role_arn, not both")
    if environment.approvals < 0:
        reader.fail(f"{key}.approvals", "must be 0 or more")
    return environment


def _string_table(reader: _Reader, data: dict[str, Any], key: str, prefix: str) -> dict[str, str]:
    table = reader.table(data, key, prefix=prefix)
    return {name: reader.string(table, name, f"{prefix}.{key}") for name in table}


class _Reader:
    """Reads TOML tables and says exactly which key is wrong."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> None:
        raise ConfigError(f"{self.path or CONFIG_FILE}: {key}: {problem}", "fix it and run again")

    def only_keys(self, data: dict[str, Any], prefix: str, allowed: set[str]) -> None:
        for key in data:
            if key not in allowed:
                where = f"{prefix}.{key}" if prefix else key
                self.fail(where, f"unknown key (expected one of: {', '.join(sorted(allowed))})")

    def table(self, data: dict[str, Any], key: str, prefix: str = "", required: bool = False) -> dict[str, Any]:
        where = f"{prefix}.{key}" if prefix else key
        if key not in data:
            if required:
                self.fail(where, "missing")
            return {}
        if not isinstance(data[key], dict):
            self.fail(where, "must be a table")
        return data[key]

    def string(self, data: dict[str, Any], key: str, prefix: str) -> str:
        if not isinstance(data.get(key), str):
            self.fail(f"{prefix}.{key}", "must be a string")
        return data[key]

    def strings(self, data: dict[str, Any], key: str, prefix: str, default: tuple[str, ...]) -> list[str]:
        if key not in data:
            return list(default)
        value = data[key]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.fail(f"{prefix}.{key}", "must be a list of strings")
        return value

    def dataclass(self, kind: type, data: dict[str, Any], prefix: str, required: set[str] | None = None):
        """Build kind from data, checking each value against the field's annotation."""
        annotations = {item.name: item.type for item in fields(kind)}
        self.only_keys(data, prefix, set(annotations) - {"name"} | ({"name"} & set(data)))
        for key in sorted(required or ()):
            if key not in data:
                self.fail(f"{prefix}.{key}", "missing")
        values = {}
        for key, value in data.items():
            check, word = _CHECKS[annotations[key]]
            if not check(value):
                self.fail(f"{prefix}.{key}", f"must be {word}, got {value!r}")
            values[key] = tuple(value) if isinstance(value, list) else value
        return kind(**values)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_CHECKS = {
    "str": (lambda v: isinstance(v, str), "a string"),
    "str | None": (lambda v: isinstance(v, str), "a string"),
    "int": (lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"),
    "float": (_is_number, "a number"),
    "tuple[str, ...]": (
        lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
        "a list of strings",
    ),
}
