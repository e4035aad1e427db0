"""Exact per-person counts (the person page's header and pagers), kept by the database.

Counting a heavy advocate's 50,000 referrals on every page view costs more than the rest of the
page. Instead, triggers append a change row (+1 or -1 in one column) for every counted row
inserted, deleted or moved to another person, in the same transaction as that row, whatever
wrote it: services, bulk inserts, imports, cascades. They never update a shared row, so two
ingests for the same advocate neither wait on nor deadlock over a hot counter (the buffered
counters of GitLab's CounterAttribute). The worker folds the changes into one PersonTally row
per person, in person order. A count is the tally plus the changes not yet folded, read in one
statement: exact whether or not the worker has run.

COUNTED is the one list of what is counted; the SQL of both databases is written from it.
`tally_triggers_ensure` runs after every migrate, because SQLite drops a table's triggers when
Django rebuilds the table to alter it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

TALLY = "people_persontally"
CHANGE = "people_tallychange"
PERSON = "people_person"


@dataclass(frozen=True)
class Counted:
    name: str  # the column in PersonTally and TallyChange
    table: str
    person: str  # the column naming the person the row counts for
    when: str = ""  # a condition on the row, with {row} for NEW or OLD
    watch: tuple[str, ...] = ()  # other columns the condition reads


COUNTED = (
    Counted("advocate", "referrals_referral", "advocate_id"),
    Counted("friend", "referrals_referral", "friend_id"),
    Counted("rewards", "rewards_reward", "person_id"),
    Counted("given", "rewards_reward", "person_id", when="{row}.status = 'given'", watch=("status",)),
    Counted("emails", "emails_email", "person_id"),
    Counted("offers", "shares_offer", "friend_id"),
    Counted("shares", "shares_share", "advocate_id"),
    Counted("events", "events_event", "person_id"),
)
TALLY_NAMES = tuple(counted.name for counted in COUNTED)
_SUMS = ", ".join(f"SUM({name})" for name in TALLY_NAMES)


def _tables() -> dict[str, list[Counted]]:
    tables: dict[str, list[Counted]] = {}
    for counted in COUNTED:
        tables.setdefault(counted.table, []).append(counted)
    return tables


def _holds(counted: Counted, row: str) -> str:
    condition = f" AND {counted.when.format(row=row)}" if counted.when else ""
    return f"{row}.{counted.person} IS NOT NULL{condition}"


def _moved(counted: Counted, *, differs: str) -> str:
    pairs = [(f"OLD.{counted.person}", f"NEW.{counted.person}")]
    if counted.when:
        pairs.append((f"({counted.when.format(row='OLD')})", f"({counted.when.format(row='NEW')})"))
    return " OR ".join(f"{old} {differs} {new}" for old, new in pairs)


def _change(counted: Counted, *, row: str, sign: int, guard: str) -> str:
    return (
        f"INSERT INTO {CHANGE} (person_id, {counted.name}) "
        f"SELECT {row}.{counted.person}, {sign} WHERE {guard};"
    )


def _statements(counted_rows: list[Counted], op: str, *, differs: str) -> list[str]:
    statements = []
    for counted in counted_rows:
        if op == "INSERT":
            statements.append(_change(counted, row="NEW", sign=1, guard=_holds(counted, "NEW")))
        elif op == "DELETE":
            statements.append(_change(counted, row="OLD", sign=-1, guard=_holds(counted, "OLD")))
        else:
            moved = _moved(counted, differs=differs)
            statements.append(
                _change(counted, row="OLD", sign=-1, guard=f"{_holds(counted, 'OLD')} AND ({moved})")
            )
            statements.append(
                _change(counted, row="NEW", sign=1, guard=f"{_holds(counted, 'NEW')} AND ({moved})")
            )
    return statements


def _watched(counted_rows: list[Counted]) -> str:
    columns = dict.fromkeys(c for counted in counted_rows for c in (counted.person, *counted.watch))
    return ", ".join(columns)


def _sqlite_sql(table: str, counted_rows: list[Counted]) -> list[str]:
    events = {"INSERT": "INSERT", "DELETE": "DELETE", "UPDATE": f"UPDATE OF {_watched(counted_rows)}"}
    return [
        f"CREATE TRIGGER IF NOT EXISTS tally_{table}_{op.lower()} AFTER {event} ON {table} BEGIN "
        + " ".join(_statements(counted_rows, op, differs="IS NOT"))
        + " END"
        for op, event in events.items()
    ]


def _postgresql_sql(table: str, counted_rows: list[Counted]) -> list[str]:
    def branch(op: str) -> str:
        return " ".join(_statements(counted_rows, op, differs="IS DISTINCT FROM"))

    function = (
        f"CREATE OR REPLACE FUNCTION tally_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP = 'INSERT' THEN {branch('INSERT')} "
        f"ELSIF TG_OP = 'DELETE' THEN {branch('DELETE')} "
        f"ELSE {branch('UPDATE')} END IF; RETURN NULL; END $$"
    )
    trigger = (
        f"CREATE OR REPLACE TRIGGER tally_{table} AFTER INSERT OR DELETE OR UPDATE OF "
        f"{_watched(counted_rows)} ON {table} FOR EACH ROW EXECUTE FUNCTION tally_{table}()"
    )
    return [function, trigger]


def tally_trigger_sql(vendor: str) -> list[str]:
    """The statements that create (or replace) every tally trigger on this database."""
    write = _postgresql_sql if vendor == "postgresql" else _sqlite_sql
    return [sql for table, counted_rows in _tables().items() for sql in write(table, counted_rows)]


def tally_triggers_ensure(*, using: BaseDatabaseWrapper | None = None) -> None:
    """Create the tally triggers where they are missing (idempotent; after every migrate)."""
    using = using or connection
    if TALLY not in using.introspection.table_names():
        return
    with using.cursor() as cursor:
        for sql in tally_trigger_sql(using.vendor):
            cursor.execute(sql)


def tally_triggers_drop(*, using: BaseDatabaseWrapper | None = None) -> None:
    using = using or connection
    with using.cursor() as cursor:
        for table in _tables():
            if using.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER IF EXISTS tally_{table} ON {table}")
                cursor.execute(f"DROP FUNCTION IF EXISTS tally_{table}()")
            else:
                for op in ("insert", "delete", "update"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS tally_{table}_{op}")


def tally_selects(*, person: str = "%s") -> dict[str, str]:
    """Each count as an SQL expression of the person `person` (a placeholder, taken twice, or
    a column): the folded tally plus the changes not folded yet. (PostgreSQL sums bigints as
    numeric: read them with int().)"""
    return {
        name: f"(COALESCE((SELECT {name} FROM {TALLY} WHERE person_id = {person}), 0)"
        f" + COALESCE((SELECT SUM({name}) FROM {CHANGE} WHERE person_id = {person}), 0))"
        for name in TALLY_NAMES
    }


def _upsert(cursor, rows: list[tuple[int, ...]]) -> None:
    columns = ", ".join(TALLY_NAMES)
    added = ", ".join(f"{name} = {TALLY}.{name} + excluded.{name}" for name in TALLY_NAMES)
    values = ", ".join(["(" + ", ".join(["%s"] * (len(TALLY_NAMES) + 1)) + ")"] * len(rows))
    cursor.execute(
        f"INSERT INTO {TALLY} (person_id, {columns}) VALUES {values} "
        f"ON CONFLICT (person_id) DO UPDATE SET {added}",
        [value for row in rows for value in row],
    )


def tallies_fold(*, limit: int = 2000) -> int:
    """Fold up to `limit` of the oldest changes into their people's tallies; returns how many.

    One transaction: the changes are taken (skipped when another worker holds them, on
    PostgreSQL), summed per person, added to the tallies in person order (so two workers
    cannot deadlock), and deleted. Changes of a person deleted since are dropped."""
    skip_locked = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {CHANGE} ORDER BY id LIMIT %s{skip_locked}", [limit])
        taken = [row[0] for row in cursor.fetchall()]
        if not taken:
            return 0
        marks = ", ".join(["%s"] * len(taken))
        cursor.execute(
            f"SELECT c.person_id, {_SUMS} FROM {CHANGE} c JOIN {PERSON} p ON p.id = c.person_id "
            f"WHERE c.id IN ({marks}) GROUP BY c.person_id ORDER BY c.person_id",
            taken,
        )
        rows = [tuple(int(value) for value in row) for row in cursor.fetchall()]
        if rows:
            _upsert(cursor, rows)
        cursor.execute(f"DELETE FROM {CHANGE} WHERE id IN ({marks})", taken)
    return len(taken)


def _counted_union(*, site_id: int | None) -> tuple[str, list]:
    """Every counted row's person and column, as one UNION ALL (grouped per table)."""
    parts, params = [], []
    for counted in COUNTED:
        ones = ", ".join(f"{'COUNT(*)' if name == counted.name else '0'} AS {name}" for name in TALLY_NAMES)
        where = [_holds(counted, "t")]
        if site_id is not None:
            where.append("t.site_id = %s")
            params.append(site_id)
        parts.append(
            f"SELECT t.{counted.person} AS person_id, {ones} FROM {counted.table} t "
            f"WHERE {' AND '.join(where)} GROUP BY t.{counted.person}"
        )
    return " UNION ALL ".join(parts), params


def tallies_recount(*, site_id: int | None = None) -> int:
    """Count every person's rows again from the tables (one site's, or all) and replace their
    tallies and pending changes; returns how many people have a tally. For a database loaded
    without the triggers (the scale demo, the migration that adds them): run it while nothing
    else writes to those people."""
    union, params = _counted_union(site_id=site_id)
    columns = ", ".join(TALLY_NAMES)
    people = f"SELECT id FROM {PERSON}" + (" WHERE site_id = %s" if site_id is not None else "")
    people_params = [site_id] if site_id is not None else []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {CHANGE} WHERE person_id IN ({people})", people_params)
        cursor.execute(f"DELETE FROM {TALLY} WHERE person_id IN ({people})", people_params)
        cursor.execute(
            f"INSERT INTO {TALLY} (person_id, {columns}) SELECT person_id, {_SUMS} "
            f"FROM ({union}) AS counted GROUP BY person_id",
            params,
        )
        return cursor.rowcount


def tally_drift(*, site_id: int) -> dict[int, tuple[dict[str, int], dict[str, int]]]:
    """The site's people whose counts differ from their rows: person id -> (tallied, counted)."""
    union, params = _counted_union(site_id=site_id)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT person_id, {_SUMS} FROM ({union}) AS counted GROUP BY person_id", params)
        counted = {
            row[0]: dict(zip(TALLY_NAMES, map(int, row[1:]), strict=True)) for row in cursor.fetchall()
        }
    zero = dict.fromkeys(TALLY_NAMES, 0)
    return {
        person_id: (tallied, counted.get(person_id, zero))
        for person_id, tallied in _tallied(where="p.site_id = %s", params=[site_id]).items()
        if tallied != counted.get(person_id, zero)
    }


def _tallied(*, where: str, params: list) -> dict[int, dict[str, int]]:
    selects = tally_selects(person="p.id")
    sql = ", ".join(selects[name] for name in TALLY_NAMES)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT p.id, {sql} FROM {PERSON} p WHERE {where}", params)
        return {row[0]: dict(zip(TALLY_NAMES, map(int, row[1:]), strict=True)) for row in cursor.fetchall()}


def tallies_of(*, person_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """The exact counts of these people (tests and repairs compare them with the tables)."""
    ids = list(person_ids)
    if not ids:
        return {}
    return _tallied(where=f"p.id IN ({', '.join(['%s'] * len(ids))})", params=ids)
