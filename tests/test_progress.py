"""Progress of long CLI work: a tqdm bar on a terminal, and nothing but the plain result lines otherwise."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from employai.runtime.progress import progress, say, steps


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.unit
def test_no_bar_off_a_terminal_and_results_printed_as_they_were(capfd):
    assert list(progress(range(3), "work")) == [0, 1, 2]
    with steps(2, "loading") as loading:
        loading.update()
        loading.update()
    say("  call 1: 3 turns")
    out, err = capfd.readouterr()
    assert out == "  call 1: 3 turns\n" and err == ""


@pytest.mark.unit
def test_a_bar_on_a_terminal(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert list(progress(range(3), "hearing", unit="clip")) == [0, 1, 2]
    shown = terminal.getvalue()
    assert "hearing:" in shown and "/3 [" in shown and "clip/s" in shown  # drawn, then cleared (leave=False)


@pytest.mark.engine
def test_knowledge_add_over_several_files_prints_plain_lines_when_piped(tmp_path):
    config = tmp_path / "bot.toml"
    config.write_text(f'[data]\ndir = "{tmp_path}"\n')
    files = []
    for n in range(3):
        doc = tmp_path / f"doc{n}.md"
        doc.write_text("\n\n".join(f"Room {n}{i} is on floor {i}." for i in range(20)))
        files.append(str(doc))
    run = subprocess.run([sys.executable, "-m", "employai", "-c", str(config), "knowledge", "add", *files],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [f"doc{n}.md: 20 passages added to the knowledge base" for n in range(3)]
    assert "\r" not in run.stderr and "it/s" not in run.stderr and "passage/s" not in run.stderr


class _SoakedBot:
    """What the soak needs of the benchmark: this test process stands for the bot, each call takes 50 ms."""

    def pid(self) -> int:
        import os

        return os.getpid()

    def alive(self) -> bool:
        return True

    def dial(self, questions, tag, timeout=0.0):
        import time

        from employai.harness.bench_soak import DialResult

        time.sleep(0.05)
        return DialResult("completed", [0.5])


@pytest.mark.unit
def test_the_reliability_soak_prints_its_plain_lines_off_a_terminal(capfd):
    from employai.harness.bench_soak import run_soak

    soak = run_soak(_SoakedBot(), [], 0.03, 1)  # 1.8 s, one caller
    out, err = capfd.readouterr()
    assert err == "" and "\r" not in out
    lines = out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("  soak     0 s: rss ") and "calls done" in lines[0]
    assert soak["crash"] is None and soak["completed"] == soak["attempted"] > 10


@pytest.mark.unit
def test_the_reliability_soak_shows_a_bar_of_its_time_on_a_terminal(monkeypatch, capsys):
    from employai.harness.bench_soak import run_soak

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    run_soak(_SoakedBot(), [], 0.03, 1)
    shown = terminal.getvalue()
    assert "soak:" in shown and "/2 [" in shown and "s/s" in shown and "calls=" in shown
    assert capsys.readouterr().out.startswith("  soak     0 s: rss ")  # the result lines, on stdout as before
