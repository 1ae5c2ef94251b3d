import socket

import pytest


def test_tests_cannot_reach_the_internet() -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(RuntimeError, match=r"only 127\.0\.0\.1"):
            s.connect(("93.184.216.34", 80))
    finally:
        s.close()


def test_package_imports_lazily() -> None:
    import tiktok_research

    assert tiktok_research.__version__
    assert "fetch_videos" in tiktok_research.__all__
    with pytest.raises(AttributeError):
        _ = tiktok_research.no_such_name


def test_public_submodules_are_attributes() -> None:
    import subprocess
    import sys

    code = (
        "import tiktok_research as tr; "
        "tr.io.read_dataset; tr.select.write_lines; tr.analysis.summarize"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
