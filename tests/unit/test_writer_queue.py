"""SQLite writers queue on an ``flock`` before SQLite's own lock: in turn, across forks and kills."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from notary.errors import Unavailable
from notary.storage.db import Database, WriterQueue


@pytest.fixture
def db(tmp_path: Path):
    database = Database(f"sqlite:///{tmp_path / 'queue.db'}")
    with database.write() as session:
        session.execute(text("CREATE TABLE turns (who TEXT, at REAL)"))
    yield database
    database.dispose()


def test_only_sqlite_files_queue(tmp_path: Path):
    assert Database(f"sqlite:///{tmp_path / 'a.db'}").writers is not None
    assert Database("sqlite://").writers is None  # in memory: one connection, nothing to share


def test_threads_write_in_turn_and_all_commit(db: Database):
    inside = []
    overlaps = []

    def writer(name: str) -> None:
        for _ in range(20):
            with db.write() as session:
                inside.append(name)
                if len(inside) > 1:
                    overlaps.append(tuple(inside))
                session.execute(text("INSERT INTO turns VALUES (:who, 0)"), {"who": name})
                time.sleep(0.001)
                inside.remove(name)

    threads = [threading.Thread(target=writer, args=(f"t{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []
    with db.read() as session:
        assert session.execute(text("SELECT count(*) FROM turns")).scalar_one() == 80


def test_a_failed_transaction_gives_its_turn_up(db: Database):
    def failing_request() -> None:
        with db.write() as session:
            session.execute(text("INSERT INTO turns VALUES ('lost', 0)"))
            raise RuntimeError("the request failed")

    with pytest.raises(RuntimeError):
        failing_request()
    with db.write() as session:  # would wait for ever if the turn were still held
        session.execute(text("INSERT INTO turns VALUES ('next', 0)"))
    with db.read() as session:
        assert session.execute(text("SELECT who FROM turns")).scalars().all() == ["next"]


def test_a_nested_write_fails_instead_of_hanging(db: Database):
    assert db.writers is not None
    db.writers.timeout = 0.2
    with db.write(), pytest.raises(Unavailable, match="busy"), db.write():
        pass


def _hold_turn(database_url: str, held: multiprocessing.synchronize.Event, seconds: float) -> None:
    database = Database(database_url)
    with database.write() as session:
        session.execute(text("INSERT INTO turns VALUES ('child', 0)"))
        held.set()
        time.sleep(seconds)


def _child_holding_the_turn(db: Database, seconds: float) -> multiprocessing.process.BaseProcess:
    """A process that holds ``db``'s turn to write for ``seconds``, started and holding it."""
    context = multiprocessing.get_context("spawn")
    held = context.Event()
    child = context.Process(target=_hold_turn, args=(db.url, held, seconds))
    child.start()
    assert held.wait(30)
    return child


def test_another_process_waits_for_the_turn(db: Database):
    child = _child_holding_the_turn(db, 1.0)
    started = time.monotonic()
    with db.write() as session:
        waited = time.monotonic() - started
        session.execute(text("INSERT INTO turns VALUES ('parent', 0)"))
    child.join(30)
    assert waited > 0.2
    with db.read() as session:
        assert session.execute(text("SELECT who FROM turns")).scalars().all() == ["child", "parent"]


def test_a_writer_kept_waiting_by_another_process_gives_up_at_the_timeout(db: Database):
    assert db.writers is not None
    db.writers.timeout = 0.5
    child = _child_holding_the_turn(db, 3.0)
    started = time.monotonic()
    with pytest.raises(Unavailable, match="busy"), db.write():
        pass
    assert 0.4 < time.monotonic() - started < 2.5
    child.join(30)


def test_a_forked_child_queues_on_its_own(db: Database):
    # The child inherits the parent's Database (and its open lock file): it must not think it
    # holds the parent's turn.
    with db.write() as session:
        session.execute(text("INSERT INTO turns VALUES ('warm', 0)"))  # the parent's file is open
    ready_read, ready_write = os.pipe()
    with db.write():
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            os.close(ready_read)
            os.write(ready_write, b"x")
            started = time.monotonic()
            try:
                with db.write() as session:
                    waited = time.monotonic() - started
                    session.execute(text("INSERT INTO turns VALUES ('child', :at)"), {"at": waited})
            finally:
                os._exit(0)
        os.close(ready_write)
        os.read(ready_read, 1)
        time.sleep(1.0)
    os.waitpid(pid, 0)
    with db.read() as session:
        (waited,) = session.execute(text("SELECT at FROM turns WHERE who = 'child'")).one()
    assert waited > 0.2


def test_a_forked_child_does_not_share_the_parents_turn(tmp_path: Path):
    queue = WriterQueue(str(tmp_path / "bare-writers"))
    queue.timeout = 5
    result_read, result_write = os.pipe()
    with queue.turn():  # held by this thread of the parent, at the fork
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            started = time.monotonic()
            try:
                with queue.turn():
                    os.write(result_write, f"{time.monotonic() - started:.3f}".encode())
            except Exception as exc:
                os.write(result_write, repr(exc).encode())
            finally:
                os._exit(0)
        os.close(result_write)
        time.sleep(1.0)
    os.waitpid(pid, 0)
    queue.close()
    with os.fdopen(result_read, "rb") as result:
        answer = result.read().decode()
    # Not at once (that would be the parent's turn, shared) and not an error (the parent's
    # thread lock, inherited held): after the parent let go.
    assert 0.3 < float(answer) < 5, answer


def test_a_killed_holder_lets_the_next_write(db: Database):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from sqlalchemy import text; from notary.storage.db import Database\n"
            "db = Database(sys.argv[1])\n"
            "with db.write() as s:\n"
            "    s.execute(text(\"INSERT INTO turns VALUES ('killed', 0)\"))\n"
            "    print('held', flush=True); time.sleep(60)\n",
            db.url,
        ],
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None
    with holder.stdout:
        assert holder.stdout.readline().strip() == b"held"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    started = time.monotonic()
    with db.write() as session:
        session.execute(text("INSERT INTO turns VALUES ('next', 0)"))
    assert time.monotonic() - started < 5
    with db.read() as session:  # the killed one's transaction never committed
        assert session.execute(text("SELECT who FROM turns")).scalars().all() == ["next"]


def test_the_queue_file_sits_beside_the_database(tmp_path: Path):
    database = Database(f"sqlite:///{tmp_path / 'beside.db'}")
    with database.write() as session:
        session.execute(text("SELECT 1"))
    assert (tmp_path / "beside.db-writers").exists()
    assert isinstance(database.writers, WriterQueue)
    database.dispose()


def test_a_queue_nobody_closed_lets_go_of_its_lock_file_quietly(tmp_path: Path):
    """A Database left unclosed (a CLI run, a test's second runtime) used to leave its lock file
    to the collector, whose ResourceWarning then failed whichever test happened to be running."""
    import gc
    import warnings

    queue = WriterQueue(str(tmp_path / "db.lock"))
    with queue.turn():
        fd = queue._fd
    assert fd is not None
    os.fstat(fd)  # open while the queue lives
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        del queue
        gc.collect()
    with pytest.raises(OSError):
        os.fstat(fd)  # closed with the queue
