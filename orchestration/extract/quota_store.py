"""Where the SP-API token buckets live when every process and worker must share them: a row per bucket in PostgreSQL.

The buckets are pyrate-limiter's own: `StateBucket` running its `TokenBucket` algorithm (GCRA). pyrate-limiter
leaves the storage of that state to a `StateStore` ("the store's only real job is atomicity"); it ships one for a
process, one for a multiprocessing manager and one for Redis. This module is the PostgreSQL one: `check` locks the
bucket's row, reads the database's clock under that lock, lets the algorithm take its step and writes the new
state in the same transaction, so two workers can never spend the same token. The time is the database's, taken
under the lock, not the caller's: every worker and host then runs on one clock, and a caller that read its clock
before waiting for the lock (or pyrate-limiter's retry loop, which advances an item's time by the sleep it took)
cannot claim a token for a moment already past.

Why not pyrate-limiter's `PostgresBucket`: it is a sliding-window log (it ignores a rate's burst) with a table per
bucket. Amazon's usage plans are token buckets: after a burst of 15 createReport calls Amazon grants the 16th a
minute later, a 15-per-15-minutes window would hold it for 15 minutes; and thousands of sellers times a dozen
operations would be tens of thousands of tables. Here every bucket is one row of one table.

The schema `spapi_quota` and its table are made by the administrator (the local stack's PostgreSQL set-up runs
QUOTA_SQL); the `spapi_quota` login may read and write that table and nothing else in the warehouse.
"""

from __future__ import annotations

from psycopg import sql
from psycopg_pool import ConnectionPool
from pyrate_limiter.abstracts.algorithm import Decision, State, StateAlgorithm
from pyrate_limiter.abstracts.rate import Rate
from pyrate_limiter.abstracts.store import StateStore
from pyrate_limiter.clocks import WallClock

QUOTA_SCHEMA = "spapi_quota"
QUOTA_ROLE = "spapi_quota"  # the login of the shared buckets; its password lives in Vault (platform/warehouse/...)
QUOTA_TABLE = "token_buckets"
# Rows not touched for this long belong to buckets that are full again (the slowest plan refills in a day);
# they are deleted when a process first opens the buckets, so the table holds only the buckets in use.
IDLE_ROWS_KEPT_FOR = "2 days"


def quota_sql(owner: str, database: str) -> list[str]:
    """The schema, its one table and the role's grants, for the administrator to run (idempotent)."""
    schema, table, role = sql.Identifier(QUOTA_SCHEMA), sql.Identifier(QUOTA_SCHEMA, QUOTA_TABLE), sql.Identifier(
        QUOTA_ROLE)
    statements = [
        sql.SQL("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}").format(schema, sql.Identifier(owner)),
        sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(schema),
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            " bucket text PRIMARY KEY,"  # 'seller:<client id>:<seller digest>:<operation>' or 'application:...'
            " state bigint[] NOT NULL,"  # the algorithm's state: a theoretical arrival time (µs) per rate
            " updated_at timestamptz NOT NULL DEFAULT clock_timestamp())"
        ).format(table),
        sql.SQL("REVOKE ALL ON {} FROM PUBLIC").format(table),
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), role),
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, role),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(table, role),
    ]
    return [statement.as_string() for statement in statements]


_LOCK_ROW = sql.SQL(
    # Creates the row on first use and locks it either way, in one round trip; the no-op update is what makes
    # ON CONFLICT lock the existing row and return its state.
    "INSERT INTO {table} (bucket, state) VALUES (%s, %s) "
    "ON CONFLICT (bucket) DO UPDATE SET bucket = EXCLUDED.bucket "
    "RETURNING state, (extract(epoch FROM clock_timestamp()) * 1000)::bigint"
).format(table=sql.Identifier(QUOTA_SCHEMA, QUOTA_TABLE))
_WRITE = sql.SQL("UPDATE {table} SET state = %s, updated_at = clock_timestamp() WHERE bucket = %s").format(
    table=sql.Identifier(QUOTA_SCHEMA, QUOTA_TABLE))
_READ = sql.SQL("SELECT state FROM {table} WHERE bucket = %s").format(table=sql.Identifier(QUOTA_SCHEMA, QUOTA_TABLE))
_RESET = sql.SQL("DELETE FROM {table} WHERE bucket = %s").format(table=sql.Identifier(QUOTA_SCHEMA, QUOTA_TABLE))
_FORGET_IDLE = sql.SQL("DELETE FROM {table} WHERE updated_at < clock_timestamp() - %s::interval").format(
    table=sql.Identifier(QUOTA_SCHEMA, QUOTA_TABLE))


class PostgresStateStore(StateStore):
    """One bucket's state as one row of `spapi_quota.token_buckets`, changed under that row's lock."""

    is_async = False

    # The limiter's own bookkeeping (how long it sleeps before asking again) needs only a local clock: the decision
    # is made on the database's (see check).
    default_clock = WallClock()

    def __init__(self, pool: ConnectionPool, bucket: str) -> None:
        self.pool = pool
        self.bucket = bucket

    def _load(self, algorithm: StateAlgorithm, rates: list[Rate], stored) -> State:
        # A plan changed since the row was written (another number of rates): start the bucket afresh.
        return tuple(stored) if stored is not None and len(stored) == len(rates) else algorithm.initial(rates)

    def check(self, algorithm: StateAlgorithm, rates: list[Rate], now: int, weight: int) -> Decision:
        initial = list(algorithm.initial(rates))
        with self.pool.connection() as conn:  # one transaction: commit on leaving, rollback on an error
            stored, database_now = conn.execute(_LOCK_ROW, (self.bucket, initial)).fetchone()
            state, decision = algorithm.step(rates, self._load(algorithm, rates, stored), database_now, weight)
            if decision.allowed:
                conn.execute(_WRITE, ([int(value) for value in state], self.bucket))
        return decision

    def read(self, algorithm: StateAlgorithm, rates: list[Rate]) -> State:
        with self.pool.connection() as conn:
            row = conn.execute(_READ, (self.bucket,)).fetchone()
        return self._load(algorithm, rates, row[0] if row else None)

    def reset(self) -> None:
        with self.pool.connection() as conn:
            conn.execute(_RESET, (self.bucket,))


def forget_idle_buckets(pool: ConnectionPool) -> int:
    with pool.connection() as conn:
        return conn.execute(_FORGET_IDLE, (IDLE_ROWS_KEPT_FOR,)).rowcount
