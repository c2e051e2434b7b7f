"""PostgreSQL reads straight through asyncpg: SQLAlchemy statements, compiled once, run on a pool of
asyncpg connections of their own.

The catalog's reads are the hottest requests, and on PostgreSQL most of their cost was SQLAlchemy's,
not the database's: a pool checkout and return, the execution context, the parameters built again,
the result's metadata and rows, a greenlet hop — several times what asyncpg spends on the query.
`PgReads` keeps what is worth keeping of SQLAlchemy (the statements are still built with it and
compiled by its asyncpg dialect, casts and type processing included) and sends them the short way:

- each statement is compiled once (`_Plan`): its `$n` SQL, which parameter goes to which `$n` (the
  statement's own constants included), SQLAlchemy's bind processor of each and its result
  processor of each column. Any statement that compiles to one SQL text works; one whose SQL
  depends on each execution's values (an expanding `IN`, literal-execute parameters) goes through
  SQLAlchemy instead, on the same `PgReadConnection`;
- asyncpg prepares each SQL text once per connection and keeps it (its statement cache);
  PostgreSQL still plans each execution for its own values where it chooses to (it does for
  statements with LIMIT and OFFSET parameters: the catalog reader wants a page planned for its
  LIMIT);
- rows come back as named tuples with the column names of the result and the values SQLAlchemy's
  result processors make of them (`row.id`, `row[0]`, `row._asdict()`): the values, and types,
  SQLAlchemy's rows have;
- the connections (`_Pool`) are autocommit (a read needs no transaction: no BEGIN, no ROLLBACK)
  and handed back as they are: nothing here changes a session's state, so nothing is reset.

Plans are kept by statement object: statements should be built once, with bind parameters (as the
catalog reader's are), not per call with the values in them (those would be compiled each time).

The pool holds at most `size` connections, opens them when first needed and recycles each after
`recycle` seconds, as the engine's pool does. A connection that fails (the server restarted, the
network dropped it) is thrown away with every idle one (they likely share its fate); a statement
that failed so on a reused connection is sent once more on a new one (reads change nothing), so a
server restart does not fail a request that a new connection can answer. When the database cannot
be reached the error is one `database.unreachable` recognises (a 503, as on the SQLAlchemy path).
A read cancelled mid-query throws its connection away rather than hand back one in an unknown
state. `close()` closes the idle connections, and any in use as it comes back. `size`, `in_use` and
`idle` say how full the pool is (the `shop_db_pool_*` gauges, `pool="reads"`).

Only the catalog reader uses this; writes stay in the unit of work's transactions (`pg_fast_path`).
"""

from __future__ import annotations

import asyncio
import time
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, cast

import asyncpg  # type: ignore[import-untyped]
import msgspec
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable

_decode_json = msgspec.json.decode
PLANS_KEPT = 1024
"""How many statements' plans `PgReads` keeps (the catalog's are a few dozen shapes)."""


class Unsupported(Exception):
    """The statement cannot be compiled once for every execution (it goes through SQLAlchemy)."""


# --- a statement, compiled once ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Parameter:
    name: str
    constant: Any  # the statement's own value (a literal), used unless the caller gives one
    required: bool  # the caller must give it (a `bindparam` without a value)
    process: Callable[[Any], Any] | None  # SQLAlchemy's bind processor of its type, if any


class _Plan:
    """A statement as asyncpg takes it: the `$n` SQL, and how to make its arguments and rows."""

    __slots__ = ("_row", "_width", "parameters", "processors", "sql")

    def __init__(self, statement: Executable, dialect: Dialect) -> None:
        compiled = cast(SQLCompiler, cast(ClauseElement, statement).compile(dialect=dialect))
        if compiled.post_compile_params or compiled.literal_execute_params:
            raise Unsupported("its SQL depends on each execution's values")
        self.sql = compiled.string
        self.parameters = tuple(
            _Parameter(
                name,
                None if bind.required else bind.effective_value,
                bind.required,
                bind.type.dialect_impl(dialect).bind_processor(dialect),
            )
            for name in compiled.positiontup or ()
            for bind in (compiled.binds[name],)
        )
        columns = list(getattr(statement, "selected_columns", ()))
        self._width = len(columns)
        self.processors = tuple(
            (i, process)
            for i, column in enumerate(columns)
            if (process := column.type.dialect_impl(dialect).result_processor(dialect, None)) is not None
        )
        self._row: type[tuple[Any, ...]] | None = None  # made from the first result's column names

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        """The `$1, $2, ...` values: the caller's by name, else the statement's own; processed."""
        found = []
        for parameter in self.parameters:
            if parameter.name in values:
                value = values[parameter.name]
            elif parameter.required:
                raise KeyError(f"A value is required for the bind parameter {parameter.name!r}")
            else:
                value = parameter.constant
            found.append(value if parameter.process is None else parameter.process(value))
        return found

    def rows(self, records: Sequence[asyncpg.Record]) -> list[Any]:
        """The records as SQLAlchemy would have them: processed, with attributes by column name."""
        if not records:
            return []
        row = self._row or self._row_type(records[0])
        processors = self.processors
        if not processors:
            return [tuple.__new__(row, record) for record in records]
        found = []
        for record in records:
            values = list(record)
            for i, process in processors:
                values[i] = process(values[i])
            found.append(tuple.__new__(row, values))
        return found

    def _row_type(self, record: asyncpg.Record) -> type[tuple[Any, ...]]:
        names = list(record.keys())
        if self._width and len(names) != self._width:
            raise RuntimeError(f"{len(names)} columns came back, {self._width} were selected: {self.sql}")
        self._row = namedtuple("Row", names, rename=True)  # type: ignore[misc]
        return self._row


class _Result:
    """What the reader uses of SQLAlchemy's Result, over a list of rows."""

    __slots__ = ("_rows",)

    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    def all(self) -> list[Any]:
        return self._rows

    def first(self) -> Any | None:
        return self._rows[0] if self._rows else None

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)


# --- the connections -----------------------------------------------------------------------------


def _lost(exc: BaseException, connection: asyncpg.Connection) -> bool:
    """Whether `exc` means the connection is gone (not a statement the server or asyncpg refused)."""
    return connection.is_closed() or isinstance(
        exc, asyncpg.PostgresConnectionError | ConnectionError | OSError | TimeoutError
    )


class _Pool:
    """At most `size` autocommit asyncpg connections, opened on demand, reused last-in first-out."""

    def __init__(self, connect: Callable[[], Any], *, size: int, recycle: float) -> None:
        self._connect = connect
        self._recycle = recycle
        self._slots = asyncio.Semaphore(size)
        self._idle: list[tuple[asyncpg.Connection, float]] = []  # (connection, when it was opened)
        self.size = size
        self.in_use = 0  # connections handed out and not yet back
        self.closed = False

    @property
    def idle(self) -> int:
        return len(self._idle)

    async def acquire(self) -> tuple[asyncpg.Connection, float, bool]:
        """A connection, when it was opened, and whether it was opened just now."""
        if self.closed:
            raise ConnectionError("The database's read pool is closed (the shop is shutting down).")
        await self._slots.acquire()
        try:
            now = time.monotonic()
            while self._idle:
                connection, opened = self._idle.pop()
                if now - opened < self._recycle and not connection.is_closed():
                    self.in_use += 1
                    return connection, opened, False
                connection.terminate()
            connection = await self._connect()
        except BaseException:
            self._slots.release()
            raise
        self.in_use += 1
        return connection, now, True

    def release(self, connection: asyncpg.Connection, opened: float, *, reusable: bool) -> None:
        self.in_use -= 1
        if reusable and not self.closed and not connection.is_closed():
            self._idle.append((connection, opened))
        else:
            connection.terminate()
        self._slots.release()

    def _take_idle(self) -> list[asyncpg.Connection]:
        idle = [connection for connection, _ in self._idle]
        self._idle = []
        return idle

    def discard_idle(self) -> None:
        """Throw the idle connections away (one was lost; the others were opened before it too)."""
        for connection in self._take_idle():
            connection.terminate()

    async def close(self) -> None:
        self.closed = True
        for connection in self._take_idle():
            try:
                await asyncio.wait_for(connection.close(), 5)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                connection.terminate()


# --- the reads -----------------------------------------------------------------------------------


class PgReads:
    """SQLAlchemy statements run on asyncpg connections of their own (see the module's notes)."""

    def __init__(self, engine: AsyncEngine, *, size: int, recycle: float) -> None:
        dialect = engine.dialect
        if dialect.driver != "asyncpg" or dialect.paramstyle != "numeric_dollar":
            raise Unsupported(f"{dialect.name}+{dialect.driver} ({dialect.paramstyle})")
        self._engine = engine
        self._dialect = dialect
        _, options = dialect.create_connect_args(engine.url)
        options = dict(options)
        cache_size = options.pop("prepared_statement_cache_size", None)
        if cache_size is not None:  # SQLAlchemy's name for it; asyncpg's cache does that job here
            options["statement_cache_size"] = cache_size
        self._options = options
        self._pool = _Pool(self._open, size=size, recycle=recycle)
        self._plans: dict[int, tuple[Executable, _Plan | None]] = {}
        self.listeners: list[Callable[[str], None]] = []
        """Called with each SQL text before it is sent (what SQLAlchemy's `before_cursor_execute`
        is to the engine's statements; tests count statements with both)."""

    def connect(self) -> PgReadConnection:
        """A stand-in for `engine.connect()`: `async with reads.connect() as conn: conn.execute(...)`."""
        return PgReadConnection(self)

    async def close(self) -> None:
        await self._pool.close()

    @property
    def size(self) -> int:
        """The most connections the pool opens."""
        return self._pool.size

    @property
    def in_use(self) -> int:
        """Connections a read holds now."""
        return self._pool.in_use

    @property
    def idle(self) -> int:
        """Open connections waiting in the pool now."""
        return self._pool.idle

    def plan(self, statement: Executable) -> _Plan | None:
        """The statement's plan, made once; None when it has to go through SQLAlchemy."""
        found = self._plans.get(id(statement))
        if found is not None and found[0] is statement:
            return found[1]
        try:
            plan: _Plan | None = _Plan(statement, self._dialect)
        except Unsupported:
            plan = None
        if len(self._plans) >= PLANS_KEPT:
            self._plans.clear()
        self._plans[id(statement)] = (statement, plan)  # holding the statement keeps its id its own
        return plan

    async def _open(self) -> asyncpg.Connection:
        connection = await asyncpg.connect(**self._options)
        try:
            # What SQLAlchemy's asyncpg dialect sets up on each of its connections, so that its
            # types' result processors find what they expect: JSON and JSONB decoded (by msgspec:
            # the same values as the json module's, sooner).
            await connection.set_type_codec(
                "json", encoder=str.encode, decoder=_decode_json, schema="pg_catalog", format="binary"
            )
            await connection.set_type_codec(
                "jsonb",
                encoder=lambda text: b"\x01" + text.encode(),
                decoder=lambda data: _decode_json(data[1:]),
                schema="pg_catalog",
                format="binary",
            )
        except BaseException:
            connection.terminate()
            raise
        return connection


class PgReadConnection:
    """What the reader uses of SQLAlchemy's AsyncConnection (`execute`, `scalar`), for reads: one
    pooled asyncpg connection from the first statement to the end of the `async with`; statements
    without a plan go through a connection of the engine, opened when first needed."""

    __slots__ = ("_connection", "_engine_connection", "_fresh", "_opened", "_reads")

    def __init__(self, reads: PgReads) -> None:
        self._reads = reads
        self._connection: asyncpg.Connection | None = None
        self._opened = 0.0
        self._fresh = False
        self._engine_connection: AsyncConnection | None = None

    async def __aenter__(self) -> PgReadConnection:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._release(reusable=True)
        if self._engine_connection is not None:
            await self._engine_connection.close()

    def _release(self, *, reusable: bool) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            self._reads._pool.release(connection, self._opened, reusable=reusable)

    async def execute(self, statement: Executable, parameters: Mapping[str, Any] | None = None) -> Any:
        """The statement's result (`all()`, `first()`, `scalar()`, iterable)."""
        plan = self._reads.plan(statement)
        if plan is None:
            if self._engine_connection is None:
                self._engine_connection = await self._reads._engine.execution_options(
                    isolation_level="AUTOCOMMIT"
                ).connect()
            return await self._engine_connection.execute(statement, parameters)
        return _Result(plan.rows(await self._fetch(plan.sql, plan.arguments(parameters or {}))))

    async def scalar(self, statement: Executable, parameters: Mapping[str, Any] | None = None) -> Any:
        return (await self.execute(statement, parameters)).scalar()

    async def _fetch(self, sql: str, arguments: list[Any]) -> list[asyncpg.Record]:
        for listener in self._reads.listeners:
            listener(sql)
        pool = self._reads._pool
        while True:
            if self._connection is None:
                self._connection, self._opened, self._fresh = await pool.acquire()
            connection = self._connection
            try:
                records: list[asyncpg.Record] = await connection.fetch(sql, *arguments)
            except asyncpg.PostgresError as exc:
                if not _lost(exc, connection):
                    raise  # the server refused the statement; the connection is as good as before
                self._release(reusable=False)
                pool.discard_idle()
                if self._fresh:
                    raise
            except Exception as exc:
                self._release(reusable=False)
                if not _lost(exc, connection):
                    raise  # asyncpg refused it (a value it cannot send), or a bug
                pool.discard_idle()
                if self._fresh:
                    if isinstance(exc, asyncpg.InterfaceError):  # "connection is closed"
                        raise ConnectionError(f"The database connection was lost: {exc}") from exc
                    raise
            except BaseException:
                self._release(reusable=False)  # cancelled mid-query: its state is unknown
                raise
            else:
                return records
            # A reused connection had been lost (the server restarted, say): once more, on a new one.
