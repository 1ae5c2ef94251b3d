"""An offline emulator of the TikTok Research API (api-notes §1-9 with the §11 decisions).

It answers exactly like the service (paths, envelopes, error bodies, pagination, quotas, quirks)
over a deterministic synthetic corpus, in-process as an httpx transport or as a real HTTP server.
The corpus changes with the sandbox clock like the real one (``SandboxConfig(frozen_corpus=True)``
keeps it as generated); ``SandboxConfig.realistic()`` switches on the data-quality findings of
api-notes §14, and ``Sandbox.truth`` says exactly what they did.

Example:
    >>> import httpx
    >>> from tiktok_research.sandbox import Sandbox, SandboxConfig
    >>> sb = Sandbox(SandboxConfig(n_videos=2_000))
    >>> http = httpx.Client(transport=sb.transport(), base_url=Sandbox.BASE_URL)
    >>> token = sb.issue_token()
    >>> r = http.post(
    ...     "/v2/research/video/query/?fields=id,username",
    ...     headers={"Authorization": f"Bearer {token}"},
    ...     json={"query": {"and": [{"operation": "EQ", "field_name": "hashtag_name",
    ...                             "field_values": ["cats"]}]},
    ...           "start_date": "20240101", "end_date": "20240130"},
    ... )
    >>> r.json()["error"]["code"]
    'ok'
"""

from __future__ import annotations

from ._adlib import AdlibConfig
from ._adlib_corpus import AdLibrary
from ._config import (
    CHANGING_CORPUS,
    ENTITY_COMMENT,
    ENTITY_VIDEO,
    FAULT_KINDS,
    ClientSpec,
    FailingRange,
    FaultConfig,
    SandboxConfig,
)
from ._core import RandomDraw, RequestRecord, Sandbox, SandboxResponse
from ._corpus import Corpus
from ._server import run_server, serve
from ._truth import VIDEO_STATUSES, KnownTruths, QueryTruth

__all__ = [
    "CHANGING_CORPUS",
    "ENTITY_COMMENT",
    "ENTITY_VIDEO",
    "FAULT_KINDS",
    "VIDEO_STATUSES",
    "AdLibrary",
    "AdlibConfig",
    "ClientSpec",
    "Corpus",
    "FailingRange",
    "FaultConfig",
    "KnownTruths",
    "QueryTruth",
    "RandomDraw",
    "RequestRecord",
    "Sandbox",
    "SandboxConfig",
    "SandboxResponse",
    "run_server",
    "serve",
]
