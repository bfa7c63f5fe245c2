"""Big customer imports on two cores: a producer process reads and validates the file
while this process writes.

Validation is GIL-bound Python and the writes are mostly SQLite's C, so a forked
child reads, validates and builds the insert rows of one chunk while the parent
writes the previous one. Chunks of plain new customers come as :class:`NewCustomers`
(rows ready for executemany); any chunk with an error, a custom field, a tag name to
check or a known email comes as its records and takes the usual path. Chunks arrive
in file order through a pipe that holds about one chunk, so memory stays flat.

An exception in the producer is raised in the parent (which rolls the import back);
when the parent stops early, for whatever reason, the producer is ended and reaped.
The child only reads the file and the objects it was given (no database, no logging),
so forking from a worker thread of the TUI is safe.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from commands.fileformats import CustomerRecord, Mapping, Record, RowError, TableReader
from commands.fileformats.validation import validate_chunks
from commands.import_customers import NewCustomerRows, NewCustomers, plain_tags

#: rows per chunk handed over
PIPE_ROWS = 5000
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
    chunk: list[Record | RowError], known: frozenset[str], make: NewCustomerRows, good: set[str]
) -> NewCustomers | None:
    """The chunk as rows ready to insert, or None when any of it needs the usual path."""
    tags: list[Any] = []
    interned: dict[tuple[str, ...], tuple[str, ...]] = {}
    for r in chunk:
        if type(r) is not CustomerRecord or r.custom:
            return None
        if known and r.email and r.email.casefold() in known:
            return None
        if r.tags is None:
            tags.append(None)
            continue
        if not plain_tags(r.tags, good):
            return None
        key = tuple(r.tags)
        tags.append(interned.setdefault(key, key))  # pickled once per distinct list
    return NewCustomers([make(r) for r in chunk], tags)  # type: ignore[arg-type]


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
    try:
        for chunk in validate_chunks("customers", reader, mapping, currency, size=PIPE_ROWS):
            out.send(new_customers(chunk, known, make, good) or chunk)
        out.send(_Done())
    except BaseException as exc:
        try:
            out.send(_Failed(exc))
        except Exception:
            with suppress(OSError):
                out.send(_Failed(RuntimeError(f"{type(exc).__name__}: {exc}")))
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
                msg = receive.recv()
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
