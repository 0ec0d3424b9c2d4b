"""Database engine set-up: SQLite in WAL mode with write transactions that lock up front."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, NoReturn

from flask import Flask, g
from sqlalchemy import JSON, Column, DateTime, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolProxiedConnection

from quizapp.extensions import db

WRITE_OPTION = "quizapp_write"
Row = tuple[Any, ...]  # a row of a plain statement


def init_database(app: Flask) -> None:
    """Bind SQLAlchemy to the app and tune SQLite connections when SQLite is used."""
    opts = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if ":memory:" not in url and url not in ("sqlite://", "sqlite:///"):
        # Keep a connection per server thread (a request may hold two: its Session's and the play
        # loop's): past the pool's size every checkout reconnects and re-runs SQLite's PRAGMAs.
        opts.setdefault("pool_size", app.config.get("DB_POOL_SIZE", 16))
        opts.setdefault("max_overflow", app.config.get("DB_POOL_SIZE", 16))
    if url.startswith("sqlite"):
        opts.setdefault("connect_args", {}).setdefault("timeout", 30)
    else:
        # After a database restart, pooled connections are dead: test each one as it is taken
        # so the first request of each worker does not fail (seen in bench_faults.py).
        opts.setdefault("pool_pre_ping", True)
    db.init_app(app)
    app.teardown_appcontext(release_raw)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _tune_sqlite(db.engine)


def _tune_sqlite(engine: Engine) -> None:
    """Enable WAL and a busy timeout; make write transactions BEGIN IMMEDIATE; reads autocommit.

    Deferred transactions that read then write deadlock-upgrade under load
    ("database is locked"); taking the write lock at BEGIN makes concurrent
    writers queue on the busy timeout instead. Reads open no transaction:
    each statement sees the latest commit, as on PostgreSQL (READ COMMITTED),
    so an ORM read after a write made on the play loop's plain connection
    (database.raw()) sees it, and readers never wait for writers in WAL mode.
    """
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")


_process_writers = threading.RLock()
_lock_files: dict[str, int] = {}
_writer_depth = threading.local()


@contextmanager
def _writer_turn() -> Iterator[None]:
    """Queue SQLite writers fairly: a thread lock in-process and flock across worker processes.

    SQLite's busy handler makes a waiting writer sleep 1, 2, 5 ... 100 ms
    between polls, so under load whoever just released the lock usually takes
    it again and the tail latency explodes. A blocking flock wakes the next
    writer as soon as the lock is free. busy_timeout stays as the backstop
    for writers outside this process group (CLI commands).
    """
    path = db.engine.url.database if db.engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:":
        yield
        return
    with _process_writers:
        depth = getattr(_writer_depth, "n", 0)
        fd = _lock_files.get(path)
        if fd is None:
            fd = _lock_files[path] = os.open(path + "-writelock", os.O_RDWR | os.O_CREAT, 0o600)
        if depth == 0:
            fcntl.flock(fd, fcntl.LOCK_EX)
        _writer_depth.n = depth + 1
        try:
            yield
        finally:
            _writer_depth.n = depth
            if depth == 0:
                fcntl.flock(fd, fcntl.LOCK_UN)


@contextmanager
def writing() -> Iterator[Session]:
    """Run a write transaction: locks up front on SQLite, commits on success, rolls back on error."""
    session = db.session()  # the request's Session behind the scoped proxy
    if session.in_transaction():
        session.commit()  # end any read transaction so the write one starts fresh
    with _writer_turn():
        session.connection(execution_options={WRITE_OPTION: True})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# ---------------------------------------------------------------- plain statements for the play loop

class RawConnection:
    """A pooled DB-API connection running the play loop's fixed statements (quizapp/quiz, practice, boards).

    The one place that knows the databases apart: statements are written
    with `?` placeholders (translated once for PostgreSQL), values cross the
    boundary through adapt()/time_out()/json_out() so both databases store
    what the ORM would (SQLite: datetimes as text with microseconds, JSON as
    text; PostgreSQL: native types), and driver errors become SQLAlchemy's
    (so an unreachable database is a 503 on every path).
    """

    def __init__(self, fairy: PoolProxiedConnection, dialect: str) -> None:
        self.fairy = fairy  # SQLAlchemy's pool proxy: close() returns the connection to the pool
        self.sqlite = dialect == "sqlite"
        self.in_transaction = False
        self._sql: dict[str, str] = {}

    def _prepare(self, sql: str) -> str:
        if self.sqlite:
            return sql
        text = self._sql.get(sql)
        if text is None:
            text = self._sql[sql] = sql.replace("?", "%s")
        return text

    def _cursor_run(self, sql: str, params: Sequence[Any]) -> Any:
        """Run one statement and return its cursor; database errors become SQLAlchemy's."""
        cur = self.fairy.cursor()
        try:
            cur.execute(self._prepare(sql), params)
        except Exception as exc:
            cur.close()
            self._end_implicit()
            _reraise(exc, sql, params, self.fairy)
        return cur

    def _end_implicit(self) -> None:
        """On PostgreSQL, end the transaction the driver opened for a statement outside transaction():
        an idle open transaction would hold its locks (and a snapshot) until the request ends."""
        if not self.sqlite and not self.in_transaction:
            with suppress(Exception):  # a dead connection (None once invalidated): the next statement reports it
                self.fairy.dbapi_connection.commit()  # type: ignore[union-attr]

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a query, or None."""
        cur = self._cursor_run(sql, params)
        try:
            row: Row | None = cur.fetchone()
            return row
        finally:
            cur.close()
            self._end_implicit()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row of a query."""
        cur = self._cursor_run(sql, params)
        try:
            rows: list[Row] = cur.fetchall()
            return rows
        finally:
            cur.close()
            self._end_implicit()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row of a query (None without a row)."""
        row = self.one(sql, params)
        return row[0] if row is not None else None

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a write statement; returns the number of rows it changed."""
        cur = self._cursor_run(sql, params)
        try:
            changed: int = cur.rowcount
            return changed
        finally:
            cur.close()
            self._end_implicit()

    def write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write statement as a transaction of its own; returns the number of rows it changed.

        A single statement is atomic by itself, so on SQLite it is only queued
        like transaction() (no BEGIN and COMMIT round trips); inside
        transaction() it is part of that transaction.
        """
        if self.sqlite and not self.in_transaction:
            with _writer_turn():
                return self.run(sql, params)
        return self.run(sql, params)

    def many(self, sql: str, rows: list[Sequence[Any]]) -> None:
        """Run one write statement for each parameter tuple."""
        cur = self.fairy.cursor()
        try:
            cur.executemany(self._prepare(sql), rows)
        except Exception as exc:
            _reraise(exc, sql, rows[:1], self.fairy)
        finally:
            cur.close()
            self._end_implicit()

    @contextmanager
    def transaction(self) -> Iterator[RawConnection]:
        """A write transaction (on SQLite queued like writing(): flock, then BEGIN IMMEDIATE).

        Inside another transaction of this connection it joins that one, so
        a write step can be used alone or as part of a larger write.
        """
        if self.in_transaction:
            yield self
            return
        if self.sqlite:
            with _writer_turn():
                self.run("BEGIN IMMEDIATE")
                self.in_transaction = True
                try:
                    yield self
                except BaseException:
                    self._rollback()
                    raise
                finally:
                    self.in_transaction = False
                self.run("COMMIT")
            return
        self.in_transaction = True  # the driver begins the transaction at the first statement
        try:
            yield self
        except BaseException:
            self._rollback()
            raise
        finally:
            self.in_transaction = False
        try:
            connection = self.fairy.dbapi_connection
            if connection is None:  # invalidated by an error inside the transaction, which raised already
                raise RuntimeError("the transaction's connection was lost")
            connection.commit()
        except Exception as exc:
            _reraise(exc, "COMMIT", (), self.fairy)

    def _rollback(self) -> None:
        """Roll back after an error; nothing to do once the error invalidated the connection (lost), and a
        rollback that fails on a dead connection must not hide the error that is being raised."""
        connection = self.fairy.dbapi_connection
        if connection is not None:
            with suppress(Exception):
                connection.rollback()

    def for_update(self, sql: str) -> str:
        """A SELECT that locks its rows until the transaction ends (PostgreSQL); SQLite's BEGIN IMMEDIATE
        already serialises writers and has no FOR UPDATE."""
        return sql if self.sqlite else sql + " FOR UPDATE"

    # Values in and out, as the ORM column types store them.
    def time_in(self, value: dt.datetime | None) -> dt.datetime | str | None:
        """A naive-UTC datetime as a statement parameter."""
        if value is None or not self.sqlite:
            return value
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")

    @staticmethod
    def time_out(value: Any) -> dt.datetime | None:
        """A datetime column's value as a naive-UTC datetime."""
        if value is None or isinstance(value, dt.datetime):
            return value
        return dt.datetime.fromisoformat(value)

    @classmethod
    def time_of(cls, value: Any) -> dt.datetime:
        """A NOT NULL datetime column's value as a naive-UTC datetime."""
        found = cls.time_out(value)
        if found is None:
            raise ValueError("NULL in a NOT NULL datetime column")
        return found

    def json_in(self, value: Any) -> Any:
        """A JSON column's parameter."""
        if self.sqlite:
            return json.dumps(value)
        from psycopg.types.json import Json

        return Json(value)

    @staticmethod
    def json_out(value: Any) -> Any:
        """A JSON column's value as Python data."""
        return json.loads(value) if isinstance(value, (str, bytes)) else value

    def adapt(self, column: Column[Any], value: Any) -> Any:
        """A parameter for a model column, converted by the column's type."""
        if isinstance(column.type, DateTime):
            return self.time_in(value)
        if isinstance(column.type, JSON):
            return self.json_in(value)
        return value

    def close(self) -> None:
        """Give the connection back to the pool (rolling back anything left open)."""
        self.fairy.close()


class Insert:
    """An INSERT of a model's row: the columns a caller gives, plus every other column's default from the model.

    The defaults live once, in quizapp/models.py; values are adapted by
    their column's type. Built once per statement, at import.
    """

    def __init__(self, model: type, given: Sequence[str], returning: str | None = "id") -> None:
        table = model.__table__  # type: ignore[attr-defined]
        self.given = tuple(table.c[name] for name in given)
        self.defaulted = tuple(c for c in table.columns if c.name not in given and c.default is not None)
        columns = ", ".join(c.name for c in (*self.given, *self.defaulted))
        marks = ", ".join("?" * (len(self.given) + len(self.defaulted)))
        self.sql = f"INSERT INTO {table.name} ({columns}) VALUES ({marks})"  # nosec B608 - names from the models
        self.returning = returning
        if returning:
            self.sql += f" RETURNING {returning}"

    def params(self, conn: RawConnection, values: dict[str, Any]) -> Row:
        """The statement's parameters for one row."""
        given = [conn.adapt(c, values[c.name]) for c in self.given]
        defaults = [conn.adapt(c, _default(c)) for c in self.defaulted]
        return (*given, *defaults)

    def run(self, conn: RawConnection, **values: Any) -> Any:
        """Insert one row (its own transaction outside one); returns the RETURNING column's value (None without one)."""
        if not self.returning:
            conn.write(self.sql, self.params(conn, values))
            return None
        row = conn.one(self.sql, self.params(conn, values))
        return row[0] if row is not None else None

    def run_many(self, conn: RawConnection, rows: list[dict[str, Any]]) -> None:
        """Insert several rows."""
        conn.many(self.sql, [self.params(conn, row) for row in rows])


def _default(column: Column[Any]) -> Any:
    """The Python-side default of a model column, as the ORM would insert it (callables called)."""
    default: Any = column.default
    return default.arg(None) if default.is_callable else default.arg


def _reraise(exc: Exception, sql: str | None, params: Any, fairy: PoolProxiedConnection | None = None) -> NoReturn:
    """Raise SQLAlchemy's exception for a DB-API error (IntegrityError, OperationalError... by the driver's
    class hierarchy, as SQLAlchemy maps them); a lost connection is discarded from the pool (fairy None:
    the error came while checking one out, so there is none to discard)."""
    from sqlalchemy import exc as sa_exc

    dbapi = db.engine.dialect.loaded_dbapi
    if not isinstance(exc, dbapi.Error):
        raise exc
    lost = isinstance(exc, (dbapi.OperationalError, dbapi.InterfaceError)) and "locked" not in str(exc)
    if lost and fairy is not None:  # SQLite's "database is locked" leaves the connection usable; else may be dead
        with suppress(Exception):  # already gone
            fairy.invalidate(exc)
    raise sa_exc.DBAPIError.instance(sql, params, exc, dbapi.Error, connection_invalidated=lost,
                                     dialect=db.engine.dialect) from exc


def raw() -> RawConnection:
    """The app context's plain DB-API connection, checked out on first use and returned at teardown."""
    conn: RawConnection | None = g.get("_quizapp_raw")
    if conn is None:
        conn = g._quizapp_raw = RawConnection(_checkout(), db.engine.dialect.name)
    return conn


def _checkout() -> PoolProxiedConnection:
    """A connection from the engine's pool; failing to connect raises SQLAlchemy's exception, as a Session would.

    Engine.raw_connection() lets the driver's own error through (a Session
    wraps it), which the 503 handler for an unreachable database would miss.
    """
    try:
        return db.engine.raw_connection()
    except db.engine.dialect.loaded_dbapi.Error as exc:
        _reraise(exc, None, None)


def release_raw(_exc: BaseException | None = None) -> None:
    """Return the app context's raw connection to the pool."""
    conn = g.pop("_quizapp_raw", None)
    if conn is not None:
        conn.close()
