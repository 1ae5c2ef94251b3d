"""A new user's session of the guide spends fewer than 150 requests (issue 18, "Done means").

The Python blocks of the user guide run in order, page after page (as in tests/test_guide.py),
every client pointed at a served sandbox (``tiktok-research sandbox serve``) instead of the
in-process one, and the requests that reached the server are read from its ``/_sandbox/stats``.
A sandbox the guide builds itself (``Sandbox(SandboxConfig.realistic())``, the keeping-current
page's ``sb``) is served as it is, in this process, and its requests are counted at its own
server: the realistic one fails windows that the default one answers.
Run it alone to see the figure, per endpoint::

    .venv/bin/python -m pytest -q -s tests/test_guide_budget.py
"""

from __future__ import annotations

import shutil
import warnings
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from _guide import ROOT
from _servers import sandbox_server
from test_guide import BLOCKS

BUDGET = 150  # requests, tokens excepted: the quota counts data requests


@pytest.mark.slow
def test_the_guide_session_spends_fewer_than_150_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import tiktok_research as tr
    from tiktok_research import client as client_module
    from tiktok_research.sandbox import run_server

    # the default corpus, as Client.sandbox() builds it
    with sandbox_server() as server, ExitStack() as own:
        url = server.url
        urls = [url]
        own_urls: dict[int, str] = {}  # id() of a sandbox the guide built -> its server

        def advance(seconds: float) -> None:  # a wait moves the served sandbox's clock on
            httpx.post(url + "/_sandbox/advance", json={"seconds": seconds}, timeout=30)

        def served(sandbox: object = None, **kw: Any) -> tr.Client:
            base = url
            if isinstance(sandbox, tr.sandbox.Sandbox):  # one the guide built: served as it is
                if id(sandbox) not in own_urls:  # once: its sleep= moves its clock
                    own_urls[id(sandbox)] = own.enter_context(run_server(sandbox))[0]
                    urls.append(own_urls[id(sandbox)])
                base = own_urls[id(sandbox)]
            elif "sleep" in kw:  # the guide's sleep moves its in-process sandbox's clock
                kw["sleep"] = advance
            kw.setdefault("qps", None)
            kw.setdefault("client_key", "sandbox")
            kw.setdefault("client_secret", "sandbox")
            return tr.Client(base_url=base, **kw)

        # every client the session makes is closed at its end: left to the garbage collector,
        # their open connections surfaced as a ResourceWarning in whichever test ran next
        made: list[tr.Client] = []
        init = tr.Client.__init__

        def recorded(self: tr.Client, *args: Any, **kw: Any) -> None:
            init(self, *args, **kw)
            made.append(self)

        shutil.copytree(ROOT / "data" / "sample" / "dumps", tmp_path / "data" / "sample" / "dumps")
        monkeypatch.setattr(tr.Client, "__init__", recorded)
        monkeypatch.chdir(tmp_path)
        monkeypatch.setattr(tr.Client, "sandbox", staticmethod(served))
        monkeypatch.setattr(client_module, "_default", None)
        monkeypatch.setenv("TIKTOK_RESEARCH_BASE_URL", url)
        monkeypatch.setenv("TIKTOK_CLIENT_KEY", "sandbox")
        monkeypatch.setenv("TIKTOK_CLIENT_SECRET", "sandbox")
        namespace: dict[str, object] = {"__name__": "__guide__"}
        try:
            for where, line, code, why in BLOCKS:
                if why is not None:
                    continue
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    exec(compile(code, f"{where}:{line}", "exec"), namespace)
        finally:
            import matplotlib.pyplot as plt

            plt.close("all")
            for client in made:
                client.close()
        counts: dict[str, int] = {}
        for base in urls:
            for name, n in (
                httpx.get(base + "/_sandbox/stats", timeout=30).json()["requests"].items()
            ):
                counts[name] = counts.get(name, 0) + n
    requests = {k: v for k, v in sorted(counts.items()) if k != "oauth_token"}
    spent = sum(requests.values())
    print(f"\nguide session: {spent} requests reached the {len(urls)} served sandbox(es) "
          f"(+{counts.get('oauth_token', 0)} tokens): {requests}")  # fmt: skip
    assert spent < BUDGET, requests
