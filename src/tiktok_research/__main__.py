"""``python -m tiktok_research``: the ``tiktok-research`` command, when it is not on PATH."""

from .cli import main

if __name__ == "__main__":
    main()
