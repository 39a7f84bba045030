"""Store and raw roots given as object-store URLs (``s3://bucket/prefix``), told apart from local paths.

A root is a local path unless it starts with one of :data:`SCHEMES` followed by ``://``. The
client behind every scheme is obstore (one library for S3, Google Cloud Storage and Azure), so
adding a scheme here is all another backend needs. Credentials and endpoints are never part of
a URL: they come from the usual environment variables (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ...).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SCHEMES", "RootURL", "is_url", "parse_root_url"]

# Object stores obstore reaches: S3 (and S3-compatible servers), Google Cloud Storage, Azure Blob.
SCHEMES = ("s3", "gs", "az", "abfs", "abfss")

_URL = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<bucket>[^/]*)(?P<prefix>/.*)?$")
# Environment variables that choose which server a URL means: they belong to the URL's identity.
_ENDPOINT_ENV = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AZURE_STORAGE_ENDPOINT", "GOOGLE_STORAGE_ENDPOINT")


def is_url(root: Path | str | None) -> bool:
    """True if ``root`` is an object-store URL (a ``str`` starting with a known scheme and ``://``)."""
    if not isinstance(root, str):
        return False
    match = _URL.match(root)
    return bool(match) and match.group("scheme") in SCHEMES


@dataclass(frozen=True)
class RootURL:
    """An object-store root: scheme, bucket (container) and the key prefix under it (no slashes at the ends)."""

    scheme: str
    bucket: str
    prefix: str = ""

    def __str__(self) -> str:
        return f"{self.scheme}://{self.bucket}" + (f"/{self.prefix}" if self.prefix else "")

    def join(self, *parts: str) -> str:
        """The URL of ``parts`` (keys relative to the root) under this root."""
        rest = "/".join(p.strip("/") for p in parts if p.strip("/"))
        return f"{self}/{rest}" if rest else str(self)

    def key(self, *parts: str) -> str:
        """The object key of ``parts`` inside the bucket (prefix included)."""
        rest = [p.strip("/") for p in (self.prefix, *parts) if p.strip("/")]
        return "/".join(rest)

    def cache_name(self) -> str:
        """A folder name for this root's local working copy: readable, and unique per URL and endpoint."""
        endpoint = "|".join(os.environ.get(name, "") for name in _ENDPOINT_ENV)
        digest = hashlib.sha256(f"{self}|{endpoint}".encode()).hexdigest()[:12]
        readable = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{self.scheme}-{self.bucket}-{self.prefix}").strip("-")[:60]
        return f"{readable}-{digest}"


def parse_root_url(root: str) -> RootURL:
    """Split ``scheme://bucket/prefix`` into a :class:`RootURL`.

    Raises
    ------
    ValueError
        If ``root`` is not a URL of a supported scheme, has no bucket, or its prefix has empty,
        ``.`` or ``..`` segments.
    """
    match = _URL.match(root) if isinstance(root, str) else None
    if not match or match.group("scheme") not in SCHEMES:
        raise ValueError(f"{root!r} is not an object-store URL; expected one of {', '.join(SCHEMES)}://bucket/prefix")
    bucket = match.group("bucket")
    if not bucket:
        raise ValueError(f"{root!r}: the URL names no bucket (expected {match.group('scheme')}://bucket/prefix)")
    prefix = (match.group("prefix") or "").strip("/")
    if prefix and any(part in ("", ".", "..") for part in prefix.split("/")):
        raise ValueError(f"{root!r}: the prefix has an empty, '.' or '..' segment")
    return RootURL(scheme=match.group("scheme"), bucket=bucket, prefix=prefix)
