"""Provision the reference stack of DESIGN.md §1 into the sandbox, one account per environment."""

from __future__ import annotations

import gzip
import json
import secrets
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import groupby
from pathlib import Path
from typing import Any

from amops.config import Config
from amops.packaging import package_function
from amops.sandbox import DR_REGION, PRIMARY_REGION, regions
from amops.sandbox.accounts import Account
from amops.sandbox.seed import (
    GRANTS,
    PLANTED_MISSING_ARCHIVE,
    TEAMS,
    USERS,
    archive_key,
    generate_events,
    log_lines,
    table_item,
    tier,
)

HANDLER = "handler.handler"
FEW_EVENTS = 2_000  # the other environments' audit logs when one is seeded in bulk
RUNTIME = "python3.11"
AUDIT_TTL_ATTRIBUTE = "expires_at"
ARCHIVE_LIFECYCLE = {
    "Rules": [
        {
            "ID": "audit-retention",
            "Filter": {"Prefix": "audit/"},
            "Status": "Enabled",
            "Transitions": [{"Days": 90, "StorageClass": "GLACIER"}],
            "Expiration": {"Days": 2555},
        }
    ]
}
EXPORTS_LIFECYCLE = {
    "Rules": [{"ID": "exports-retention", "Filter": {"Prefix": ""}, "Status": "Enabled", "Expiration": {"Days": 35}}]
}
# (method, path, function, needs the authorizer)
ROUTES = [
    ("GET", "/health", "health", False),
    ("GET", "/teams", "teams", True),
    ("POST", "/teams", "teams", True),
    ("GET", "/teams/{id}", "teams", True),
    ("DELETE", "/teams/{id}", "teams", True),
    ("GET", "/teams/{id}/members", "teams", True),
    ("POST", "/teams/{id}/members", "teams", True),
    ("DELETE", "/teams/{id}/members/{user}", "teams", True),
    ("POST", "/permissions/check", "permissions", True),
    ("POST", "/invitations", "invitations", True),
]


@dataclass
class StackOptions:
    workspace: Path
    events: int
    today: date
    api_urls: Mapping[tuple[str, str], str]  # (env, region) → the local gateway's stage URL
    progress: Callable[[str], None] = lambda message: None
    loader: Callable[[str, str], Any] = None  # (account, region) → bulk loader; see bulk.py
    hot_events: int | None = None  # events in the 30-day hot table, when not events' even share
    bulk_env: str | None = None  # events and hot_events for this environment only; the others get a few


def provision(endpoint: str, config: Config, options: StackOptions) -> None:
    """Every environment at once: each is its own account, so they do not touch each other."""
    with ThreadPoolExecutor(max_workers=len(config.environments)) as pool:
        futures = [
            pool.submit(Environment(Account(endpoint, env), config, env, options).provision)
            for env in config.environments
        ]
        for future in futures:
            future.result()


class Environment:
    def __init__(self, account: Account, config: Config, env: str, options: StackOptions) -> None:
        self.account = account
        self.config = config
        self.env = env
        self.options = options
        self.names = config.resource_names(env)
        self.account_id = config.environment(env).account_id

    def provision(self) -> None:
        say = self.options.progress
        say(f"{self.env}: roles, buckets, tables")
        self.lambda_role = self.roles()
        self.buckets()
        self.tables()
        self.secrets_and_email()
        say(f"{self.env}: functions and API")
        for region in regions(self.env):
            self.logs_and_alarms(region)
            self.functions(region)
            self.api(region)
        if self.config.environment(self.env).dr_region:
            self.dns()
        say(f"{self.env}: seeding data")
        self.seed_directory()
        say(f"{self.env}: audit")
        self.seed_audit()
        say(f"{self.env}: logs")
        self.seed_logs()

    # -- infrastructure ------------------------------------------------------------------

    def roles(self) -> str:
        iam = self.account.client("iam")
        trust = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        )
        iam.create_role(RoleName="amops-operator", AssumeRolePolicyDocument=trust)
        iam.create_role(RoleName=f"am-{self.env}-replication", AssumeRolePolicyDocument=trust)
        return iam.create_role(RoleName=f"am-{self.env}-lambda", AssumeRolePolicyDocument=trust)["Role"]["Arn"]

    def bucket(self, name: str, region: str = PRIMARY_REGION, encrypted: bool = True) -> None:
        s3 = self.account.client("s3", region)
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        if encrypted:
            s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
                },
            )
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )

    def buckets(self) -> None:
        n = self.names
        s3 = self.account.client("s3")
        for name in (
            n["artifacts_bucket"],
            n["audit_archive_bucket"],
            n["dr_exports_bucket"],
            n["tfstate_bucket"],
        ):
            self.bucket(name)
        s3.put_bucket_lifecycle_configuration(
            Bucket=n["audit_archive_bucket"], LifecycleConfiguration=ARCHIVE_LIFECYCLE
        )
        s3.put_bucket_lifecycle_configuration(Bucket=n["dr_exports_bucket"], LifecycleConfiguration=EXPORTS_LIFECYCLE)
        if not self.config.environment(self.env).dr_region:
            return
        role = f"arn:aws:iam::{self.account_id}:role/am-{self.env}-replication"
        for source, target in (
            (n["audit_archive_bucket"], n["audit_archive_dr_bucket"]),
            (n["dr_exports_bucket"], n["dr_exports_dr_bucket"]),
        ):
            self.bucket(target, DR_REGION)
            s3.put_bucket_replication(
                Bucket=source,
                ReplicationConfiguration={
                    "Role": role,
                    "Rules": [
                        {
                            "ID": "to-dr",
                            "Status": "Enabled",
                            "Priority": 1,
                            "Filter": {"Prefix": ""},
                            "DeleteMarkerReplication": {"Status": "Disabled"},
                            "Destination": {"Bucket": f"arn:aws:s3:::{target}", "StorageClass": "STANDARD"},
                        }
                    ],
                },
            )

    def tables(self) -> None:
        dynamodb = self.account.client("dynamodb")
        tables = self.names["tables"]

        def create(
            name: str,
            keys: list[tuple[str, str]],
            indexes: list[tuple[str, list[tuple[str, str]]]] = (),
            ttl: str | None = None,
            stream: bool = False,
        ) -> None:
            attributes = {attribute for attribute, _ in keys} | {a for _, k in indexes for a, _ in k}
            request = {
                "TableName": name,
                "KeySchema": [{"AttributeName": a, "KeyType": kind} for a, kind in keys],
                "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)],
                "BillingMode": "PAY_PER_REQUEST",
                "Tags": [
                    {"Key": "environment", "Value": self.env},
                    {"Key": "platform", "Value": "access-management"},
                ],
            }
            if indexes:
                request["GlobalSecondaryIndexes"] = [
                    {
                        "IndexName": index,
                        "KeySchema": [{"AttributeName": a, "KeyType": k} for a, k in schema],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                    for index, schema in indexes
                ]
            if stream:
                request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
            dynamodb.create_table(**request)
            dynamodb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
            if ttl:
                dynamodb.update_time_to_live(
                    TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl}
                )

        create(
            tables["teams"],
            [("pk", "HASH"), ("sk", "RANGE")],
            [("by-user", [("user", "HASH"), ("pk", "RANGE")])],
        )
        create(tables["permissions"], [("role", "HASH"), ("permission", "RANGE")])
        create(tables["invitations"], [("invitation_id", "HASH")], ttl="expires_at")
        create(
            tables["audit"],
            [("pk", "HASH"), ("sk", "RANGE")],
            [("by-day", [("day", "HASH"), ("sk", "RANGE")])],
            ttl=AUDIT_TTL_ATTRIBUTE,
        )
        from amops.aws.state import create_state_tables

        create_state_tables(dynamodb, self.names["lock_table"], self.names["runs_table"])
        dynamodb.create_table(
            TableName=self.names["tf_lock_table"],
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )

    def secrets_and_email(self) -> None:
        self.account.client("ssm").put_parameter(
            Name=f"/am/{self.env}/token-signing-key", Type="SecureString", Value=secrets.token_hex(32)
        )
        for region in regions(self.env):
            self.account.client("ses", region).verify_email_identity(EmailAddress=self.names["ses_identity"])

    def logs_and_alarms(self, region: str) -> None:
        logs = self.account.client("logs", region)
        for function in self.names["functions"].values():
            logs.create_log_group(logGroupName=f"/aws/lambda/{function}")
            logs.put_retention_policy(logGroupName=f"/aws/lambda/{function}", retentionInDays=30)
        logs.create_log_group(logGroupName=self.names["api_log_group"])
        cloudwatch = self.account.client("cloudwatch", region)
        alarms = self.names["alarms"]
        definitions = [
            (alarms["api-5xx"], "AWS/ApiGateway", "5XXError", "Sum", 5, {"ApiName": self.names["api"]}),
            (
                alarms["api-latency-p99"],
                "AWS/ApiGateway",
                "Latency",
                "Average",
                1000,
                {"ApiName": self.names["api"]},
            ),
            (
                alarms["authorizer-errors"],
                "AWS/Lambda",
                "Errors",
                "Sum",
                10,
                {"FunctionName": self.names["functions"]["authorizer"]},
            ),
            (
                alarms["audit-write-failures"],
                "AccessManagement",
                "AuditWriteFailures",
                "Sum",
                1,
                {"Environment": self.env},
            ),
        ]
        for name, namespace, metric, statistic, threshold, dimensions in definitions:
            cloudwatch.put_metric_alarm(
                AlarmName=name,
                Namespace=namespace,
                MetricName=metric,
                Statistic=statistic,
                Period=60,
                EvaluationPeriods=5,
                Threshold=threshold,
                ComparisonOperator="GreaterThanOrEqualToThreshold",
                Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
                TreatMissingData="notBreaching",
            )
            cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="sandbox: provisioned")

    # -- code and API ---------------------------------------------------------------------

    def functions(self, region: str) -> None:
        lam = self.account.client("lambda", region)
        s3 = self.account.client("s3")
        n = self.names
        variables = {
            "AM_ENV": self.env,
            "TEAMS_TABLE": n["tables"]["teams"],
            "PERMISSIONS_TABLE": n["tables"]["permissions"],
            "INVITATIONS_TABLE": n["tables"]["invitations"],
            "AUDIT_TABLE": n["tables"]["audit"],
            "SENDER": n["ses_identity"],
            "SIGNING_KEY_PARAMETER": f"/am/{self.env}/token-signing-key",
        }
        functions_dir = self.options.workspace / self.config.platform.functions_dir
        for short, name in n["functions"].items():
            package = package_function(short, functions_dir / short)
            if region == PRIMARY_REGION:
                s3.put_object(Bucket=n["artifacts_bucket"], Key=package.key, Body=package.data)
                code = {"S3Bucket": n["artifacts_bucket"], "S3Key": package.key}
            else:  # S3-sourced code must come from the function's own region; the zip is the same
                code = {"ZipFile": package.data}
            lam.create_function(
                FunctionName=name,
                Runtime=RUNTIME,
                Role=self.lambda_role,
                Handler=HANDLER,
                Code=code,
                Timeout=10,
                MemorySize=256,
                Environment={"Variables": variables},
                Tags={"environment": self.env},
            )
            version = lam.publish_version(
                FunctionName=name, Description=f"sha256={package.sha256} commit=sandbox-seed"
            )["Version"]
            lam.create_alias(FunctionName=name, Name=n["alias"], FunctionVersion=version)

    def api(self, region: str) -> None:
        apigateway = self.account.client("apigateway", region)
        lam_arn = f"arn:aws:lambda:{region}:{self.account_id}:function"
        alias = self.names["alias"]
        api_id = apigateway.create_rest_api(name=self.names["api"], endpointConfiguration={"types": ["REGIONAL"]})["id"]
        authorizer_uri = (
            f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/"
            f"{lam_arn}:{self.names['functions']['authorizer']}:{alias}/invocations"
        )
        authorizer_id = apigateway.create_authorizer(
            restApiId=api_id,
            name="bearer",
            type="TOKEN",
            authorizerUri=authorizer_uri,
            identitySource="method.request.header.Authorization",
            authorizerResultTtlInSeconds=0,
        )["id"]
        resources = {item["path"]: item["id"] for item in apigateway.get_resources(restApiId=api_id)["items"]}
        for method, path, function, protected in ROUTES:
            parent = "/"
            for part in path.strip("/").split("/"):
                current = parent.rstrip("/") + "/" + part
                if current not in resources:
                    resources[current] = apigateway.create_resource(
                        restApiId=api_id, parentId=resources[parent], pathPart=part
                    )["id"]
                parent = current
            auth = (
                {"authorizationType": "CUSTOM", "authorizerId": authorizer_id}
                if protected
                else {"authorizationType": "NONE"}
            )
            apigateway.put_method(restApiId=api_id, resourceId=resources[path], httpMethod=method, **auth)
            apigateway.put_integration(
                restApiId=api_id,
                resourceId=resources[path],
                httpMethod=method,
                type="AWS_PROXY",
                integrationHttpMethod="POST",
                uri=(
                    f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/"
                    f"{lam_arn}:{self.names['functions'][function]}:{alias}/invocations"
                ),
            )
        apigateway.create_deployment(restApiId=api_id, stageName=self.names["stage"], description="sandbox-seed")

    def dns(self) -> None:
        route53 = self.account.client("route53")
        domain = self.config.platform.domain
        zone = route53.create_hosted_zone(Name=domain, CallerReference=f"sandbox-{self.env}")["HostedZone"]["Id"]
        primary_url = self.options.api_urls[(self.env, PRIMARY_REGION)]
        host = primary_url.split("//")[1].split("/")[0]
        ip, _, port = host.partition(":")
        check = route53.create_health_check(
            CallerReference=f"sandbox-{self.env}-primary",
            HealthCheckConfig={
                "IPAddress": ip,
                "Port": int(port),
                "Type": "HTTP",
                "ResourcePath": f"/{self.names['stage']}/health",
                "RequestInterval": 30,
                "FailureThreshold": 3,
            },
        )["HealthCheck"]["Id"]
        record = self.names["dns_record"]
        changes = []
        for role, region, extra in (
            ("PRIMARY", PRIMARY_REGION, {"HealthCheckId": check}),
            ("SECONDARY", DR_REGION, {}),
        ):
            changes.append(
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": record,
                        "Type": "CNAME",
                        "SetIdentifier": role.lower(),
                        "Failover": role,
                        "TTL": 60,
                        "ResourceRecords": [{"Value": f"{region}.api-gateway.{domain}"}],
                        **extra,
                    },
                }
            )
        route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": changes})

    # -- data ------------------------------------------------------------------------------

    def seed_directory(self) -> None:
        dynamodb = self.account.session.resource(
            "dynamodb", region_name=PRIMARY_REGION, endpoint_url=self.account.endpoint
        )
        with dynamodb.Table(self.names["tables"]["teams"]).batch_writer() as batch:
            for team, name in TEAMS.items():
                batch.put_item(
                    Item={
                        "pk": f"TEAM#{team}",
                        "sk": "META",
                        "name": name,
                        "created_by": "seed",
                        "created_at": "2025-01-01T00:00:00Z",
                    }
                )
            for user, (team, role) in USERS.items():
                batch.put_item(Item={"pk": f"TEAM#{team}", "sk": f"MEMBER#{user}", "user": user, "role": role})
        with dynamodb.Table(self.names["tables"]["permissions"]).batch_writer() as batch:
            for role, permissions in GRANTS.items():
                for permission in permissions:
                    batch.put_item(Item={"role": role, "permission": permission})

    def audit_volume(self) -> tuple[int, int | None]:
        """(events, hot_count) seeded in this environment's audit log."""
        if self.options.bulk_env in (None, self.env):
            return self.options.events, self.options.hot_events
        return FEW_EVENTS, None

    def seed_audit(self) -> None:
        """The last 30 days in the audit table; older days as daily archive objects."""
        today = self.options.today
        loader = self.options.loader(self.account_id, PRIMARY_REGION)
        missing_age = PLANTED_MISSING_ARCHIVE.get(self.env)
        count, hot_count = self.audit_volume()
        events = generate_events(self.env, count, today, hot_count=hot_count)
        for day_text, day_events in groupby(events, key=lambda event: event["ts"][:10]):
            day = date.fromisoformat(day_text)
            where = tier(day, today)
            if where == "hot":
                loader.put_items(self.names["tables"]["audit"], (table_item(event) for event in day_events))
                continue
            if missing_age is not None and (today - day).days == missing_age:
                continue
            body = gzip.compress(
                "".join(json.dumps(event, separators=(",", ":")) + "\n" for event in day_events).encode(),
                compresslevel=6,
                mtime=0,
            )
            loader.put_object(
                self.names["audit_archive_bucket"],
                archive_key(day),
                body,
                "STANDARD" if where == "warm" else "GLACIER",
            )

    def seed_logs(self) -> None:
        logs = self.account.client("logs")
        now = datetime.now(UTC)
        for short, lines in log_lines(self.env, now).items():
            group = f"/aws/lambda/{self.names['functions'][short]}"
            stream = f"{now:%Y/%m/%d}/[seed]sandbox"
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
            for start in range(0, len(lines), 5000):
                logs.put_log_events(
                    logGroupName=group,
                    logStreamName=stream,
                    logEvents=[
                        {"timestamp": ms, "message": json.dumps(record)} for ms, record in lines[start : start + 5000]
                    ],
                )
