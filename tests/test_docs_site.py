"""The documentation site (mkdocs.yml, docs/) builds strictly and works in a browser.

The site is built once per test run (``built_site``: the first worker of the run builds it under
a file lock, the others read the result), with ``mkdocs build --strict``: a broken link, a
missing anchor, a page left out of the menu or a docstring griffe cannot read fails the build.
Headless Chromium (Debian's ``chromium``, driven by playwright; its own browsers are never
downloaded) then opens the landing page and a page of the API reference, served on 127.0.0.1:
they render with no console error and load nothing from another host, and the search finds
``fetch_videos``. Screenshots are kept in ``test-artifacts/docs-site/`` (or the folder named by
``TIKTOK_RESEARCH_ARTIFACTS``); the test prints where. The tests skip where Chromium or the
``[docs]`` tools are missing (and fail on CI, where they must be there).
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from _guide import GUIDE, MKDOCS, ROOT
from _notebooks import write_executed

EXECUTED = "TIKTOK_RESEARCH_DOCS_EXECUTED"  # scripts/mkdocs_hooks.py: notebooks already run

pytestmark = pytest.mark.slow


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} (CI installs it: scripts/bootstrap)")
    pytest.skip(what)


@dataclass(frozen=True)
class Build:
    returncode: int
    seconds: float
    output: str
    site: Path
    nbmake: bool  # the notebooks' pages show nbmake's runs of this test run (else the build's)


def _build(site: Path, executed: Path | None) -> tuple[int, float, str]:
    """``mkdocs build --strict`` into ``site``; the notebooks' pages from the executed copies in
    ``executed`` (``scripts/mkdocs_hooks.py``) or, when None, executed by the build."""
    env = {
        **os.environ,
        "NO_MKDOCS_2_WARNING": "1",  # Material's banner about MkDocs 2.0
        # credentials in the environment of whoever builds the site: a notebook would use them
        # (it talks to the real API when TIKTOK_CLIENT_KEY is set) were they not taken out by the
        # build's hooks; here they lead to a closed port, so the build would fail
        "TIKTOK_CLIENT_KEY": "a-real-key-would-spend-real-quota",
        "TIKTOK_CLIENT_SECRET": "a-real-secret",
        "TIKTOK_RESEARCH_BASE_URL": "http://127.0.0.1:9",
    }
    env.pop("TIKTOK_RESEARCH_SANDBOX", None)
    env.pop(EXECUTED, None)
    if executed is not None:
        env[EXECUTED] = str(executed)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=900, check=False,
    )  # fmt: skip
    return done.returncode, time.monotonic() - started, done.stdout + done.stderr


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """The site, built once per test run whatever the number of xdist workers."""
    try:
        import mkdocs  # noqa: F401
        import mkdocstrings  # noqa: F401
    except ImportError:
        _missing("the [docs] extra is not installed (pip install -e '.[docs]')")
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's folder, shared by its workers (one per run)
    folder = base / "docs-site"
    with FileLock(str(base / "docs-site.lock")):
        result = folder / "result.json"
        if not result.exists():
            folder.mkdir(exist_ok=True)
            # the notebooks as nbmake executed them just before, on this worker, when it did
            executed = folder / "executed" if write_executed(folder / "executed") else None
            code, seconds, output = _build(folder / "site", executed)
            done = {"returncode": code, "seconds": seconds, "output": output,
                    "nbmake": executed is not None}  # fmt: skip
            result.write_text(json.dumps(done))
        said = json.loads(result.read_text())
    return Build(said["returncode"], said["seconds"], said["output"], folder / "site",
                 said["nbmake"])  # fmt: skip


def test_the_end_of_life_material_announces_is_noted_for_maintainers() -> None:
    """Material for MkDocs prints on every build the date its support ends (silenced here by
    NO_MKDOCS_2_WARNING): the development page names that date and what to move to."""
    import importlib.util

    spec = importlib.util.find_spec("material")
    if spec is None or spec.origin is None:
        _missing("the [docs] extra is not installed (pip install -e '.[docs]')")
        return
    banner = Path(spec.origin).parent / "templates" / "__init__.py"
    said = re.search(
        r"end of life on (\w+) (\d+), (\d{4})", banner.read_text("utf-8") if banner.exists() else ""
    )
    if said is None:
        pytest.skip("this version of Material announces no end of life")
    from datetime import datetime

    when = datetime.strptime(" ".join(said.groups()), "%B %d %Y").date()
    text = (ROOT / "docs" / "development.md").read_text("utf-8")
    assert when.isoformat() in text, (
        f"docs/development.md does not note Material's end of life {when}"
    )
    assert "Zensical" in text


def _artifacts() -> Path:
    where = Path(os.environ.get("TIKTOK_RESEARCH_ARTIFACTS", ROOT / "test-artifacts"))
    folder = where / "docs-site"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_the_site_builds_strictly_with_every_page(built_site: Build) -> None:
    ran = "by nbmake in this run" if built_site.nbmake else "by the build"
    print(f"\ndocumentation site: mkdocs build --strict took {built_site.seconds:.1f} s "
          f"(notebooks executed {ran})")  # fmt: skip
    assert built_site.returncode == 0, built_site.output[-5000:]
    site = built_site.site
    assert "tiktok-research" in (site / "index.html").read_text("utf-8")
    for page in GUIDE.glob("*.md"):
        assert (site / "guide" / page.stem / "index.html").is_file(), page.name
    # the notebooks, executed on the sandbox (by the build, or by nbmake just before: see
    # tests/_notebooks.py): every code cell has run, and the pages show what it printed (they
    # are committed without outputs)
    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        cells = [c for c in json.loads(notebook.read_text("utf-8"))["cells"]]
        code = [c for c in cells if c["cell_type"] == "code" and "".join(c["source"]).strip()]
        html = (site / "notebooks" / notebook.stem / "index.html").read_text("utf-8")
        ran = re.findall(r"jp-InputPrompt[^>]*>In\s*\[(\d+)\]", html)
        assert len(ran) == len(code), (notebook.name, len(ran), len(code))
        assert html.count('class="jp-OutputArea-child') >= len(code) // 2, notebook.name
        assert "a-real-secret" not in html and "a-real-key" not in html
    quickstart = (site / "notebooks" / "01_quickstart" / "index.html").read_text("utf-8")
    assert "shape: (" in quickstart  # a polars table, as printed
    notes = (site / "api-notes" / "index.html").read_text("utf-8")
    assert "Batch compliance" in notes


def test_the_reference_documents_every_public_name(built_site: Build) -> None:
    """Every name of ``tiktok_research.__all__`` has its entry in the API reference, with its
    docstring: the reference is generated from the code, not written beside it."""
    import tiktok_research as tr

    assert built_site.returncode == 0, built_site.output[-5000:]
    ids: set[str] = set()
    for html in (built_site.site / "reference").rglob("*.html"):
        ids |= set(re.findall(r'id="(tiktok_research\.[\w.]+)"', html.read_text("utf-8")))
    documented = {i.rsplit(".", 1)[1] for i in ids} | {i.split(".")[1] for i in ids}
    missing = sorted(set(tr.__all__) - documented - {"__version__"})
    assert not missing, f"not in the API reference: {missing}"
    fetch = (built_site.site / "reference" / "fetch" / "index.html").read_text("utf-8")
    # fetch_videos' docstring, not only its name
    assert 'id="tiktok_research.fetch.fetch_videos"' in fetch
    assert "max_total" in fetch and "Returns" in fetch


def test_the_site_loads_nothing_from_another_host(built_site: Build) -> None:
    """No page or style sheet of the site loads a script, style, font, image or frame from the
    network: it works offline, and a reader's visit is seen by no one."""
    assert built_site.returncode == 0, built_site.output[-5000:]
    remote = re.compile(r"""^(?:https?:)?//""", re.I)
    loads = re.compile(
        r"""<(?:script|img|iframe|source|audio|video)\b[^>]*\bsrc=["']([^"']+)"""
        r"""|<link\b(?=[^>]*\brel=["'](?:stylesheet|preload|modulepreload|icon|preconnect|"""
        r"""prefetch|dns-prefetch)["'])[^>]*\bhref=["']([^"']+)""",
        re.I,
    )
    css_loads = re.compile(r"""(?:@import\s+|url\()\s*["']?((?:https?:)?//[^"')\s]+)""", re.I)
    bad: list[str] = []
    pages = 0
    for path in built_site.site.rglob("*"):
        if path.suffix == ".html":
            pages += 1
            for m in loads.finditer(path.read_text("utf-8")):
                url = m.group(1) or m.group(2)
                if remote.match(url):
                    bad.append(f"{path.relative_to(built_site.site)}: {url}")
        elif path.suffix == ".css":
            for url in css_loads.findall(path.read_text("utf-8", errors="replace")):
                bad.append(f"{path.relative_to(built_site.site)}: {url}")
    assert pages >= 30
    assert not bad, "\n".join(bad[:20])


def _hooks() -> Any:
    """``scripts/mkdocs_hooks.py``, imported as the build imports it."""
    pytest.importorskip("mkdocs", reason="the [docs] extra is not installed")
    spec = importlib.util.spec_from_file_location(
        "mkdocs_hooks", ROOT / "scripts" / "mkdocs_hooks.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_build_takes_real_credentials_out_before_a_notebook_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whoever builds the site with credentials in the environment spends nothing: the build's
    first hook removes them, and the notebooks (children of the build) run on the sandbox."""
    hooks = _hooks()
    for name in hooks.REAL_SERVICE:
        monkeypatch.setenv(name, "a-real-secret")
    monkeypatch.delenv("TIKTOK_RESEARCH_SANDBOX", raising=False)
    monkeypatch.delenv(EXECUTED, raising=False)
    config = object()
    assert hooks.on_config(config) is config
    assert not any(name in os.environ for name in hooks.REAL_SERVICE)
    assert {"TIKTOK_CLIENT_KEY", "TIKTOK_CLIENT_SECRET"} <= set(hooks.REAL_SERVICE)
    assert os.environ["TIKTOK_RESEARCH_SANDBOX"] == "1"
    _HOOK_RAN.append(os.getpid())


_HOOK_RAN: list[int] = []  # the test above ran in this process (the next one checks after it)


@pytest.fixture(scope="module")
def environment_between_tests() -> dict[str, str]:
    """``os.environ`` as it is between two tests: what module-scoped fixtures (which start
    before conftest's isolation) and the command lines they start inherit."""
    return dict(os.environ)


def test_what_the_hook_sets_does_not_reach_the_next_test(
    environment_between_tests: dict[str, str],
) -> None:
    """The hook sets ``TIKTOK_RESEARCH_SANDBOX=1`` in the process that builds (the test above
    runs it in this one). Conftest's isolation restores the variable after each test. Before, it
    stayed set for every later test of the worker: in CI of 2fbb8ed a two-collector scenario's
    command lines ran on the in-process sandbox instead of through their proxy, and a compliance
    test's command line did too (both failed)."""
    if os.getpid() not in _HOOK_RAN:
        pytest.skip("runs after test_the_build_takes_real_credentials_out_before_a_notebook_runs")
    assert "TIKTOK_RESEARCH_SANDBOX" not in environment_between_tests


def test_executed_copies_that_are_not_the_notebooks_fail_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder of executed notebooks is used only when it holds every notebook, each with the
    code of ``notebooks/`` (a stale copy would show outputs of code that is no longer there)."""
    from mkdocs.exceptions import PluginError

    hooks = _hooks()
    monkeypatch.setenv(EXECUTED, str(tmp_path))
    (tmp_path / "notebooks").mkdir()
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    for notebook in notebooks:
        (tmp_path / "notebooks" / notebook.name).write_bytes(notebook.read_bytes())
    assert hooks._executed() == tmp_path
    edited = json.loads(notebooks[0].read_text("utf-8"))
    code = next(c for c in edited["cells"] if c["cell_type"] == "code")
    code["source"] = ["print('an older version')\n"]
    (tmp_path / "notebooks" / notebooks[0].name).write_text(json.dumps(edited), "utf-8")
    with pytest.raises(PluginError, match=notebooks[0].name):
        hooks._executed()
    (tmp_path / "notebooks" / notebooks[0].name).unlink()
    with pytest.raises(PluginError, match="missing"):
        hooks._executed()


def test_a_broken_link_or_anchor_fails_the_build(tmp_path: Path) -> None:
    """The site's own strictness settings (mkdocs.yml: strict, validation) refuse a link to a
    page that does not exist and a link to a heading that does not exist."""
    pytest.importorskip("mkdocs", reason="the [docs] extra is not installed")
    import yaml

    config = yaml.safe_load(MKDOCS.read_text("utf-8"))
    assert config["strict"] is True
    for case, link in (("page", "missing.md"), ("anchor", "other.md#no-such-heading")):
        docs = tmp_path / case / "docs"
        docs.mkdir(parents=True)
        (docs / "index.md").write_text(f"# Home\n\nSee [the other page]({link}).\n")
        (docs / "other.md").write_text("# Other\n\n## A heading\n")
        small = {
            "site_name": "check",
            "docs_dir": "docs",
            "strict": config["strict"],
            "validation": config["validation"],
            "markdown_extensions": ["toc"],
            "nav": ["index.md", "other.md"],
        }
        (tmp_path / case / "mkdocs.yml").write_text(yaml.safe_dump(small))
        done = subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=tmp_path / case,
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode != 0, f"a broken {case} link was accepted"
        assert link.split("#")[-1] in done.stdout + done.stderr, done.stderr


# ------------------------------------------------------------------------------- the browser


def _chromium() -> str | None:
    for candidate in ("/usr/lib/chromium/chromium", "chromium", "chromium-browser"):
        found = candidate if Path(candidate).is_file() else shutil.which(candidate)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def served(built_site: Build) -> Iterator[str]:
    """The built site over HTTP on 127.0.0.1 (as a reader's browser sees a published site)."""
    assert built_site.returncode == 0, built_site.output[-5000:]

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(built_site.site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_site_in_headless_chromium(served: str) -> None:
    chromium = _chromium()
    if chromium is None:
        _missing("Chromium is not installed (Debian package chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[dev]')")
    artifacts = _artifacts()
    print(f"\ndocumentation site: screenshots in {artifacts}")
    problems: list[str] = []
    foreign: list[str] = []

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(60_000)

            def refuse_other_hosts(route: object) -> None:
                url = route.request.url  # type: ignore[attr-defined]
                if url.startswith(served + "/") or url == served:
                    route.continue_()  # type: ignore[attr-defined]
                else:  # never leaves the machine; the test fails below
                    foreign.append(url)
                    route.abort()  # type: ignore[attr-defined]

            page.route("**/*", refuse_other_hosts)
            page.on("console", lambda m: m.type == "error" and problems.append(m.text))
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on(
                "response",
                lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"),
            )

            page.goto(served + "/")
            page.wait_for_load_state("networkidle")
            assert page.locator("h1").first.inner_text().strip(" ¶\n") == "tiktok-research"
            assert page.get_by_role("link", name="A first collection").first.is_visible()
            page.screenshot(path=str(artifacts / "landing.png"))

            page.goto(served + "/reference/fetch/")
            page.wait_for_load_state("networkidle")
            entry = page.locator('[id="tiktok_research.fetch.fetch_videos"]')
            entry.scroll_into_view_if_needed()
            assert entry.is_visible()
            page.screenshot(path=str(artifacts / "reference-fetch.png"))

            page.goto(served + "/guide/quota/")
            page.wait_for_load_state("networkidle")
            box = page.locator("input.md-search__input")
            hit = page.locator('.md-search-result a[href$="#tiktok_research.fetch.fetch_videos"]')
            for attempt in range(3):  # typed as a reader types (the index loads in a worker)
                box.click()
                box.fill("")
                box.press_sequentially("fetch_videos", delay=30)
                try:
                    hit.first.wait_for(state="attached", timeout=20_000)
                    break
                except Exception:
                    if attempt == 2:
                        raise
            page.screenshot(path=str(artifacts / "search-fetch_videos.png"))
            hit.first.evaluate("a => a.click()")  # it may sit under "more on this page"
            page.wait_for_url("**/reference/fetch/**")
            assert page.locator('[id="tiktok_research.fetch.fetch_videos"]').is_visible()
        finally:
            browser.close()
    assert not foreign, f"the site asked other hosts: {foreign}"
    assert not problems, problems
    for name in ("landing.png", "reference-fetch.png", "search-fetch_videos.png"):
        assert (artifacts / name).stat().st_size > 10_000, name
