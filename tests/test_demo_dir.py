"""`policywatch demo --dir DIR` never replaces a record it did not make."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from policywatch.commands.context import UserError
from policywatch.commands.demo import refuse_foreign_record
from storage.db import make_engine, session_factory, transaction, upgrade
from storage.models import SourceFields
from storage.record import upsert_source


def record_with(db: Path, source_id: str) -> Path:
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    with transaction(session_factory(engine)) as session:
        upsert_source(session, SourceFields(id=source_id, vendor="V", title="T", document_type="Privacy Policy",
                                            language="en", urls=("http://127.0.0.1/p",)))
    engine.dispose()
    return db


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("content", ["someone's record", "not a database"])
def test_the_demo_refuses_a_directory_holding_another_record(tmp_path: Path, content: str) -> None:
    db = tmp_path / "policywatch.db"
    if content == "someone's record":
        record_with(db, "openai/privacy-policy")
    else:
        db.write_bytes(b"notes, not SQLite\n")
    before = digest(db)
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
    done = subprocess.run([sys.executable, "-m", "policywatch", "demo", "--dir", str(tmp_path)], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 2, done.stderr
    assert str(db) in done.stderr and "another --dir" in done.stderr
    assert digest(db) == before
    assert not (tmp_path / "sources.yaml").exists()  # nothing of the demo written either


def test_an_earlier_demos_record_may_be_replaced(tmp_path: Path) -> None:
    refuse_foreign_record(record_with(tmp_path / "policywatch.db", "nimbus/privacy-policy"))
    refuse_foreign_record(tmp_path / "absent.db")
    with pytest.raises(UserError, match="openai/x"):
        refuse_foreign_record(record_with(tmp_path / "other.db", "openai/x"))
