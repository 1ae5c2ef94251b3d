"""minet's TikTok commercial-content search (``minet tiktok search-commercials``), unchanged.

Run by tests/test_interop_clients.py in the side environment. minet speaks HTTP through urllib3,
not `requests`, and hard-codes ``https://open.tiktokapis.com/v2``: like redirect.py does for
`requests`, only the base URL is changed, at urllib3's pool manager, and any other address is
refused. The command line itself runs (minet's own ``main``), writing its CSV to a file.
"""

from __future__ import annotations

import csv
import sys
from typing import Any

import urllib3
from redirect import BASE, REAL, params, report

_urlopen = urllib3.PoolManager.urlopen


def _redirected_urlopen(
    self: urllib3.PoolManager, method: str, url: str, *args: Any, **kw: Any
) -> Any:
    if url.startswith(REAL):
        url = BASE + url[len(REAL) :]
    elif not url.startswith(BASE):
        raise RuntimeError(f"interop tests may only reach the sandbox, not {url}")
    return _urlopen(self, method, url, *args, **kw)


urllib3.PoolManager.urlopen = _redirected_urlopen  # type: ignore[method-assign]

p = params()
out = p["output"]
argv = ["minet", "tiktok", "search-commercials", "--country", p["country"],
        "--min-date", p["min_date"], "--max-date", p["max_date"],
        "--key", "sandbox", "--secret", "sandbox", "--silent", "-o", out]  # fmt: skip
if p.get("total"):
    argv += ["--total", str(p["total"])]
sys.argv = argv
code: Any = 0
try:
    from minet.cli.__main__ import main

    main()
except SystemExit as e:  # minet's command line ends with sys.exit
    code = e.code
with open(out, newline="", encoding="utf-8") as f:
    rows = list(csv.DictReader(f))
report({"exit": code, "rows": rows})
