"""The console in a real headless Chromium (Debian chromium + chromium-driver through Selenium) against one real
bot: a baresip call shows among the live calls with its transcript growing, then in the history with per-turn
latency by stage; forgetting the caller in the console leaves `employai memory show` empty; a call scheduled in
the console is placed to a SIPp callee; /metrics, parsed by prometheus_client's own parser, counts the calls made.
A screenshot of each page is kept under $EMPLOYAI_TEST_ARTIFACTS (default tests/artifacts/console)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.request
import wave
from pathlib import Path

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from .pbx import SippServer
from .peers import baresip_call, free_udp_port, sipp, start_bot, to_phone_wav
from .sipp_scenarios import callee_scenario, caller_scenario, pause, take_refer, write

pytestmark = pytest.mark.sip

ARTIFACTS = Path(os.environ.get("EMPLOYAI_TEST_ARTIFACTS", Path(__file__).parent / "artifacts")) / "console"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CONFIG = """
[outbound]
calling_hours = "00:00-24:00"
calling_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
max_attempts = 1
ring_timeout_s = 8

[call]
silence_prompt_s = 3.0
silence_hangup_s = 6.0

[recording]
enabled = true
announcement = "This call is recorded."

[[transfer.directory]]
name = "Operator"
uri = "sip:operator@127.0.0.1:5998"
"""
LEAD_S = 7.0  # the caller waits for the announcement and the greeting before speaking


@pytest.fixture(scope="module")
def console_bot(tmp_path_factory):
    for tool in ("baresip", "sipp", "sox"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: `make test` installs the Debian test peers")
    process = start_bot(tmp_path_factory.mktemp("console-bot"), CONFIG)
    assert process.console_url.startswith("http://127.0.0.1:"), process.log()
    yield process
    assert process.stop() == 0
    assert "Traceback" not in process.log(), process.log()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            pytest.fail(f"{path} is missing: `make test` installs Debian's chromium and chromium-driver")
    profile = tempfile.mkdtemp(prefix="employai-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM  # with the driver's path below, Selenium Manager has nothing to download
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1200,900"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # to see what the CSP blocked, if anything
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _shot(driver, name: str) -> None:
    """Keep a screenshot of the page, which must have loaded with nothing blocked by the console's CSP."""
    assert driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    blocked = [e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"]]
    assert not blocked, (name, blocked)


def _text(driver, css: str) -> str:
    """An element's text; read again when the page reloaded under it (the knowledge page refreshes itself while
    a document is being added), and waited for (up to 10 s) while the page a click asked for is still loading."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + 10
    while True:
        try:
            return driver.find_element(By.CSS_SELECTOR, css).text
        except (StaleElementReferenceException, NoSuchElementException):
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


def _click(driver, element) -> None:
    """Click a link or a form's button and wait (up to 15 s) until the page it asked for has replaced this one:
    the old page's root goes stale and the new one has loaded. Reading the page straight after a click can
    otherwise read the old page (seen on a clean-clone run: a removed document still listed)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element(By.TAG_NAME, "html")
    element.click()
    wait = WebDriverWait(driver, 15)
    wait.until(expected_conditions.staleness_of(old))
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")


def _call_in_thread(bot, say, tmp_path) -> threading.Thread:
    question = to_phone_wav(say("What are your opening hours?"), tmp_path / "q.wav", LEAD_S, 8)
    thread = threading.Thread(target=baresip_call, args=(bot.uri, question, tmp_path / "baresip", 20), daemon=True)
    thread.start()
    return thread


def test_a_call_is_seen_live_then_in_the_history_with_its_latencies(console_bot, browser, say, tmp_path):
    from selenium.webdriver.common.by import By

    call = _call_in_thread(console_bot, say, tmp_path)
    seen: list[int] = []  # turns shown on the live page, poll after poll
    deadline = time.monotonic() + 40
    while call.is_alive() and time.monotonic() < deadline:
        browser.get(console_bot.console_url + "/live")
        turns = browser.find_elements(By.CSS_SELECTOR, ".live-call .transcript li.caller, .live-call li.bot")
        if turns and "caller" in _text(browser, ".live-call h2"):
            if not seen or len(turns) > seen[-1]:
                seen.append(len(turns))
                _shot(browser, "live")
        time.sleep(0.5)
    call.join(40)
    assert not call.is_alive()
    assert len(seen) >= 2, f"the live transcript did not grow: {seen}"

    browser.get(console_bot.console_url + "/calls?caller=caller")
    rows = browser.find_elements(By.CSS_SELECTOR, "#calls tr td:first-child a")
    assert len(rows) == 1, browser.page_source
    _shot(browser, "history")
    _click(browser, rows[0])
    transcript = _text(browser, ".transcript")
    assert "opening hours" in transcript.lower() and "how can i help" in transcript.lower(), transcript
    totals = [int(m) for m in re.findall(r"(\d+) ms", _text(browser, "#latencies"))]
    assert totals and all(0 < ms < 30000 for ms in totals), totals
    bars = browser.find_elements(By.CSS_SELECTOR, "#latency rect")
    stages = {bar.get_attribute("class") for bar in bars}
    assert {"stage-stt", "stage-first_token", "stage-first_audio", "stage-first_frame"} <= stages, stages
    _shot(browser, "call")
    assert browser.find_element(By.ID, "recording").get_attribute("src").endswith("/recordings/1.wav")
    _check_recording(console_bot, tmp_path / "call.wav")


def _loud(channel: np.ndarray) -> np.ndarray:
    """Seconds (20 ms steps) where a channel is louder than line noise."""
    frames = channel[: len(channel) // 320 * 320].reshape(-1, 320).astype(np.int32)
    return np.flatnonzero(np.abs(frames).max(axis=1) > 2000) * 0.02


def _check_recording(bot, path: Path) -> None:
    with urllib.request.urlopen(bot.console_url + "/recordings/1.wav", timeout=10) as response:
        path.write_bytes(response.read())
    with wave.open(str(path)) as wav:
        assert wav.getnchannels() == 2 and wav.getframerate() == 16000
        stereo = np.frombuffer(wav.readframes(wav.getnframes()), np.int16).reshape(-1, 2)
    call = bot.calls()[0]
    assert abs(len(stereo) / 16000 - (call["ended_at"] - call["started_at"])) < 3
    caller, bot_side = _loud(stereo[:, 0]), _loud(stereo[:, 1])
    assert bot_side.size and bot_side[0] < 1.0  # the announcement, at once
    assert caller.size and LEAD_S - 1.5 < caller[0] < LEAD_S + 1.5, caller[:5]  # the question, when it was asked
    assert (bot_side > caller[0] + 1.0).any()  # the answer, after it


def test_forgetting_a_caller_in_the_console_leaves_memory_show_empty(console_bot, browser):
    from selenium.webdriver.common.by import By

    assert "calls: 1" in console_bot.cli("memory", "show", "caller").stdout
    browser.get(console_bot.console_url + "/memory")
    _shot(browser, "memory")
    _click(browser, browser.find_element(By.LINK_TEXT, "caller"))
    assert "opening hours" in _text(browser, ".transcript").lower()
    form = browser.find_element(By.ID, "new-fact")  # an operator's correction, as `employai memory set` makes it
    form.find_element(By.NAME, "key").send_keys("email")
    form.find_element(By.NAME, "value").send_keys("caller@example.org")
    _click(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "saved" in _text(browser, "#saved")
    assert "email: caller@example.org" in console_bot.cli("memory", "show", "caller").stdout
    _shot(browser, "caller")
    _click(browser, browser.find_element(By.ID, "forget"))
    _shot(browser, "forget")
    _click(browser, browser.find_element(By.ID, "confirm-forget"))
    assert "forgotten" in _text(browser, "#forgotten")
    shown = console_bot.cli("memory", "show", "caller")
    assert shown.returncode == 0 and "calls: 0" in shown.stdout and "opening hours" not in shown.stdout, shown.stdout
    assert "] caller:" not in shown.stdout and "] bot:" not in shown.stdout
    assert "caller" not in _text(browser, "#callers")
    with pytest.raises(urllib.error.HTTPError) as gone:  # the recording went with the rest
        urllib.request.urlopen(console_bot.console_url + "/recordings/1.wav", timeout=10)
    assert gone.value.code == 404
    action = [line for line in console_bot.log().splitlines() if "operator action" in line]
    assert action and "action='forget_caller'" in action[-1] and "user" not in action[-1], action


def test_the_operator_hangs_up_a_live_call(console_bot, browser, say, tmp_path):
    from selenium.webdriver.common.by import By

    question = to_phone_wav(say("I would like to book a visit please."), tmp_path / "q.wav", 5.0, 12)
    call = threading.Thread(target=baresip_call, args=(console_bot.uri, question, tmp_path / "baresip", 20),
                            kwargs={"user": "hangup"}, daemon=True)
    call.start()
    deadline = time.monotonic() + 20
    buttons = []
    while not buttons and time.monotonic() < deadline:
        browser.get(console_bot.console_url + "/live")
        buttons = browser.find_elements(By.CSS_SELECTOR, "button.hang-up")
        time.sleep(0.3)
    assert buttons, "the call never showed on the live page"
    _shot(browser, "live-hang-up")
    clicked = time.time()
    _click(browser, buttons[0])
    call.join(30)
    assert not call.is_alive()
    ended = [c for c in console_bot.calls() if c["caller_user"] == "hangup"]
    assert len(ended) == 1 and ended[0]["end_reason"] == "operator_hangup", [dict(c) for c in ended]
    assert ended[0]["ended_at"] - clicked < 12  # a goodbye, then BYE (the caller would talk on for 17 s)
    turns = console_bot.turns(ended[0]["id"])
    assert turns[-1]["role"] == "bot" and "have to go" in turns[-1]["text"], [dict(t) for t in turns]


def test_the_operator_transfers_a_live_call_to_a_directory_entry(console_bot, browser, tmp_path):
    """The REFER names the directory entry's URI; the SIPp caller accepts it and reports the far end answered."""
    from selenium.webdriver.common.by import By

    scenario = caller_scenario(pause(1000) + take_refer(r"sip:operator@127\.0\.0\.1:5998", timeout_ms=30000),
                               bot_hangs_up=True, caller="+15550140")
    ran: list = []
    call = threading.Thread(target=lambda: ran.append(sipp(write(tmp_path / "caller.xml", scenario),
                                                           f"127.0.0.1:{console_bot.port}", tmp_path,
                                                           ["-s", "employai"], timeout=50)), daemon=True)
    call.start()
    deadline = time.monotonic() + 20
    buttons = []
    while not buttons and time.monotonic() < deadline:
        browser.get(console_bot.console_url + "/live")
        buttons = browser.find_elements(By.CSS_SELECTOR, "button.transfer-to[value=Operator]")
        time.sleep(0.3)
    assert buttons, "the call never showed on the live page with the directory's names"
    _shot(browser, "live-transfer")
    _click(browser, buttons[0])
    call.join(60)
    assert ran and ran[0].returncode == 0, (ran[0].stdout[-3000:] if ran else "sipp did not end")
    record = [c for c in console_bot.calls() if c["claimed_user"] == "+15550140"][-1]
    assert record["end_reason"] == "transferred", dict(record)
    assert record["transferred_to"].startswith("Operator <sip:operator@127.0.0.1:5998> (joined 200")
    said = [t["text"] for t in console_bot.turns(record["id"]) if t["role"] == "bot"]
    assert any("put you through to Operator" in t for t in said), said
    action = [line for line in console_bot.log().splitlines() if "action='transfer_call'" in line]
    assert action and "changed=True" in action[-1] and "15550140" not in action[-1], action


def test_a_call_scheduled_in_the_console_is_placed_to_a_sipp_callee(console_bot, browser, tmp_path):
    from selenium.webdriver.common.by import By

    port = free_udp_port()
    callee = SippServer(write(tmp_path / "callee.xml", callee_scenario("answer", ring_ms=300)), tmp_path, port=port)
    browser.get(console_bot.console_url + "/scheduled")
    form = browser.find_element(By.ID, "schedule")
    form.find_element(By.NAME, "target").send_keys(f"sip:+15550177@127.0.0.1:{port}")
    form.find_element(By.NAME, "task").send_keys("confirm the visit on Friday")
    _click(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "confirm the visit on Friday" in _text(browser, "#scheduled")
    rc, out = callee.wait(60)
    assert rc == 0, out
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        browser.get(console_bot.console_url + "/scheduled")
        if "1: answered" in _text(browser, "#scheduled .outcomes"):
            break
        time.sleep(0.5)
    assert "1: answered" in _text(browser, "#scheduled .outcomes"), _text(browser, "#scheduled")
    assert _text(browser, "#scheduled .status") == "done"
    _shot(browser, "scheduled")
    call = [c for c in console_bot.calls() if c["direction"] == "outbound"][-1]
    assert call["purpose"] == "confirm the visit on Friday" and call["scheduled_id"] == 1


def _rebuilt(bot, documents: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        lines = [line for line in bot.log().splitlines() if "speech-to-text prompt rebuilt" in line]
        if lines and documents in lines[-1]:
            return
        time.sleep(0.1)
    raise AssertionError(f"the speech prompt was not rebuilt ({documents}):\n{bot.log()[-3000:]}")


def test_a_document_is_added_with_progress_and_removed_in_the_knowledge_page(console_bot, browser, tmp_path):
    from selenium.webdriver.common.by import By

    doc = tmp_path / "parking.md"
    doc.write_text("# Parking\n\n" + "\n\n".join(f"Car park {i} opens at {i} in the morning." for i in range(1, 41)))
    browser.get(console_bot.console_url + "/knowledge")
    form = browser.find_element(By.ID, "add-document")
    form.find_element(By.NAME, "file").send_keys(str(doc))
    _click(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    shown, deadline = [], time.monotonic() + 60
    while "added, 40 passages" not in (shown or [""])[-1] and time.monotonic() < deadline:
        shown.append(_text(browser, "#jobs") if browser.find_elements(By.ID, "jobs") else "")
        if "passages embedded" in shown[-1]:
            _shot(browser, "knowledge-progress")
        time.sleep(0.2)
        browser.refresh()
    assert "added, 40 passages" in shown[-1], shown
    assert "parking.md" in _text(browser, "#documents")
    _shot(browser, "knowledge")
    assert "parking.md: 40 passages" in console_bot.cli("knowledge", "list").stdout
    _rebuilt(console_bot, "documents=1")  # the document's words are in the bot's speech-to-text prompt
    row = [r for r in browser.find_elements(By.CSS_SELECTOR, "#documents tr") if "parking.md" in r.text][0]
    _click(browser, row.find_element(By.CSS_SELECTOR, "button.remove"))
    assert "parking.md" not in _text(browser, "#documents")
    assert "parking.md" not in console_bot.cli("knowledge", "list").stdout
    _rebuilt(console_bot, "documents=0")  # and out of it again
    bad = tmp_path / "notes.docx"
    bad.write_bytes(b"PK\x03\x04")
    browser.find_element(By.NAME, "file").send_keys(str(bad))
    _click(browser, browser.find_element(By.CSS_SELECTOR, "#add-document button[type=submit]"))
    assert "Only .txt, .md and .pdf files can be added" in _text(browser, "#problem")


def test_tasks_and_status_pages_mask_secrets(console_bot, browser):
    browser.get(console_bot.console_url + "/tasks")
    assert "No tasks waiting." in _text(browser, "#tasks")
    _shot(browser, "tasks")
    browser.get(console_bot.console_url + "/status")
    assert _text(browser, "#registration .state") == "off"
    assert "registration.password" in _text(browser, "#config")
    _shot(browser, "status")


def test_metrics_count_the_calls_made(console_bot):
    with urllib.request.urlopen(console_bot.console_url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    ended = {}
    for sample in families["employai_calls"].samples:
        if sample.name == "employai_calls_total":
            ended[sample.labels["direction"]] = ended.get(sample.labels["direction"], 0) + sample.value
    made = {}
    for call in console_bot.calls():
        made[call["direction"]] = made.get(call["direction"], 0) + 1
    assert ended == made == {"inbound": 3, "outbound": 1}, (ended, made)
    hung_up = [s.value for s in families["employai_calls"].samples
               if s.name == "employai_calls_total" and s.labels["end_reason"] == "operator_hangup"]
    assert hung_up == [1]
    assert families["employai_active_calls"].samples[0].value == 0
    latency = {s.name: s.value for s in families["employai_turn_latency_seconds"].samples}
    assert latency["employai_turn_latency_seconds_count"] >= 1
    stages = {s.labels["stage"]: s.value for s in families["employai_turn_stage_seconds"].samples
              if s.name.endswith("_count")}
    assert all(stages[stage] >= 1 for stage in ("stt", "first_token", "first_audio", "first_frame")), stages
    attempts = {s.labels["outcome"]: s.value for s in families["employai_scheduled_call_attempts"].samples
                if s.name.endswith("_total")}
    assert attempts == {"answered": 1}
    registration = {s.labels["state"]: s.value for s in families["employai_registration_state"].samples}
    assert registration["off"] == 1 and sum(registration.values()) == 1
    assert families["employai_database_size_bytes"].samples[0].value > 0
    assert families["employai_engine_jobs"].samples[0].value > 0
