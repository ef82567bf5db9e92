"""Nothing is dialled that the business did not choose: the dial policy (the one choke point every outgoing INVITE
and REFER passes), callbacks only to a caller's verified number, capped and de-duplicated, and the PIN check that
lets an unverified caller prove who they are."""

from __future__ import annotations

import asyncio
import time

import pytest

from brain.switchboard import Directory
from employai.runtime.dial_policy import DialPolicy, callback_uri
from employai.runtime.identity import ASK_PIN, IdentityCheck, digits_in
from employai.runtime.scheduler import Scheduler
from memory.followups import Followup
from memory.transcripts import TranscriptStore
from sip_config.loader import config_from_dict
from telephony import SipError

pytestmark = pytest.mark.unit

CONFIG = config_from_dict({
    "registration": {"registrar": "sip:pbx.example:5080", "password": "x", "realm": "pbx.example"},
    "transfer": {"directory": [{"name": "Sales", "uri": "201"}, {"name": "Bob", "uri": "sip:bob@pbx.example"}]},
    "outbound": {"calling_hours": "00:00-24:00", "calling_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
})
DIRECTORY = Directory(CONFIG.transfer, CONFIG.registration.effective_domain)


@pytest.mark.parametrize("uri, purpose", [
    ("sip:201@pbx.example:5080", "transfer"), ("sip:bob@pbx.example", "transfer_leg"),
    ("sip:+15550101@pbx.example:5080", "scheduled")])
def test_the_policy_allows_directory_entries_and_scheduled_calls(uri, purpose):
    DialPolicy(DIRECTORY, lambda u: u == "sip:+15550101@pbx.example:5080").check(uri, purpose)


@pytest.mark.parametrize("uri, purpose", [
    ("sip:19005550123@pbx.example:5080", "transfer"),  # a premium number named in a REFER or by a caller
    ("sip:bob@pbx.example?Replaces=abc", "transfer"),  # an entry's URI with headers added
    ("sip:bob@evil.example", "transfer_leg"),
    ("sip:201@pbx.example:5080", "scheduled"),  # a directory entry, but no scheduled call to it is being placed
    ("sip:+15550101@pbx.example:5080", "callback"),  # no such purpose
    ("tel:+15550101", "scheduled"),
    ("sip:+15550101@pbx.example:5080\r\nX: y", "scheduled"),
])
def test_anything_else_is_refused(uri, purpose):
    with pytest.raises(SipError):
        DialPolicy(DIRECTORY, lambda u: "+15550101" in u).check(uri, purpose)


@pytest.mark.parametrize("number, domain, expected", [
    ("+15550101", "pbx.example:5080", "sip:+15550101@pbx.example:5080"),
    ("5550101", "pbx.example", "sip:5550101@pbx.example"),
    ("+15550101", "", None),  # no registrar: no trunk of ours, and never a host the caller named
    ("112", "pbx.example", None),  # short codes: emergency and premium services, extensions
    ("alice", "pbx.example", None),  # not a number
    ("+1555;x=y", "pbx.example", None),
    ("+15550101", "bad host", None),
])
def test_a_callback_uri_is_the_verified_number_alone_at_the_registrar(number, domain, expected):
    assert callback_uri(number, domain) == expected


def _request_callback(store: TranscriptStore, user: str, verified: bool, remote: str = "") -> int:
    call_id = store.start_call("inbound", remote or f"sip:{user}@pbx.example", user if verified else "",
                               claimed_user=user, verified=verified)
    return store.followups().add(user, call_id, Followup("call me back, and say the code is 1234", time.time()))


def test_callbacks_go_only_to_verified_numbers_capped_and_deduplicated(tmp_path):
    store = TranscriptStore(tmp_path / "t.sqlite3")
    scheduler = Scheduler(CONFIG, store, lambda context: None, CONFIG.registration.effective_domain)
    _request_callback(store, "+15550101", verified=True)
    _request_callback(store, "+15550101", verified=True)  # the same caller asks twice
    _request_callback(store, "+15550199", verified=False)  # a caller ID nobody vouched for
    _request_callback(store, "+15550102", verified=True, remote="sip:+15550102@evil.example?X-Dial=19005550123")
    scheduler._schedule_callbacks(time.time())
    uris = sorted(c.uri for c in store.schedule.listing())
    assert uris == ["sip:+15550101@pbx.example:5080", "sip:+15550102@pbx.example:5080"]
    assert all(c.task == CONFIG.outbound.callback_text for c in store.schedule.listing())
    statuses = sorted(row[0] for row in store._db.execute("SELECT status FROM followups"))
    assert statuses == ["duplicate", "no_number", "scheduled", "scheduled"]
    # Each callback done, the caller asks again and again: two a day (outbound.max_callbacks_per_caller).
    for _ in range(2):
        for call in store.schedule.listing():
            store._db.execute("UPDATE scheduled_calls SET status = 'done' WHERE id = ?", (call.id,))
        _request_callback(store, "+15550101", verified=True)
        scheduler._schedule_callbacks(time.time())
    to_alice = [c for c in store.schedule.listing(include_finished=True) if "+15550101" in c.uri]
    assert len(to_alice) == CONFIG.outbound.max_callbacks_per_caller
    assert "capped" in {row[0] for row in store._db.execute("SELECT status FROM followups")}
    store.close()


def _run(coroutine):
    return asyncio.run(coroutine)


class FakePins:
    def __init__(self, pins: dict[str, str]):
        self.pins, self.tries = dict(pins), 0

    def has_pin(self, user: str) -> bool:
        return user in self.pins

    def verify(self, user: str, pin: str) -> bool:
        self.tries += 1
        return self.pins.get(user) == pin

    def set(self, user: str, pin: str) -> None:
        self.pins[user] = pin


@pytest.mark.parametrize("said", ["Four four seven one.", "It's 4 4 7 1", "4471", "my pin is four, four, seven, one"])
def test_an_unverified_caller_asking_for_their_details_is_asked_for_the_pin_first(said):
    pins = FakePins({"+15550101": "4471"})
    check = IdentityCheck("+15550101", verified=False, pins=pins)
    assert check.user == ""  # unknown: no memory is read or written
    assert _run(check.answer("Can you remind me of my booking reference?")).say == ASK_PIN
    assert check.redact(said) != said and "4" not in check.redact(said)  # the PIN is never stored
    reply = _run(check.answer(said))
    assert reply.verified_now and check.user == "+15550101"


def test_a_wrong_pin_leaves_the_caller_unknown_and_a_verified_caller_can_set_one():
    pins = FakePins({"+15550101": "4471"})
    check = IdentityCheck("+15550101", verified=False, pins=pins)
    _run(check.answer("What do you have about me?"))
    assert not _run(check.answer("1234")).verified_now and check.user == ""
    assert _run(check.answer("Set my PIN please")).say == ASK_PIN  # prove it first
    owner = IdentityCheck("+15550177", verified=True, pins=pins)
    _run(owner.answer("I'd like to set a new PIN"))
    _run(owner.answer("8 3 5 2"))
    _run(owner.answer("8 3 5 2"))
    assert pins.pins["+15550177"] == "8352"
    assert digits_in("eight three five two") == "8352"


def test_a_withheld_number_cannot_verify_or_set_a_pin():
    check = IdentityCheck("", verified=True, pins=FakePins({}))
    assert not check.verified and _run(check.answer("what is my booking reference?")) is None
    assert "own number" in _run(check.answer("set my pin")).say


def test_every_identity_line_fits_a_reply_and_ends_with_its_question():
    """Replies are cut after llm.max_reply_sentences (2): a longer line would lose the question that tells the
    keypad to collect a PIN."""
    import re

    from employai.runtime import identity
    from employai.runtime.keypad import asked_number

    lines = [v for k, v in vars(identity).items() if k.isupper() and isinstance(v, str) and " " in v]
    assert len(lines) >= 8
    for line in lines:
        assert len(re.findall(r"[.?!](\s|$)", line)) <= 2, line
    for asking in (identity.ASK_PIN, identity.ASK_NEW_PIN, identity.ASK_AGAIN):
        assert asked_number(asking) in ("pin", "new pin"), asking


@pytest.mark.parametrize("pin, weak", [("0000", True), ("1234", True), ("9876", True), ("13579", False),
                                       ("2580", False), ("44711", False)])
def test_the_first_guesses_anyone_tries_cannot_be_a_pin(pin, weak):
    from memory.pins import weak_pin

    assert weak_pin(pin) is weak


def test_a_spoken_pin_split_or_carried_over_is_still_never_stored():
    check = IdentityCheck("+15550101", verified=False, pins=FakePins({"+15550101": "2580"}))
    _run(check.answer("What do you have about me?"))
    _run(check.answer("uh hang on two five eight zero"))  # earlier words carried over into the answered turn
    for part in ("two five eight zero", "two five"):  # the turn as recorded, or a part of it
        kept = check.redact(part).lower()
        assert not any(d in kept for d in ("2", "5", "8", "two", "five", "eight", "zero")), kept
