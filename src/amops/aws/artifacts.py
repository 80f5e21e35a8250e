"""The artifacts bucket: immutable Lambda zips keyed by their SHA-256."""

from __future__ import annotations

import base64

from botocore.exceptions import ClientError

from amops.aws.clients import ClientProvider
from amops.aws.errors import translate


class Artifacts:
    def __init__(self, clients: ClientProvider, bucket: str) -> None:
        self.client = clients.client("s3")
        self.bucket = bucket

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise translate(error, f"looking for s3://{self.bucket}/{key}") from error
        return True

    def upload(self, key: str, data: bytes, sha256: str) -> None:
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ContentType="application/zip",
                ChecksumSHA256=base64.b64encode(bytes.fromhex(sha256)).decode(),  # S3 checks it on arrival
            )
        except ClientError as error:
            raise translate(error, f"uploading s3://{self.bucket}/{key}") from error

    def read(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as error:
            raise translate(error, f"reading s3://{self.bucket}/{key}") from error
