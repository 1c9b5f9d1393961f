"""Importing an Open Terms Archive versions repository: a git checkout whose history holds one commit per
recorded version of each document (`<Service>/<Document type>.md`), authored at the time OTA fetched it.

Each commit that added or changed the document becomes one import entry
(already-extracted Markdown, still filtered and normalised by the source's
rules), through the importer and the fetch guard like any saved page. The
snapshot's URL names the commit: the repository's GitHub page of the file at
that commit when its origin is on GitHub, else the checkout's file URL with
the commit as fragment.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.orm import Session, sessionmaker

from analysis.errors import UserInputError
from ingest.claims import ClaimsPlan
from ingest.declarations import Source
from ingest.importer import ImportReport, import_manifest
from ingest.judge import GuardPolicy
from storage.times import parse_time

GIT_TIMEOUT = 120
TECHNICAL_SUBJECT = re.compile(r"^(Apply technical|Apply declaration|Update declaration)", re.I)


class OtaError(UserInputError):
    pass


@dataclass(frozen=True)
class OtaVersion:
    commit: str
    at: datetime
    subject: str

    @property
    def technical(self) -> bool:
        """OTA's own re-extraction (its declaration or engine changed), not a change it saw on the page."""
        return bool(TECHNICAL_SUBJECT.match(self.subject))


@dataclass(frozen=True)
class OtaImport:
    versions: list[OtaVersion]
    report: ImportReport


def _git(repo: Path, *args: str) -> bytes:
    git = shutil.which("git")
    if git is None:
        raise OtaError("--ota needs git: apt-get install git")
    try:
        done = subprocess.run([git, "-C", str(repo), *args], capture_output=True, timeout=GIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise OtaError(f"{repo}: git {args[0]} took more than {GIT_TIMEOUT} s") from None
    if done.returncode != 0:
        raise OtaError(f"{repo}: git {' '.join(args[:2])}: {done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout


def documents(repo: Path) -> list[str]:
    """The Markdown documents at the checkout's HEAD."""
    listed = _git(repo, "ls-tree", "-r", "--name-only", "-z", "HEAD").decode("utf-8").split("\0")
    return sorted(name for name in listed if name.endswith(".md") and "/" in name)


def history(repo: Path, document: str) -> list[OtaVersion]:
    """The commits that added or changed `document`, oldest first."""
    if not (repo / ".git").exists():
        raise OtaError(f"--ota {repo}: not a git checkout of an Open Terms Archive versions repository")
    out = _git(repo, "log", "--reverse", "--diff-filter=AM", "--format=%H%x09%aI%x09%s", "--", document)
    versions = []
    for line in out.decode("utf-8", "replace").splitlines():
        commit, at, subject = (line.split("\t", 2) + [""])[:3]
        versions.append(OtaVersion(commit, parse_time(at), subject))
    if not versions:
        known = documents(repo)
        hint = ", ".join(known[:12]) + (f", … ({len(known)} in all)" if len(known) > 12 else "")
        raise OtaError(f"--document {document!r}: no commit of {repo} records it (documents: {hint or 'none'})")
    return versions


def _origin(repo: Path, commit: str, document: str) -> str:
    try:
        remote = _git(repo, "config", "--get", "remote.origin.url").decode("utf-8").strip()
    except OtaError:
        remote = ""
    match = re.match(r"^(?:https://github\.com/|git@github\.com:)([\w.-]+/[\w.-]+?)(?:\.git)?/?$", remote)
    if match:
        return f"https://github.com/{match.group(1)}/blob/{commit}/{quote(document)}"
    return f"{repo.resolve().as_uri()}/{quote(document)}#{commit}"


def import_ota(factory: sessionmaker[Session], repo: Path, document: str, source: Source,
               policy: GuardPolicy = GuardPolicy(), *, claims: ClaimsPlan | None = None,
               versions: list[OtaVersion] | None = None) -> OtaImport:
    """Import every commit of `document` as a version of `source`; with `claims`, evaluate them afterwards.
    `versions`: its `history`, when the caller read it first (before opening the database)."""
    versions = history(repo, document) if versions is None else versions
    with tempfile.TemporaryDirectory(prefix="policywatch-ota-") as folder:
        work = Path(folder)
        lines = []
        for number, version in enumerate(versions, 1):
            name = f"{number:05d}-{version.commit[:12]}.md"
            (work / name).write_bytes(_git(repo, "show", f"{version.commit}:{document}"))
            lines.append(json.dumps({"source": source.id, "at": version.at.isoformat(), "path": name,
                                     "url": _origin(repo, version.commit, document)}))
        manifest = work / "manifest.jsonl"
        manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
        report = import_manifest(factory, manifest, {source.id: source}, policy, claims=claims)
        return OtaImport(versions, report)
