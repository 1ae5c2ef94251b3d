"""A griffe extension for the API reference of the documentation site (mkdocs.yml).

The package's docstrings follow Google style with three habits that griffe reads differently
from their authors: an ``Example:`` section (griffe knows only ``Examples:``, and would render the
doctest as a paragraph of prose), Sphinx roles such as ``:class:`RetryPolicy``` (shown as text),
and ``#:`` comments above a module attribute or type alias as its documentation (``QueryLike``,
``ItemsLike``, ``Q``; griffe reads docstrings only). All three are read here as the authors meant
them, so the code stays as it is for ``help()``, editors and the doctests (tests/test_doctests.py).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

EXAMPLE = re.compile(r"^(\s*)Example:[ \t]*$", re.MULTILINE)
ROLE = re.compile(r":(?:class|mod|func|meth|attr|exc|data|obj):`~?([^`]+)`")


def _as_written(text: str) -> str:
    return ROLE.sub(r"`\1`", EXAMPLE.sub(r"\1Examples:", text))


class ReadDocstringsAsWritten(griffe.Extension):
    """``Example:`` becomes ``Examples:``; ``:role:`name``` becomes ``name`` as code; the ``#:``
    comments right above an attribute without a docstring become its docstring."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is None and obj.is_attribute and obj.lineno and obj.filepath:
            try:
                lines = obj.lines_collection[obj.filepath]  # type: ignore[index]
            except KeyError:
                lines = []
            comment: list[str] = []
            i = obj.lineno - 2
            while i >= 0 and lines[i].lstrip().startswith("#:"):
                comment.insert(0, lines[i].lstrip()[2:].strip())
                i -= 1
            if comment:
                obj.docstring = griffe.Docstring(
                    "\n".join(comment), lineno=i + 2, endlineno=obj.lineno - 1, parent=obj
                )
        if obj.docstring is not None:
            obj.docstring.value = _as_written(obj.docstring.value)
