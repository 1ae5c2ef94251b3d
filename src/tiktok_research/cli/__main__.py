"""``python -m tiktok_research.cli``: the ``tiktok-research`` command."""

from . import main

if __name__ == "__main__":
    main()
