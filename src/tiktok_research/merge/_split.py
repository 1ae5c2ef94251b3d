"""Split a stream of JSON values into one value per line, in linear time and bounded memory.

Two layouts hold many values without one per line: concatenated (often pretty-printed) objects,
as ``curl ... | jq . >> dump.json`` leaves them, and one JSON array of responses or records. Both
are read here a block at a time. The boundaries of the top-level values are found with numpy
(the quotes that are not escaped, then the brackets outside strings and their running depth),
never by decoding the values in Python. Each value is handed on as one line (a raw newline inside
a value can only be whitespace in valid JSON, so it becomes a space), with the line of the file it
starts on. Whether a value is valid JSON is left to the parser that reads the lines; this splitter
only needs quotes and brackets to balance.

Memory is bounded by the block size and by the largest single value (a value is never cut); time
is linear in the size of the file (each byte is scanned about once, a value longer than a block
is read on by doubling the buffer).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

_QUOTE, _BACKSLASH, _NEWLINE = 34, 92, 10
_SPACES = b" \t\r\n"
_FLAT = bytes.maketrans(b"\r\n", b"  ")

#: Bytes read at a time (a value larger than this is read on to its end).
BLOCK = 16 << 20

T = TypeVar("T")


@dataclass
class Values:
    """Whole top-level values of one block.

    Attributes:
        lines: The values, one per line, each line ending with a newline.
        numbers: The line of the file each value starts on.
        first: The first byte of each value (``{`` for an object, ``[`` for an array).
    """

    lines: bytes
    numbers: list[int] = field(default_factory=list)
    first: bytes = b""


def _unescaped_quotes(a: np.ndarray) -> np.ndarray:
    """Positions of the quotes in ``a`` that are not escaped by an odd run of backslashes."""
    quotes = np.flatnonzero(a == _QUOTE)
    if not quotes.size:
        return quotes
    before = quotes[quotes > 0]
    maybe = before[a[before - 1] == _BACKSLASH]
    if not maybe.size:
        return quotes
    slashes = np.flatnonzero(a == _BACKSLASH)
    new_run = np.empty(slashes.size, dtype=bool)
    new_run[0] = True
    np.not_equal(np.diff(slashes), 1, out=new_run[1:])
    run_start = np.maximum.accumulate(np.where(new_run, slashes, 0))
    run_len = maybe - run_start[np.searchsorted(slashes, maybe - 1)]
    return np.setdiff1d(quotes, maybe[run_len % 2 == 1], assume_unique=True)


def _brackets(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the brackets outside strings, and the depth after each one."""
    quotes = _unescaped_quotes(a)
    pos = np.flatnonzero((a == 123) | (a == 125) | (a == 91) | (a == 93))
    if quotes.size:
        pos = pos[(np.searchsorted(quotes, pos) & 1) == 0]
    kind = a[pos]
    step = np.where((kind == 123) | (kind == 91), 1, -1).astype(np.int64)
    return pos, np.cumsum(step)


class Splitter:
    """The top-level values of a stream, block after block (iterate to get :class:`Values`).

    Args:
        read: ``read(n)`` returns up to ``n`` more bytes of the stream, ``b""`` at its end.
        head: Bytes already read from the stream (without a byte-order mark).
        array: The stream is one JSON array and the values are its elements; otherwise values
            follow each other, separated by whitespace (or commas, as some tools write them).

    After the iteration, ``problem`` is ``(line, reason)`` when something stopped the split
    before the end (a value cut short, text that is not a JSON object or array between values),
    and ``values`` counts the values handed on.
    """

    def __init__(self, read: Callable[[int], bytes], head: bytes, *, array: bool) -> None:
        self._read = read
        self._buf = head
        self._array = array
        self._line = 1  # line of the file where the buffer starts
        self._eof = False
        self._closed = False  # the array's closing bracket was met
        self.problem: tuple[int, str] | None = None
        self.values = 0

    def _fill(self, n: int) -> bool:
        chunk = b"" if self._eof else self._read(n)
        if chunk:
            self._buf += chunk
        else:
            self._eof = True
        return bool(chunk)

    def __iter__(self) -> Iterator[Values]:
        if self._array:
            while not self._buf.strip(_SPACES) and self._fill(BLOCK):
                pass
            body = self._buf.lstrip(_SPACES)
            self._line += self._buf.count(b"\n", 0, len(self._buf) - len(body))
            self._buf = body[1:]  # past the opening bracket
        while self.problem is None and not self._closed:
            if len(self._buf) < BLOCK:
                self._fill(BLOCK - len(self._buf))
            found = self._block()
            if found is None:
                return
            if found.numbers:
                yield found

    def _block(self) -> Values | None:
        """Whole values at the start of the buffer (the rest is kept); None at the end."""
        buf = self._buf
        a = np.frombuffer(buf, dtype=np.uint8)
        pos, depth = _brackets(a)
        stop = len(buf)
        if (depth < 0).any():  # the array's closing bracket, or one without its opening
            first = int(np.flatnonzero(depth < 0)[0])
            stop, pos, depth = int(pos[first]), pos[:first], depth[:first]
            if self._array:
                self._closed = True
        opening = (a[pos] == 123) | (a[pos] == 91)
        starts = pos[(depth == 1) & opening]
        ends = pos[depth == 0]
        n = ends.size
        starts = starts[:n]
        if not n and not self._closed and stop == len(buf):
            if self._fill(max(len(buf), BLOCK)):
                return Values(b"")  # a value longer than the buffer: read on
            self._end(buf)
            return None
        tail = int(ends[-1]) + 1 if n else 0
        found = Values(b"")
        if n:
            lines = self._lines(a, starts, ends)
            if lines is None:
                return None
            newlines = np.flatnonzero(a[:tail] == _NEWLINE)
            numbers = (np.searchsorted(newlines, starts) + self._line).tolist()
            found = Values(lines, numbers, a[starts].tobytes())
            self.values += n
            self._line += int(newlines.size)
        self._buf = buf[tail:]
        if self._closed or stop < len(buf):
            self._after(stop - tail)
        return found

    def _lines(self, a: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> bytes | None:
        """The values between ``starts`` and ``ends``, one per line; None (and ``problem``) when
        the text between two values is not whitespace (and, in an array, exactly one comma).

        Vectorised: the bytes between values are gathered and checked at once, their commas
        blanked and the first one after each value made a newline (no Python work per value).
        """
        n = starts.size
        begin = np.empty_like(starts)
        begin[0] = 0
        begin[1:] = ends[:-1] + 1
        lens = starts - begin
        offsets = np.cumsum(lens) - lens
        idx = np.repeat(begin - offsets, lens) + np.arange(int(lens.sum()))
        gap = a[idx]
        comma = gap == 44
        other = ~(comma | (gap == 32) | (gap == 10) | (gap == 13) | (gap == 9))
        gap_of = np.repeat(np.arange(n), lens)
        wrong = np.bincount(gap_of[other], minlength=n) > 0
        if self._array:  # exactly one comma between elements, none before the first
            commas = np.bincount(gap_of[comma], minlength=n)
            expected = np.ones(n, dtype=commas.dtype)
            expected[0] = 1 if self.values else 0
            wrong |= commas != expected
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            stray = idx[other & (gap_of == i)]
            self._stop(int(stray[0]) if stray.size else int(starts[i]),
                       "not a JSON object or array (a stray value or character)")  # fmt: skip
            return None
        tail = int(ends[-1]) + 1
        flat = np.frombuffer(self._buf[:tail].translate(_FLAT), dtype=np.uint8).copy()
        flat[idx[comma]] = 32
        if (lens[1:] == 0).any():  # values with nothing between them (``}{``): one by one
            text = flat.tobytes()
            pairs = zip(starts.tolist(), ends.tolist(), strict=True)
            return b"\n".join(text[s : e + 1] for s, e in pairs) + b"\n"
        flat[begin[1:]] = _NEWLINE
        return flat[int(starts[0]) : tail].tobytes() + b"\n"

    def _after(self, stop: int) -> None:
        """The array closed (or a stray closing bracket) at ``stop`` in the (new) buffer."""
        buf = self._buf
        between = buf[:stop].translate(None, _SPACES)
        if between:
            self._stop(len(buf[:stop]) - len(buf[:stop].lstrip(_SPACES + b",")),
                       "not a JSON object or array (a stray value or character)")  # fmt: skip
            return
        if not self._array:
            self._stop(stop, "not valid JSON (a closing bracket without its opening one)")
            return
        rest = buf[stop + 1 :]
        while not rest.strip(_SPACES) and self._fill(BLOCK):
            rest = self._buf[stop + 1 :]
        if rest.strip(_SPACES):
            self._stop(stop + 1 + len(rest) - len(rest.lstrip(_SPACES)),
                       "text after the end of the JSON array; not read")  # fmt: skip
        self._buf = b""

    def _end(self, buf: bytes) -> None:
        """The end of the stream, with no whole value left in ``buf``."""
        body = buf.lstrip(_SPACES + b",")
        if body:
            self._stop(len(buf) - len(body), "truncated: the last value is cut short")
        elif self._array and not self._closed:
            self._stop(len(buf), "truncated: the JSON array is not closed")

    def _stop(self, at: int, why: str) -> None:
        self.problem = (self._line + self._buf.count(b"\n", 0, at), why)


def ahead(items: Iterable[T]) -> Generator[T, None, None]:
    """The items of ``items``, the next one made in a thread while the caller works on this one.

    Splitting a block (reading, inflating, numpy) then overlaps with parsing the one before
    (pyarrow, polars), which release the GIL: one block more in memory, about half the time on
    two cores. An error of the producer is raised in the caller; closing the generator stops the
    producer.
    """
    handoff: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(kind: str, value: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put((kind, value), timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put("item", item):
                    return
            put("end", None)
        except BaseException as exc:  # handed to the caller, raised there
            put("error", exc)

    worker = threading.Thread(target=produce, name="merge-split", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = handoff.get()
            if kind == "end":
                return
            if kind == "error":
                assert isinstance(value, BaseException)
                raise value
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()
