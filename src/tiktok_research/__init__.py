"""tiktok_research: the TikTok Research API as polars DataFrames, with an offline sandbox.

The public surface is listed in ``__all__``. Submodules are imported lazily so that
``import tiktok_research`` stays fast and heavy dependencies (matplotlib, pandas) load when used;
the ``TYPE_CHECKING`` block below imports every lazy name so that type checkers and editors see
the real signatures (tests/test_public_api.py keeps it in step with ``_LAZY``).

The modules of the collection engine (``collect``, ``tables``, ``pagination``, ``merge``) are not
part of the surface: what users need of them (``FetchResult``, ``CollectionReport``, ``Page``,
``Reply``, ``merge_dumps``, ``MergeResult``...) is exported here by name. The modules users reach
as attributes (``tr.io``, ``tr.schemas``, ``tr.plan``, ``tr.errors``...) export only their public
names in their ``__all__``.
"""

from __future__ import annotations

import importlib as _importlib
from typing import TYPE_CHECKING

from ._version import __version__

if TYPE_CHECKING:
    from . import analysis as analysis
    from . import audit as audit
    from . import client as client
    from . import demo as demo
    from . import errors as errors
    from . import fetch as fetch
    from . import ids as ids
    from . import io as io
    from . import maintain as maintain
    from . import plan as plan
    from . import plots as plots
    from . import query as query
    from . import sample as sample
    from . import sandbox as sandbox
    from . import schemas as schemas
    from . import select as select
    from . import spark as spark
    from ._adlib_analysis import summarize_ads as summarize_ads
    from ._adlib_plan import plan_ad_details as plan_ad_details
    from ._adlib_plan import plan_ad_report as plan_ad_report
    from ._adlib_plan import plan_ads as plan_ads
    from ._adlib_plan import plan_advertisers as plan_advertisers
    from ._adlib_plan import plan_commercial_content as plan_commercial_content
    from ._adlib_tables import join_ads_advertisers as join_ads_advertisers
    from ._adlib_tables import link_commercial_content as link_commercial_content
    from ._checks import ItemsLike as ItemsLike
    from ._endpoints import Endpoint as Endpoint
    from ._quality import QualityReport as QualityReport
    from ._quality import quality as quality
    from ._retry import RetryBudget as RetryBudget
    from ._retry import RetryPolicy as RetryPolicy
    from ._windows import split_windows as split_windows
    from .analysis import engagement as engagement
    from .analysis import summarize as summarize
    from .audit import Audit as Audit
    from .audit import audit_ids as audit_ids
    from .client import Client as Client
    from .client import QuotaStatus as QuotaStatus
    from .client import use as use
    from .collect import CollectionReport as CollectionReport
    from .collect import FetchResult as FetchResult
    from .errors import AdLibraryWarning as AdLibraryWarning
    from .errors import ArchiveError as ArchiveError
    from .errors import AuthenticationError as AuthenticationError
    from .errors import BudgetExhaustedError as BudgetExhaustedError
    from .errors import CollectionLockedError as CollectionLockedError
    from .errors import DataWarning as DataWarning
    from .errors import EraWarning as EraWarning
    from .errors import IncompleteCollectionWarning as IncompleteCollectionWarning
    from .errors import InvalidRequestError as InvalidRequestError
    from .errors import InvalidTypeError as InvalidTypeError
    from .errors import MissingDependencyError as MissingDependencyError
    from .errors import MissingFileError as MissingFileError
    from .errors import NotYetIndexedWarning as NotYetIndexedWarning
    from .errors import OutputExistsError as OutputExistsError
    from .errors import QuotaExhaustedError as QuotaExhaustedError
    from .errors import QuotaWarning as QuotaWarning
    from .errors import RateLimitedError as RateLimitedError
    from .errors import ScopeNotAuthorizedError as ScopeNotAuthorizedError
    from .errors import ServerError as ServerError
    from .errors import TikTokResearchError as TikTokResearchError
    from .errors import TikTokResearchWarning as TikTokResearchWarning
    from .errors import TransientRequestError as TransientRequestError
    from .errors import UnavailableError as UnavailableError
    from .errors import UnknownColumnWarning as UnknownColumnWarning
    from .fetch import check_compliance as check_compliance
    from .fetch import collect_videos as collect_videos
    from .fetch import fetch_ad_details as fetch_ad_details
    from .fetch import fetch_ad_report as fetch_ad_report
    from .fetch import fetch_ads as fetch_ads
    from .fetch import fetch_advertisers as fetch_advertisers
    from .fetch import fetch_comments as fetch_comments
    from .fetch import fetch_commercial_content as fetch_commercial_content
    from .fetch import fetch_followers as fetch_followers
    from .fetch import fetch_following as fetch_following
    from .fetch import fetch_liked_videos as fetch_liked_videos
    from .fetch import fetch_pinned_videos as fetch_pinned_videos
    from .fetch import fetch_playlists as fetch_playlists
    from .fetch import fetch_products as fetch_products
    from .fetch import fetch_reposted_videos as fetch_reposted_videos
    from .fetch import fetch_reviews as fetch_reviews
    from .fetch import fetch_shops as fetch_shops
    from .fetch import fetch_user_info as fetch_user_info
    from .fetch import fetch_videos as fetch_videos
    from .fetch import fetch_videos_by_id as fetch_videos_by_id
    from .ids import DecodedId as DecodedId
    from .ids import decode_id as decode_id
    from .ids import decode_ids as decode_ids
    from .io import read_csv as read_csv
    from .io import read_table as read_table
    from .io import to_pandas as to_pandas
    from .io import write_csv as write_csv
    from .io import write_dataset as write_dataset
    from .io import write_parquet as write_parquet
    from .maintain import dehydrate as dehydrate
    from .maintain import refresh_videos as refresh_videos
    from .maintain import update_videos as update_videos
    from .merge import FileReport as FileReport
    from .merge import MergeResult as MergeResult
    from .merge import merge_dumps as merge_dumps
    from .pagination import Page as Page
    from .pagination import Reply as Reply
    from .plan import Plan as Plan
    from .plan import plan_items as plan_items
    from .plan import plan_videos as plan_videos
    from .query import Criteria as Criteria
    from .query import Q as Q
    from .query import Query as Query
    from .query import QueryLike as QueryLike
    from .query import as_query as as_query
    from .sample import Sample as Sample
    from .sample import sample_videos as sample_videos
    from .select import select_usernames as select_usernames
    from .select import select_video_ids as select_video_ids

# name -> submodule that defines it (a name equal to its module is the module itself).
_LAZY: dict[str, str] = {
    # client layer
    "Client": "client",
    "QuotaStatus": "client",
    "Q": "query",
    "Criteria": "query",
    "Query": "query",
    "QueryLike": "query",
    "as_query": "query",
    "ItemsLike": "_checks",
    "Page": "pagination",
    "Reply": "pagination",
    "RetryBudget": "_retry",
    "Endpoint": "_endpoints",
    "use": "client",
    "RetryPolicy": "_retry",
    "split_windows": "_windows",
    # the error tree and the warnings: one home, errors.py
    "TikTokResearchError": "errors",
    "InvalidRequestError": "errors",
    "InvalidTypeError": "errors",
    "MissingFileError": "errors",
    "OutputExistsError": "errors",
    "AuthenticationError": "errors",
    "ScopeNotAuthorizedError": "errors",
    "RateLimitedError": "errors",
    "QuotaExhaustedError": "errors",
    "ServerError": "errors",
    "UnavailableError": "errors",
    "TransientRequestError": "errors",
    "BudgetExhaustedError": "errors",
    "ArchiveError": "errors",
    "CollectionLockedError": "errors",
    "TikTokResearchWarning": "errors",
    "MissingDependencyError": "errors",
    "NotYetIndexedWarning": "errors",
    "QuotaWarning": "errors",
    "IncompleteCollectionWarning": "errors",
    "DataWarning": "errors",
    "UnknownColumnWarning": "errors",
    "EraWarning": "errors",
    "AdLibraryWarning": "errors",
    # tables layer
    "merge_dumps": "merge",
    "MergeResult": "merge",
    "FileReport": "merge",
    "select_video_ids": "select",
    "select_usernames": "select",
    "write_parquet": "io",
    "write_dataset": "io",
    "write_csv": "io",
    "read_csv": "io",
    "read_table": "io",
    "to_pandas": "io",
    # planning (validation, tasks, cost) and the collection layer
    "Plan": "plan",
    "plan_videos": "plan",
    "plan_items": "plan",
    "FetchResult": "collect",
    "CollectionReport": "collect",
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
    "fetch_videos_by_id": "fetch",
    "check_compliance": "fetch",
    # the Commercial Content API (TikTok's ad library, api-notes §12)
    "fetch_ads": "fetch",
    "fetch_ad_details": "fetch",
    "fetch_ad_report": "fetch",
    "fetch_advertisers": "fetch",
    "fetch_commercial_content": "fetch",
    "plan_ads": "_adlib_plan",
    "plan_ad_details": "_adlib_plan",
    "plan_ad_report": "_adlib_plan",
    "plan_advertisers": "_adlib_plan",
    "plan_commercial_content": "_adlib_plan",
    "join_ads_advertisers": "_adlib_tables",
    "link_commercial_content": "_adlib_tables",
    "summarize_ads": "_adlib_analysis",
    "refresh_videos": "maintain",
    "update_videos": "maintain",
    "dehydrate": "maintain",
    "quality": "_quality",
    "QualityReport": "_quality",
    # methods: availability audits, ids decoded, stratified samples
    "audit_ids": "audit",
    "Audit": "audit",
    "decode_id": "ids",
    "decode_ids": "ids",
    "DecodedId": "ids",
    "sample_videos": "sample",
    "Sample": "sample",
    # analysis layer
    "engagement": "analysis",
    "summarize": "analysis",
    # submodules reached as attributes (tr.io.read_dataset, tr.plan.plan_video_ids, ...); the
    # engine's modules (collect, tables, pagination, merge) are not among them
    "analysis": "analysis",
    "audit": "audit",
    "client": "client",
    "demo": "demo",
    "errors": "errors",
    "fetch": "fetch",
    "ids": "ids",
    "io": "io",
    "maintain": "maintain",
    "plan": "plan",
    "plots": "plots",
    "query": "query",
    "sample": "sample",
    "sandbox": "sandbox",
    "schemas": "schemas",
    "select": "select",
    "spark": "spark",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> object:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'tiktok_research' has no attribute {name!r}")
    module = _importlib.import_module(f".{module_name}", __name__)
    value = module if name == module_name else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
