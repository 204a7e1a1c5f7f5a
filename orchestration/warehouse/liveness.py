"""Whether a pooled PostgreSQL connection is still alive, told from its socket, with no round trip.

Connections kept in a pool between uses (Dagster's storage during a refresh, the shared SP-API token buckets for
a process's whole life) die when PostgreSQL restarts, and a pool that hands one out fails its caller: a step of
every run, retried minutes later on the next dead one. A connection between statements has nothing to read; one
the server closed has its FATAL message, or the end of the stream, waiting. Both pools look before each use.
"""

from __future__ import annotations

import select

import psycopg


def closed_by_server(fileno: int) -> bool:
    """Whether an idle connection's socket has something to read: the server has closed it (a restart or stop,
    an idle timeout, a terminated backend)."""
    poller = select.poll()
    poller.register(fileno, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


def is_gone(conn: psycopg.Connection) -> bool:
    """Whether a pooled connection is closed, on our side or by the server."""
    return conn.closed or closed_by_server(conn.fileno())


def refuse_if_closed(conn: psycopg.Connection) -> None:
    """psycopg_pool's `check`: a connection the server has closed is closed here too and refused, so the pool drops
    it, opens a new one and hands the caller a live one."""
    if is_gone(conn):
        conn.close()
        raise psycopg.OperationalError("the server closed this pooled connection (PostgreSQL restarted?)")
