"""The API shares SQLite with the monitor, bots and notifier of `wbsupply up`: their writes must not fail it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from apihelpers import PASSWORD
from sqlalchemy import Engine, text

from wbsupply.store import begin_immediate


def hold_write_lock(engine: Engine, seconds: float, started: threading.Event) -> None:
    """Another component writing: takes the write lock, writes, holds it a moment, commits."""
    with begin_immediate(engine).begin() as connection:
        connection.execute(text("UPDATE users SET active = active"))
        started.set()
        time.sleep(seconds)


def test_a_login_that_writes_waits_for_another_writer_instead_of_failing(
    make_person: Callable, engine: Engine
) -> None:
    person = make_person(login=False)
    for attempt in range(3):
        started = threading.Event()
        writer = threading.Thread(target=hold_write_lock, args=(engine, 0.5, started))
        writer.start()
        started.wait(5)
        # A wrong password reads the user, then records the failure: a read-then-write request.
        wrong = person.client.post("/api/v1/auth/login", json={"email": person.email, "password": f"nope{attempt}"})
        writer.join()
        assert wrong.status_code == 401, wrong.text
    right = person.client.post("/api/v1/auth/login", json={"email": person.email, "password": PASSWORD})
    assert right.status_code == 200, right.text


def test_tokens_are_issued_while_other_components_keep_writing(make_person: Callable, engine: Engine) -> None:
    """Issuing a token reads the live tokens, then writes one: on SQLite that must hold the write lock from
    the start, or a writer committing in between turns the request into a 500 ("database is locked")."""
    person = make_person(login=False)
    stop = threading.Event()

    def keep_writing() -> None:  # the bots and the notifier of `wbsupply up`: many short write transactions
        while not stop.is_set():
            with begin_immediate(engine).begin() as connection:
                connection.execute(text("UPDATE users SET active = active"))

    writers = [threading.Thread(target=keep_writing) for _ in range(2)]
    for writer in writers:
        writer.start()
    try:
        answers = [person.client.post("/api/v1/auth/token", json={"email": person.email, "password": PASSWORD,
                                                                    "name": f"t{n}"}).status_code
                   for n in range(22)]
    finally:
        stop.set()
        for writer in writers:
            writer.join()
    assert answers.count(200) == 20 and answers.count(409) == 2, answers  # 20 live tokens at most, then refused
