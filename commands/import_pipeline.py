"""Big customer imports on two cores: a producer process reads and validates the file
while this process writes.

Validation is GIL-bound Python and the writes are mostly SQLite's C, so a forked
child reads, validates and builds the insert rows of one chunk while the parent
writes the previous one. Chunks of plain new customers come as :class:`NewCustomers`
(the columns of their rows, built column by column without a record per row); any
chunk with an error, a custom field, a repeated email, a tag name to check or a known
email comes as its records and takes the usual path. Chunks arrive
in file order through a pipe that holds about one chunk, so memory stays flat.

An exception in the producer is raised in the parent (which rolls the import back);
when the parent stops early, for whatever reason, the producer is ended and reaped.
The child only reads the file and the objects it was given (no database, no logging),
so forking from a worker thread of the TUI is safe.
"""

from __future__ import annotations

import json
import marshal
import multiprocessing
import pickle
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection

from commands.fileformats import Mapping, Record, RowError, TableReader
from commands.fileformats.validation import CleanChunk, validate_clean_chunks
from commands.import_customers import NewCustomerRows, NewCustomers, plain_tags

#: rows per chunk handed over
PIPE_ROWS = 5000
#: rows of the first chunk: a small one lets the writer start sooner
FIRST_ROWS = 500
#: seconds the producer gets to end after SIGTERM before it is killed
STOP_TIMEOUT = 5.0

Chunk = list[Record | RowError] | NewCustomers


def available() -> bool:
    """Whether this platform can fork the producer (Linux; elsewhere imports run in one)."""
    return sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()


@dataclass
class _Failed:
    """The producer's exception (or its text, when it cannot be pickled)."""

    error: BaseException


class _Done:
    """Sent after the last chunk."""


def new_customers(
    chunk: CleanChunk, known: frozenset[str], make: NewCustomerRows, good: set[str]
) -> NewCustomers | None:
    """The chunk as rows ready to insert, or None when any of it needs the usual path
    (a known email, a tag name to check)."""
    if known and not known.isdisjoint(chunk.emails):
        return None
    n = len(chunk)
    positions: dict[tuple[str, ...], list[int]] = {}
    tag_lists = chunk.values.get("tags")
    if tag_lists is not None:
        for j, names in enumerate(tag_lists):
            if names:
                positions.setdefault(tuple(names), []).append(j)
        if not all(plain_tags(names, good) for names in positions):
            return None
    tags = {names: json.dumps(rows) for names, rows in positions.items()}
    return NewCustomers(make.columns(chunk.values, n), tags)


def _encode(msg: Chunk | _Done | _Failed) -> bytes:
    """A message for the pipe: new customers' plain columns by marshal (twice as fast
    as pickle both ways), anything else (and dates, which marshal lacks) by pickle."""
    if type(msg) is NewCustomers:
        with suppress(ValueError):
            return b"M" + marshal.dumps((msg.columns, msg.tags))
    return b"P" + pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)


def _decode(data: bytes) -> Chunk | _Done | _Failed:
    body = memoryview(data)[1:]
    if data[:1] == b"M":
        columns, tags = marshal.loads(body)
        return NewCustomers(columns, tags)
    msg: Chunk | _Done | _Failed = pickle.loads(body)
    return msg


def _produce(
    out: Connection,
    reader: TableReader,
    mapping: Mapping,
    currency: str,
    known: frozenset[str],
    make: NewCustomerRows,
) -> None:
    """The child: every chunk of the file, in order, then :class:`_Done` (or the error)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides on Ctrl-C
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    good: set[str] = set()

    def take(chunk: CleanChunk) -> NewCustomers | None:
        return new_customers(chunk, known, make, good)

    try:
        chunks = validate_clean_chunks(
            reader, mapping, currency, take, size=PIPE_ROWS, first=min(FIRST_ROWS, PIPE_ROWS)
        )
        for chunk in chunks:
            out.send_bytes(_encode(chunk))
        out.send_bytes(_encode(_Done()))
    except BaseException as exc:
        try:
            out.send_bytes(_encode(_Failed(exc)))
        except Exception:
            with suppress(OSError):
                out.send_bytes(_encode(_Failed(RuntimeError(f"{type(exc).__name__}: {exc}"))))
    finally:
        out.close()


@contextmanager
def produced_chunks(
    reader: TableReader,
    mapping: Mapping,
    currency: str,
    known: frozenset[str],
    make: NewCustomerRows,
) -> Iterator[Iterator[Chunk]]:
    """Validated chunks of ``reader`` from a forked producer, in file order.

    ``known`` holds the casefolded emails already stored (their rows are updates).
    Leaving the block ends the producer, whether or not every chunk was read.
    """
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_produce,
        args=(send, reader, mapping, currency, known, make),
        name="import-producer",
        daemon=True,
    )
    proc.start()
    send.close()  # the child holds the only write end: its exit means EOF here

    finished = False

    def chunks() -> Iterator[Chunk]:
        nonlocal finished
        while True:
            try:
                msg = _decode(receive.recv_bytes())
            except EOFError:
                proc.join(STOP_TIMEOUT)
                raise RuntimeError(
                    f"the import's reader process stopped (exit code {proc.exitcode})"
                ) from None
            if isinstance(msg, _Done):
                finished = True
                return
            if isinstance(msg, _Failed):
                raise msg.error
            yield msg

    try:
        yield chunks()
    finally:
        receive.close()
        if not finished and proc.is_alive():
            proc.terminate()
        proc.join(STOP_TIMEOUT)
        if proc.is_alive():  # pragma: no cover - SIGTERM is not handled in the child
            proc.kill()
            proc.join()
        proc.close()


__all__ = ["PIPE_ROWS", "available", "new_customers", "produced_chunks"]
