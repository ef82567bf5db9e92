"""Everything kept about a caller, in one place: erased on request ("forget me") and pruned after retention.

What is about a caller: their core blocks, their archival notes, the turns of their calls (and the recall index
rows), their follow-ups (callbacks, tasks, messages they left, intake forms they filled), scheduled calls to their
number and the attempts at them, and their PIN. Call records stay, for the business's counts, but lose who and why
(caller, URI, display name, claimed identity, purpose).

A call "of" a caller is one keyed to them (`caller_user`) or, when its identity was not verified, one that claimed
their number (`claimed_user`): the operator's `employai memory forget` erases both. Only a verified caller can
reach `forget` by voice, so a claim alone never erases anybody.
"""

from __future__ import annotations

import time

from .database import Database

_ANONYMISE = ("caller_user = '', remote_uri = '', display_name = '', claimed_user = '', purpose = NULL")
_FINISHED = "('done', 'failed', 'cancelled')"


def forget_caller(db: Database, caller_user: str) -> dict[str, int]:
    """Erase everything about `caller_user` in one transaction; returns the rows erased per kind."""
    if not caller_user:
        return {}
    c = (caller_user,)
    erased: dict[str, int] = {}
    with db.transaction():
        db.execute("CREATE TEMP TABLE IF NOT EXISTS forget_calls (id INTEGER PRIMARY KEY)")
        db.execute("DELETE FROM forget_calls")
        db.execute("INSERT INTO forget_calls SELECT id FROM calls WHERE caller_user = ?"
                   " OR (caller_user = '' AND claimed_user = ?)", c * 2)
        erased["core_blocks"] = db.execute("DELETE FROM core_blocks WHERE caller_user = ?", c).rowcount
        erased["passages"] = db.execute("DELETE FROM passages WHERE scope = 'caller' AND caller_user = ?",
                                        c).rowcount
        erased["turns"] = db.execute("DELETE FROM turns WHERE call_id IN (SELECT id FROM forget_calls)").rowcount
        # Index rows of turns filed under the caller elsewhere (the trigger removed those of the deleted turns).
        db.forget_recall(caller_user)
        scheduled = ("SELECT id FROM scheduled_calls WHERE uri_user(uri) = ? OR followup_id IN"
                     " (SELECT id FROM followups WHERE caller_user = ? OR call_id IN (SELECT id FROM forget_calls))")
        db.execute(f"DELETE FROM call_attempts WHERE scheduled_id IN ({scheduled})", c * 2)
        erased["scheduled_calls"] = db.execute(f"DELETE FROM scheduled_calls WHERE id IN ({scheduled})",
                                               c * 2).rowcount
        erased["followups"] = db.execute("DELETE FROM followups WHERE caller_user = ?"
                                         " OR call_id IN (SELECT id FROM forget_calls)", c).rowcount
        erased["pins"] = db.execute("DELETE FROM caller_pins WHERE caller_user = ?", c).rowcount
        erased["calls_anonymised"] = db.execute(
            f"UPDATE calls SET {_ANONYMISE} WHERE id IN (SELECT id FROM forget_calls)").rowcount
        db.execute("DELETE FROM forget_calls")
    db.compact()
    return erased


def prune_records(db: Database, retention_days: float,
                  now: float | None = None) -> dict[str, int]:
    """Remove (or, for call records, anonymise) what is older than the retention period; rows touched per kind.

    Pending work is kept: a callback or a scheduled call still to be made is not old, however long ago it was
    asked for. A PIN goes when it was neither set nor used within the period."""
    if retention_days <= 0:
        return {}
    cutoff = (now if now is not None else time.time()) - retention_days * 86400
    old = (cutoff,)
    pruned: dict[str, int] = {}
    with db.transaction():
        pruned["turns"] = db.execute("DELETE FROM turns WHERE created_at < ?", old).rowcount
        pruned["core_blocks"] = db.execute("DELETE FROM core_blocks WHERE updated_at < ?", old).rowcount
        pruned["passages"] = db.execute("DELETE FROM passages WHERE scope = 'caller' AND created_at < ?",
                                        old).rowcount
        pruned["followups"] = db.execute(
            "DELETE FROM followups WHERE created_at < ? AND NOT (status = 'pending' AND kind = 'callback'"
            " AND COALESCE(due_at, 0) >= ?)", (cutoff, cutoff)).rowcount
        finished = f"SELECT id FROM scheduled_calls WHERE created_at < ? AND status IN {_FINISHED}"
        db.execute(f"DELETE FROM call_attempts WHERE scheduled_id IN ({finished})", old)
        pruned["scheduled_calls"] = db.execute(f"DELETE FROM scheduled_calls WHERE id IN ({finished})",
                                               old).rowcount
        pruned["pins"] = db.execute("DELETE FROM caller_pins WHERE updated_at < ? AND COALESCE(used_at, 0) < ?",
                                    (cutoff, cutoff)).rowcount
        pruned["calls_anonymised"] = db.execute(
            f"UPDATE calls SET {_ANONYMISE} WHERE started_at < ? AND NOT (caller_user = '' AND remote_uri = ''"
            " AND display_name = '' AND COALESCE(claimed_user, '') = '' AND purpose IS NULL)", old).rowcount
    if any(pruned.values()):
        db.compact()
    return pruned
