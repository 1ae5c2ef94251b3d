"""tiktok_research: the TikTok Research API as polars DataFrames, with an offline sandbox.

The public surface is listed in ``__all__``. Submodules are imported lazily so that
``import tiktok_research`` stays fast and heavy dependencies (matplotlib, pandas) load when used.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__

# name -> submodule that defines it. Keep sorted by module.
_LAZY: dict[str, str] = {
    # client layer
    "Client": "client",
    "Q": "query",
    "Criteria": "query",
    "Query": "query",
    "VideoQuery": "query",
    "as_query": "query",
    "Page": "pagination",
    "RequestPlan": "client",
    "RetryPolicy": "_retry",
    "split_windows": "_windows",
    # error tree (one place: errors.py)
    "TikTokResearchError": "errors",
    "InvalidRequestError": "errors",
    "AuthenticationError": "errors",
    "ScopeNotAuthorizedError": "errors",
    "RateLimitedError": "errors",
    "QuotaExhaustedError": "errors",
    "ServerError": "errors",
    "UnavailableError": "errors",
    "BudgetExhaustedError": "errors",
    "NotYetIndexedWarning": "errors",
    # tables layer
    "schemas": "schemas",
    "merge_dumps": "merge",
    "select_video_ids": "select",
    "select_usernames": "select",
    "write_parquet": "io",
    "write_dataset": "io",
    "write_csv": "io",
    "to_pandas": "io",
    # collection layer
    "fetch_videos": "fetch",
    "collect_videos": "fetch",
    "fetch_user_info": "fetch",
    "fetch_comments": "fetch",
    "fetch_liked_videos": "fetch",
    "fetch_pinned_videos": "fetch",
    "fetch_reposted_videos": "fetch",
    "fetch_followers": "fetch",
    "fetch_following": "fetch",
    "fetch_playlists": "fetch",
    "fetch_shops": "fetch",
    "fetch_products": "fetch",
    "fetch_reviews": "fetch",
    # analysis layer
    "engagement": "analysis",
    "summarize": "analysis",
    "plots": "plots",
    # submodules reached as attributes (tr.io.read_dataset, tr.select.write_lines, ...)
    "analysis": "analysis",
    "collect": "collect",
    "errors": "errors",
    "fetch": "fetch",
    "io": "io",
    "query": "query",
    "select": "select",
    "spark": "spark",
    "tables": "tables",
    # sandbox
    "sandbox": "sandbox",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'tiktok_research' has no attribute {name!r}")
    module = importlib.import_module(f".{module_name}", __name__)
    value = module if name == module_name else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
