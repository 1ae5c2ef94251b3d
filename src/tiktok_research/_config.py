"""The credentials file: where it lives, how it is read, and how it is written.

``tiktok-research configure`` writes it (:func:`write_credentials`); the client reads it
(:func:`read_credentials`, called only by :func:`tiktok_research._auth.resolve_credentials`, which
decides the order of the sources). It is a small TOML file::

    # tiktok-research credentials (tiktok-research configure); keep this file private
    client_key = "..."
    client_secret = "..."

Its place is ``$TIKTOK_RESEARCH_CONFIG`` when set, else ``config.toml`` in the platform's user
config folder (``platformdirs.user_config_dir``): ``~/.config/tiktok-research/`` on Linux
(``$XDG_CONFIG_HOME`` honoured), ``~/Library/Application Support/tiktok-research/`` on macOS,
``%LOCALAPPDATA%\\tiktok-research\\`` on Windows.

The file is written readable by its owner only (mode 0600, in a folder of mode 0700), through a
temporary file renamed over the old one, so a crash never leaves half a secret. Nothing here puts
a value of the file into a message, a log line or an exception: errors name the file and the key.
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
import tomllib
from pathlib import Path

import platformdirs

from ._checks import plural
from .errors import InvalidRequestError

__all__ = [
    "ENV_CONFIG",
    "KEYS",
    "check_value",
    "config_path",
    "read_credentials",
    "write_credentials",
]

log = logging.getLogger("tiktok_research")

ENV_CONFIG = "TIKTOK_RESEARCH_CONFIG"
KEYS = ("client_key", "client_secret")
_HEADER = (
    "# tiktok-research credentials, written by `tiktok-research configure`.\n"
    "# Keep this file private (mode 0600); never copy it into an archive or a repository.\n"
)


def config_path() -> Path:
    """The default credentials file: ``$TIKTOK_RESEARCH_CONFIG``, else ``config.toml`` in the
    platform's user config folder.

    Example:
        >>> config_path().suffix  # config.toml, or the file TIKTOK_RESEARCH_CONFIG names
        '.toml'
    """
    env = os.environ.get(ENV_CONFIG, "").strip()
    if env:
        return Path(env).expanduser()
    folder = platformdirs.user_config_dir("tiktok-research", appauthor=False)
    return Path(folder) / "config.toml"


def check_value(name: str, value: object) -> str:
    """``value`` as a credential: non-empty text without spaces or control characters.

    The message names ``name``, never the value.

    Raises:
        InvalidRequestError: when the value cannot be a client key or secret.
    """
    if not isinstance(value, str):
        raise InvalidRequestError(f"{name} must be text, got a {type(value).__name__}")
    if not value:
        raise InvalidRequestError(f"{name} is empty")
    if any(c.isspace() or not c.isprintable() for c in value):
        raise InvalidRequestError(
            f"{name} holds a space or a control character; copy it again from the developer "
            "portal (only the value, without quotes or a line break)"
        )
    return value


def read_credentials(path: Path) -> dict[str, str]:
    """The client key and secret a credentials file holds (one, both or none of them).

    A file readable by other users is read, with a warning naming the ``chmod`` that fixes it.

    Raises:
        InvalidRequestError: the file is missing, cannot be read, is not TOML, holds a value
            that is not a credential, or holds another entry (a section, a misspelt name: its
            credentials would be passed over); the message names the file and the key, never a
            value.
    """
    try:
        with path.open("rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            data = tomllib.load(f)
    except FileNotFoundError:
        raise InvalidRequestError(
            f"the config file {path} does not exist; write it with `tiktok-research configure`"
        ) from None
    except IsADirectoryError:
        raise InvalidRequestError(f"the config file {path} is a folder, not a file") from None
    except OSError as e:
        raise InvalidRequestError(
            f"cannot read the config file {path}: {e.strerror or type(e).__name__}"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        # tomllib's message gives the line and column, never the text of the file
        where = str(e) if isinstance(e, tomllib.TOMLDecodeError) else "not UTF-8 text"
        raise InvalidRequestError(
            f"the config file {path} is not valid TOML ({where}); write it again with "
            "`tiktok-research configure`"
        ) from None
    if os.name == "posix" and stat.S_IMODE(mode) & 0o077:
        log.warning(
            "the config file %s can be read by other users of this machine; run: chmod 600 %s",
            path,
            path,
        )
    unknown = [name for name in data if name not in KEYS]
    if unknown:
        # a [section], or a misspelt name: the file's credentials would be passed over without a
        # word, and another source's used instead. The names are not shown (a value pasted as a
        # name would be a secret in a message).
        raise InvalidRequestError(
            f"the config file {path} holds {len(unknown)} "
            f"{plural(len(unknown), 'entry', 'entries')} other than client_key and client_secret "
            f'(a [section] or a misspelt name?); it may hold only client_key = "..." and '
            'client_secret = "...", at the top: write it again with `tiktok-research configure`'
        )
    found: dict[str, str] = {}
    for key in KEYS:
        if key in data:
            try:
                found[key] = check_value(key, data[key])
            except InvalidRequestError as e:
                raise InvalidRequestError(f"the config file {path}: {e.message}") from None
    return found


def _toml_string(value: str) -> str:
    """A TOML basic string (``check_value`` has refused control characters already)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_credentials(client_key: str, client_secret: str, path: str | Path | None = None) -> Path:
    """Write a credentials file readable by its owner only, replacing the old one in one step.

    Args:
        client_key: The client key of the research project.
        client_secret: Its client secret.
        path: The file; default :func:`config_path`.

    Returns:
        The path written.

    Raises:
        InvalidRequestError: a value that cannot be a credential, or ``path`` is a folder
            (nothing is written).
        OSError: the file cannot be written (the old one, if any, is left as it was).
    """
    key = check_value("client_key", client_key)
    secret = check_value("client_secret", client_secret)
    target = Path(path).expanduser() if path is not None else config_path()
    if target.is_dir():
        raise InvalidRequestError(f"the config file {target} is a folder, not a file")
    folder = target.parent
    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True)
    text = f"{_HEADER}client_key = {_toml_string(key)}\nclient_secret = {_toml_string(secret)}\n"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if os.name == "posix":
        try:
            dir_fd = os.open(folder, os.O_RDONLY)
        except OSError:  # pragma: no cover - a folder we just wrote in
            return target
        try:
            os.fsync(dir_fd)
        except OSError:  # pragma: no cover - some file systems refuse to sync a folder
            pass
        finally:
            os.close(dir_fd)
    return target
