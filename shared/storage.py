"""S3-compatible storage with boto3: the site bucket (pages) and the archive bucket (raw payloads).

boto3 is synchronous; async callers run these methods in a worker thread.
"""

from __future__ import annotations

import gzip
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from shared.hashing import sha256_hex
from shared.metrics import Metrics
from shared.settings import StorageSettings

logger = logging.getLogger(__name__)

VERSION_META = "wirepress-ordering"
SHA_META = "wirepress-sha256"


@dataclass(frozen=True)
class StoredObject:
    key: str
    etag: str
    metadata: dict[str, str]


class PreconditionFailed(Exception):
    """A conditional write lost a race: somebody changed the object first."""


class Storage:
    def __init__(self, settings: StorageSettings, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.aws_access_key_id or "wirepress",
            aws_secret_access_key=settings.aws_secret_access_key or "wirepress",
            config=Config(
                retries={"max_attempts": 5, "mode": "standard"},
                max_pool_connections=32,
                connect_timeout=3,
                read_timeout=10,
                s3={"addressing_style": "path"},
            ),
        )
        if metrics is not None:
            _count_requests(self.client, metrics)

    def close(self) -> None:
        self.client.close()

    def ensure_buckets(self) -> None:
        """Both buckets exist, the site's readable by anyone (`wirepress init`; idempotent, but
        it sets the site bucket's policy, so the services never call it)."""
        self._ensure(self.settings.archive_bucket)
        self._ensure(self.settings.site_bucket)
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "PublicReadSite",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": ["s3:GetObject"],
                    "Resource": [f"arn:aws:s3:::{self.settings.site_bucket}/*"],
                }
            ],
        }
        try:
            self.client.put_bucket_policy(
                Bucket=self.settings.site_bucket, Policy=json.dumps(policy)
            )
        except ClientError as exc:
            # Some S3-compatible servers serve anonymous reads without a policy and reject one.
            logger.warning("site bucket policy not set: %s", exc)

    def _ensure(self, bucket: str) -> None:
        try:
            self.client.head_bucket(Bucket=bucket)
            return
        except ClientError:
            pass
        try:
            self.client.create_bucket(Bucket=bucket)
            logger.info("created bucket %s", bucket)
        except ClientError as exc:
            # Another replica starting at the same moment made it first.
            if exc.response.get("Error", {}).get("Code") not in (
                "BucketAlreadyOwnedByYou",
                "BucketAlreadyExists",
            ):
                raise

    def ping(self, bucket: str | None = None) -> None:
        """Raises unless the bucket (the site's by default) answers."""
        self.client.head_bucket(Bucket=bucket or self.settings.site_bucket)

    # --- pages -----------------------------------------------------------------------------

    def head_page(self, key: str) -> StoredObject | None:
        try:
            head = self.client.head_object(Bucket=self.settings.site_bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return StoredObject(key=key, etag=head["ETag"], metadata=head.get("Metadata", {}))

    def put_page(
        self,
        key: str,
        body: bytes,
        *,
        ordering: str,
        cache_control: str,
        if_match: str | None,
        if_none_match: bool,
        content_type: str = "text/html; charset=utf-8",
        content_encoding: str | None = None,
        sha256: str | None = None,
    ) -> str:
        """Write a page only if the object is still what we read (compare-and-set on the ETag);
        returns the new ETag. `body` is stored as given (compressed, with `content_encoding`);
        `sha256` is the hash of what readers get, the uncompressed bytes."""
        kwargs: dict[str, Any] = {
            "Bucket": self.settings.site_bucket,
            "Key": key,
            "Body": body,
            "ContentType": content_type,
            "CacheControl": cache_control,
            "Metadata": {VERSION_META: ordering, SHA_META: sha256 or sha256_hex(body)},
        }
        if content_encoding:
            kwargs["ContentEncoding"] = content_encoding
        if if_match is not None:
            kwargs["IfMatch"] = if_match
        elif if_none_match:
            kwargs["IfNoneMatch"] = "*"
        try:
            response = self.client.put_object(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
                raise PreconditionFailed(key) from exc
            raise
        return str(response["ETag"])

    def delete_page(self, key: str) -> None:
        self.client.delete_object(Bucket=self.settings.site_bucket, Key=key)

    def get_page(self, key: str) -> bytes | None:
        """A page as readers get it (decompressed if stored compressed)."""
        try:
            obj = self.client.get_object(Bucket=self.settings.site_bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        body = bytes(obj["Body"].read())
        return gzip.decompress(body) if obj.get("ContentEncoding") == "gzip" else body

    def list_pages(self, prefix: str = "") -> list[str]:
        keys: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.settings.site_bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys

    # --- raw archive -----------------------------------------------------------------------

    def archive_raw(
        self, key: str, body: bytes, content_type: str, metadata: dict[str, str]
    ) -> bool:
        """Archive a payload under `key` unless an object is there already (keys name their
        content, so it is the same payload); True if this call wrote it."""
        try:
            self.client.put_object(
                Bucket=self.settings.archive_bucket,
                Key=key,
                Body=body,
                ContentType=content_type or "application/octet-stream",
                Metadata=metadata,
                IfNoneMatch="*",
            )
        except ClientError as exc:
            # 409: the same object being written by a concurrent identical push.
            code = exc.response.get("Error", {}).get("Code")
            if code in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
                return False
            raise
        return True

    def get_raw(self, key: str) -> tuple[bytes, str, dict[str, str]]:
        obj = self.client.get_object(Bucket=self.settings.archive_bucket, Key=key)
        return bytes(obj["Body"].read()), obj.get("ContentType", ""), obj.get("Metadata", {})


#: What a finished request's HTTP status says, for the requests counter. A 404 (a HEAD of a page
#: not written yet) and a 412 (a conditional write that lost a race) are answers, not faults.
_OUTCOMES = {404: "not_found", 412: "precondition_failed"}


def _outcome(status: int) -> str:
    if status < 300:
        return "ok"
    return _OUTCOMES.get(status) or ("client_error" if status < 500 else "server_error")


def _count_requests(client: Any, metrics: Metrics) -> None:
    """Count and time every S3 request the client makes, retries included, by botocore's own
    events (its `context` travels from before the call to after it)."""

    def started(model: Any, context: dict[str, Any], **_: Any) -> None:
        context["wirepress_started"] = (model.name, time.perf_counter())

    def finished(http_response: Any, context: dict[str, Any], **_: Any) -> None:
        operation, began = context.pop("wirepress_started", ("unknown", time.perf_counter()))
        metrics.observe_s3(
            operation, _outcome(http_response.status_code), time.perf_counter() - began
        )

    def failed(context: dict[str, Any], **_: Any) -> None:
        operation, began = context.pop("wirepress_started", ("unknown", time.perf_counter()))
        metrics.observe_s3(operation, "network_error", time.perf_counter() - began)

    events = client.meta.events
    events.register("before-call.s3", started)
    events.register("after-call.s3", finished)
    events.register("after-call-error.s3", failed)
