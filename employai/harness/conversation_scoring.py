"""Scoring a scripted dialogue against what the bot did on the call: each caller turn by what the reply had to
contain or do, the dialogue by its outcome (the form stored with the right fields, the transfer to the right
entry, the message taken, the call closed by the bot). Generous on wording, strict on substance. Pure functions.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from employai.harness.conversation_calls import DialogueCall, StoredForm
from employai.harness.dialogues.script import Dialogue, FormCheck, Outcome

REPEAT_SIMILARITY = 0.6  # a repeated reply may be worded a little differently ("Sure: ..." first)


@dataclass(frozen=True)
class TurnScore:
    index: int
    caller: str  # what the script said or keyed
    heard: str  # what the bot transcribed
    expected: str
    got: str  # the bot's reply
    failures: tuple[str, ...]  # why it failed; empty when it passed

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class DialogueScore:
    name: str
    expected: str  # the outcome in words
    turns: tuple[TurnScore, ...]
    failures: tuple[str, ...]  # outcome checks that failed
    latencies: tuple[float, ...]  # voice to voice of its spoken turns (keys excluded)
    error: str = ""

    @property
    def passed(self) -> bool:
        return not self.failures and not self.error

    def report(self) -> str:
        """Every failure of the dialogue, for a developer (or an assertion message)."""
        lines = [f"{self.name}: {'passed' if self.passed else 'FAILED'} (expected: {self.expected})"]
        lines += [f"  error: {self.error}"] if self.error else []
        lines += [f"  outcome: {f}" for f in self.failures]
        for t in self.turns:
            if not t.passed:
                lines.append(f"  turn {t.index + 1} said {t.caller!r}, heard {t.heard!r}\n"
                             f"      expected: {t.expected}; got {t.got!r}\n      why: {'; '.join(t.failures)}")
        return "\n".join(lines)


def _found(pattern: str, text: str) -> bool:
    return re.search(pattern, text, re.IGNORECASE) is not None


def _plain(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def repeated(reply: str, previous: str) -> bool:
    a, b = _plain(reply), _plain(previous)
    if not a or not b:
        return False
    return b in a or difflib.SequenceMatcher(None, a, b).ratio() >= REPEAT_SIMILARITY


def _transferred(call: DialogueCall, entry: str) -> bool:
    return call.transferred_to.lower().startswith(entry.lower())


def score_turn(dialogue: Dialogue, call: DialogueCall, index: int) -> TurnScore:
    turn = dialogue.turns[index]
    expect = turn.expect
    shown = turn.keys or turn.text
    if index >= len(call.turns):
        why = "not played: the call had ended" if call.turns or not call.error else call.error
        return TurnScore(index, shown, "", expect.what, "", (why,))
    played = call.turns[index]
    reply = played.reply
    failures = []
    if not reply.strip():
        failures.append("no reply")
    failures += [f"missing /{p}/" for p in expect.says if reply.strip() and not _found(p, reply)]
    failures += [f"said /{p}/" for p in expect.avoid if _found(p, reply)]
    if expect.repeats:
        previous = call.turns[index - 1].reply if index else call.greeting
        if reply.strip() and not repeated(reply, previous):
            failures.append(f"did not repeat {previous!r}")
    if expect.hangs_up and not (call.ended_by == "bot" and index == len(call.turns) - 1):
        failures.append("the bot did not hang up")
    if expect.transfers_to and not _transferred(call, expect.transfers_to):
        failures.append(f"no transfer to {expect.transfers_to} (recorded: {call.transferred_to or 'none'})")
    return TurnScore(index, shown, played.heard, expect.what, reply, tuple(failures))


def _value_matches(pattern: str, value: str) -> bool:
    if pattern.startswith("digits:"):
        return re.sub(r"\D", "", value) == pattern.removeprefix("digits:")
    return _found(pattern, value)


def _form_misses(check: FormCheck, form: StoredForm) -> list[str]:
    if not _found(check.form, form.name):
        return [f"form {form.name!r} is not /{check.form}/"]
    return [f"{key} /{pattern}/" for key, pattern in check.fields.items()
            if not any(_found(key, k) and _value_matches(pattern, v) for k, v in form.values.items())]


def _show(forms: tuple[StoredForm, ...]) -> str:
    return "; ".join(f"{f.name}: {f.values}" for f in forms) or "none"


def outcome_failures(outcome: Outcome, call: DialogueCall, turns: tuple[TurnScore, ...]) -> list[str]:
    failures = []
    if outcome.form is not None:
        misses = [_form_misses(outcome.form, f) for f in call.forms]
        if not any(not m for m in misses):
            closest = min(misses, key=len) if misses else ["nothing stored"]
            failures.append(f"form /{outcome.form.form}/ not stored right: {', '.join(closest)}"
                            f" (stored: {_show(call.forms)})")
    if outcome.no_form and (call.forms or call.messages):
        failures.append(f"a form was stored: {_show(call.forms)} {list(call.messages)}")
    if outcome.transfer and not _transferred(call, outcome.transfer):
        failures.append(f"no transfer to {outcome.transfer} (recorded: {call.transferred_to or 'none'})")
    if outcome.no_transfer and call.transferred_to:
        failures.append(f"an unwanted transfer: {call.transferred_to}")
    if outcome.message_for and not _message_taken(outcome.message_for, call):
        failures.append(f"no message for /{outcome.message_for}/ (stored: {_show(call.forms)}"
                        f" {list(call.messages)})")
    if outcome.closed and call.ended_by != "bot":
        failures.append(f"the bot did not close the call (ended by {call.ended_by or 'nobody'},"
                        f" reason {call.end_reason or 'none'})")
    if outcome.answered and not all(t.passed for t in turns):
        failures.append(f"{sum(not t.passed for t in turns)} of {len(turns)} answers wrong")
    return failures


def _message_taken(whom: str, call: DialogueCall) -> bool:
    for form in call.forms:
        if _found("message", form.name) and any(_found(r"whom|for|recipient|to\b", k) and _found(whom, v)
                                                 for k, v in form.values.items()):
            return True
    return any(_found(whom, m) for m in call.messages)


def score_dialogue(dialogue: Dialogue, call: DialogueCall) -> DialogueScore:
    turns = tuple(score_turn(dialogue, call, i) for i in range(len(dialogue.turns)))
    latencies = tuple(t.latency_s for t in call.turns if t.kind == "speech" and t.latency_s is not None)
    return DialogueScore(dialogue.name, dialogue.outcome.describe(), turns,
                         tuple(outcome_failures(dialogue.outcome, call, turns)), latencies, call.error)
