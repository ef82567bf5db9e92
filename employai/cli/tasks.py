"""`employai tasks [--all] [--json]`: what callers left for the staff (completed forms, messages, callbacks and
promised tasks) with their fields, call, caller and time; `--done ID` marks one done. Works on the database whether
or not the bot runs."""

from __future__ import annotations

import json
from datetime import datetime

from employai.runtime.storage import open_store
from memory.forms import Task
from memory.transcripts import TranscriptStore
from sip_config import Config


def run_tasks(args, config: Config) -> int:
    store = open_store(config)  # employai.runtime.storage loads no call runtime, only the store
    try:
        done = getattr(args, "done", None)  # `employai tasks --done ID`, when the parser offers it
        if done is not None:
            if not mark_task_done(store, done):
                print(f"employai: no task {done}")
                return 1
            print(f"Task {done} marked done.")
            return 0
        tasks = store.forms.tasks(include_done=args.all)
    finally:
        store.close()
    if args.json:
        print(json.dumps([task.as_json() for task in tasks], indent=1))
        return 0
    if not tasks:
        print("No tasks." if args.all else "No tasks waiting.")
    for task in tasks:
        print(_line(task))
        for key, value in task.values.items():
            print(f"        {key}: {value}")
    return 0


def mark_task_done(store: TranscriptStore, task_id: int) -> bool:
    """`employai tasks --done ID` and the console: False when there is no such task."""
    return store.forms.mark(task_id, "done")


def _line(task: Task) -> str:
    when = datetime.fromtimestamp(task.created_at)
    caller = task.caller_user or (f"caller ID {task.caller_id} (not verified)" if task.caller_id else "anonymous")
    call = f"call {task.call_id}" if task.call_id is not None else "no call"
    due = f"  (due {datetime.fromtimestamp(task.due_at):%Y-%m-%d %H:%M})" if task.due_at else ""
    return (f"{task.id:>4}  {task.kind:<8}  {task.status:<9}  {when:%Y-%m-%d %H:%M}  {call}  {caller}  "
            f"{task.title}{due}")
