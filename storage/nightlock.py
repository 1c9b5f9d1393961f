"""The nightly job's lock on a PostgreSQL database: a session advisory lock, held by one connection.

Runs on several hosts share one database, so a lock file on one of them
would not keep another out. The server releases the lock when the holding
connection ends, however its process ends: there is never a stale lock.
"""

from __future__ import annotations

import os
import socket

from sqlalchemy import Connection, text

from storage.db import make_engine

NIGHT_LOCK_KEY = 0x706F6C6963790003


class NightLockHeld(Exception):
    def __init__(self, holder: str):
        super().__init__(f"another policywatch run holds the nightly lock on this database ({holder}); not starting")


class AdvisoryLock:
    def __init__(self, db_url: str):
        self.db_url = db_url
        self.engine = make_engine(db_url)
        self.conn: Connection | None = None

    def __str__(self) -> str:
        return f"PostgreSQL advisory lock {NIGHT_LOCK_KEY:#x} on {self.engine.url.render_as_string()}"

    def acquire(self) -> None:
        conn = self.engine.connect()
        me = f"policywatch run on {socket.gethostname()}, pid {os.getpid()}"
        conn.execute(text("SELECT set_config('application_name', :name, false)"), {"name": me[:63]})
        got = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": NIGHT_LOCK_KEY}).scalar()
        conn.commit()
        if not got:
            holder = conn.execute(text(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND ((l.classid::bigint << 32) | l.objid::bigint) = :key LIMIT 1"),
                {"key": NIGHT_LOCK_KEY}).scalar()
            conn.close()
            self.engine.dispose()
            raise NightLockHeld(holder or "holder unknown")
        self.conn = conn

    def release(self) -> None:
        if self.conn is not None:
            self.conn.close()  # closing the session releases its advisory locks
            self.conn = None
        self.engine.dispose()
