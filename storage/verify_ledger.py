#!/usr/bin/env python3
"""Verify a policywatch site against its tamper-evident log (ledger.jsonl). Python 3.9+, standard library only.

    python3 verify-ledger.py [SITE_DIR] [--allowed-signers FILE]

SITE_DIR defaults to the folder this script is in. It checks:

- the log itself: each entry's hash recomputed from its canonical form, each
  entry linked to the one before it and to the previous entry of its subject;
- every raw snapshot a version entry names (raw/<sha256>.txt) is there and
  hashes to its name, and every other raw snapshot (the fetches that
  confirmed a version) hashes to its name;
- every version text the site publishes (versions/<source>/_texts.js and any
  versions/<source>/<n>.md) hashes to its entry's text_sha256, every
  version entry has its text published, and a version page that links its
  <n>.md has it;
- a version whose text the site does not publish because its publisher's
  database had it damaged (listed in left-out.json, with the text_sha256 of
  its entry) is named in a note, not as a problem: the site is incomplete,
  not tampered with;
- the head (the last entry's hash) is the one the index page shows;
- with --allowed-signers, the signature ledger.jsonl.sig (ssh-keygen -Y
  verify, namespace policywatch-ledger).

Every discrepancy is printed with the file and the entry; the exit status is
0 when there is none (texts left out as damaged are notes: they do not make it
1), 1 otherwise, 2 when the arguments are wrong.

An entry's hash is the sha256 of

    json.dumps({every field but "hash"}, sort_keys=True, separators=(",", ":"), ensure_ascii=True)

encoded as ASCII. policywatch itself computes the log with this module
(storage.verify_ledger), so the two cannot disagree.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

FIELDS = ("seq", "kind", "subject", "number", "text_sha256", "snapshots", "first_seen", "prev_subject", "prev")
SIGNATURE_NAMESPACE = "policywatch-ledger"
LEDGER_FILE = "ledger.jsonl"
SIGNATURE_FILE = LEDGER_FILE + ".sig"
INDEX_FILE = "index.html"
# The versions whose texts the publisher left out because its database had them damaged (reports.ledgerfiles).
LEFT_OUT_FILE = "left-out.json"
LEFT_OUT_REASON = "damaged in its database"
VERSION_KIND = "version"
TEXTS_PREFIX, TEXTS_SUFFIX = "policywatchVersions(", ");"
# A line of the log is far smaller than this: a longer one is not read whole.
MAX_LINE = 1 << 20
SIGNING_TIMEOUT = 30.0
_SEGMENT = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_MAX_PART_BYTES = 200
_FILE_IN_FOLDER = re.compile(r"^(\d+\.(html|md)|index\.html)$")
_FILE_SUFFIXES = (".html", ".json", ".atom", ".rss", ".md", ".js", ".txt")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def canonical(fields: Dict[str, Any]) -> bytes:
    return json.dumps({name: fields[name] for name in FIELDS}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True).encode("ascii")


def entry_hash(fields: Dict[str, Any]) -> str:
    return hashlib.sha256(canonical(fields)).hexdigest()


def describe(item: Dict[str, Any]) -> str:
    return f"entry {item.get('seq')} ({item.get('kind')} {item.get('subject')} v{item.get('number')})"


def chain_problems(items: Iterable[Dict[str, Any]]) -> Iterator[str]:
    """What is wrong with a log given as its entries in order: each hash recomputed, each link followed."""
    previous: Optional[str] = None
    expected_seq = 1
    subjects: Dict[Tuple[str, str], Tuple[int, str]] = {}
    for item in items:
        where = describe(item)
        try:
            recomputed = entry_hash(item)
            number = int(item["number"])
        except (KeyError, TypeError, ValueError) as exc:
            yield f"{where}: not a ledger entry ({exc!r})"
            return
        if recomputed != item.get("hash"):
            yield f"{where}: its hash does not match its contents"
        if item["seq"] != expected_seq:
            yield f"{where}: expected entry {expected_seq} here"
        if item["prev"] != previous:
            yield f"{where}: does not link to the entry before it"
        key = (str(item["kind"]), str(item["subject"]))
        before = subjects.get(key)
        if item["prev_subject"] != (before[1] if before else None):
            yield f"{where}: does not link to the previous entry of {item['subject']}"
        if before is not None and number <= before[0]:
            yield f"{where}: follows v{before[0]} of {item['subject']}"
        subjects[key] = (number, str(item.get("hash")))
        previous, expected_seq = item.get("hash"), expected_seq + 1


def source_dir(source_id: str) -> str:
    """The folder of a source's pages (reports.urls.source_dir, by the rule of analysis.siteids: this script
    needs nothing but the standard library)."""
    segments = source_id.split("/")
    last = len(segments) - 1
    if all(_SEGMENT.match(s) and len(s.encode("utf-8")) <= _MAX_PART_BYTES
           and not (i > 0 and _FILE_IN_FOLDER.match(s)) and not (i < last and s.endswith(_FILE_SUFFIXES))
           for i, s in enumerate(segments)):
        return source_id
    return "id-" + hashlib.sha256(source_id.encode("utf-8")).hexdigest()[:16]


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class Result:
    problems: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    entries: int = 0
    head: Optional[str] = None
    checked_snapshots: int = 0
    checked_texts: int = 0
    left_out: int = 0  # version texts the publisher left out as damaged
    signature: str = "absent"  # absent, verified, not verified, bad


def read_ledger(path: Path, result: Result) -> List[Dict[str, Any]]:
    items: List[Dict[str, Any]] = []
    with path.open("rb") as handle:
        for number, line in enumerate(iter(lambda: handle.readline(MAX_LINE + 1), b""), start=1):
            if len(line) > MAX_LINE:
                result.problems.append(f"{LEDGER_FILE} line {number}: longer than {MAX_LINE} bytes")
                break
            try:
                item = json.loads(line)
            except ValueError:
                result.problems.append(f"{LEDGER_FILE} line {number}: not JSON")
                continue
            if not isinstance(item, dict):
                result.problems.append(f"{LEDGER_FILE} line {number}: not a JSON object")
                continue
            items.append(item)
    return items


def _texts(path: Path) -> Dict[str, str]:
    data = path.read_text(encoding="utf-8").strip()
    if not (data.startswith(TEXTS_PREFIX) and data.endswith(TEXTS_SUFFIX)):
        raise ValueError("not a versions script")
    texts = json.loads(data[len(TEXTS_PREFIX):-len(TEXTS_SUFFIX)])
    if not isinstance(texts, dict) or not all(isinstance(v, str) for v in texts.values()):
        raise ValueError("not a map of version numbers to texts")
    return texts


def _check_snapshots(site: Path, items: List[Dict[str, Any]], result: Result) -> None:
    verdicts: Dict[str, Optional[str]] = {}
    for item in items:
        if item.get("kind") != VERSION_KIND:
            continue  # an article's raw page is not published
        snapshots = item.get("snapshots")
        if not isinstance(snapshots, list):
            result.problems.append(f"{LEDGER_FILE}: {describe(item)}: its snapshots are not a list")
            continue
        for raw in snapshots:
            sha = raw if isinstance(raw, str) else repr(raw)
            if sha not in verdicts:
                name = f"raw/{sha}.txt"
                path = site / name
                if not _SHA256.match(sha):
                    verdicts[sha] = f"{LEDGER_FILE}: {sha!r} is not a sha256"
                elif not path.is_file():
                    verdicts[sha] = f"{name}: missing"
                else:
                    result.checked_snapshots += 1
                    try:
                        same = _file_sha256(path) == sha
                    except OSError as exc:
                        verdicts[sha] = f"{name}: cannot be read: {exc.strerror}"
                    else:
                        verdicts[sha] = None if same else f"{name}: its bytes do not hash to its name"
            if verdicts[sha] is not None:
                result.problems.append(f"{verdicts[sha]} (named by {describe(item)})")


def _check_other_snapshots(site: Path, items: List[Dict[str, Any]], result: Result) -> None:
    """Raw snapshots no entry names (the fetches that confirmed a version): each must hash to its name."""
    named = {raw for item in items if item.get("kind") == VERSION_KIND
             for raw in (item.get("snapshots") if isinstance(item.get("snapshots"), list) else [])}
    folder = site / "raw"
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.txt")):
        if path.stem in named:
            continue
        name = f"raw/{path.name}"
        result.checked_snapshots += 1
        try:
            same = _file_sha256(path) == path.stem
        except OSError as exc:
            result.problems.append(f"{name}: cannot be read: {exc.strerror}")
            continue
        if not same:
            result.problems.append(f"{name}: its bytes do not hash to its name")


def read_left_out(site: Path, result: Result) -> Dict[Tuple[str, str], str]:
    """What left-out.json lists: (source, version number) to the text_sha256 of the text left out."""
    path = site / LEFT_OUT_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        listed = {(str(item["source"]), str(int(item["number"]))): str(item["text_sha256"])
                  for item in data["texts"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        result.problems.append(f"{LEFT_OUT_FILE}: cannot be read: {exc!r}")
        return {}
    return listed


def _check_texts(site: Path, items: List[Dict[str, Any]], result: Result) -> None:
    left_out = read_left_out(site, result)
    by_source: Dict[str, Dict[str, Dict[str, Any]]] = {}
    for item in items:
        if item.get("kind") == VERSION_KIND:
            by_source.setdefault(str(item.get("subject")), {})[str(item.get("number"))] = item
    folders = {source_dir(source): source for source in by_source}
    for source, entries in sorted(by_source.items()):
        folder = f"versions/{source_dir(source)}"
        name = f"{folder}/_texts.js"
        try:
            texts = _texts(site / name)
        except FileNotFoundError:
            result.problems.append(f"{name}: missing (the texts of {source}, {len(entries)} version(s) in the ledger)")
            texts = {}
        except (OSError, ValueError) as exc:
            result.problems.append(f"{name}: cannot be read: {exc}")
            texts = {}
        else:
            for number, item in sorted(entries.items(), key=_by_number):
                if number in texts:
                    continue
                if left_out.get((source, number)) == item.get("text_sha256"):
                    # Listed with the very text its entry names: the publisher says it could not read it back.
                    result.left_out += 1
                    result.notes.append(f"{name}: v{number} left out by the publisher: {LEFT_OUT_REASON} "
                                        f"({describe(item)})")
                else:
                    result.problems.append(f"{name}: v{number} is missing ({describe(item)})")
        for number, text in sorted(texts.items(), key=_by_number):
            _compare(name, f"v{number}", hashlib.sha256(text.encode("utf-8")).hexdigest(), entries.get(number), result)
        for number, item in sorted(entries.items(), key=_by_number):
            # A version page that links its Markdown file vouches for it: the file must be there.
            page = site / folder / f"{number}.html"
            if not (site / folder / f"{number}.md").is_file() and page.is_file() and \
                    re.search(f'href="(?:[^"]*/)?{re.escape(number)}\\.md"',
                              page.read_text(encoding="utf-8", errors="replace")):
                result.problems.append(f"{folder}/{number}.md: missing (linked by {folder}/{number}.html; "
                                       f"{describe(item)})")
        for path in sorted((site / folder).glob("*.md")):
            label = f"{folder}/{path.name}"
            try:
                sha = _file_sha256(path)
            except OSError as exc:
                result.problems.append(f"{label}: cannot be read: {exc.strerror}")
                continue
            _compare(label, f"v{path.stem}", sha, entries.get(path.stem), result)
    versions = site / "versions"
    if versions.is_dir():
        for path in sorted(versions.rglob("_texts.js")):
            folder = path.parent.relative_to(versions).as_posix()
            if folder not in folders:
                result.problems.append(f"versions/{folder}/_texts.js: publishes texts of a source the ledger does "
                                       "not name")


def _by_number(pair: Tuple[str, Any]) -> Tuple[int, str]:
    return len(pair[0]), pair[0]


def _compare(name: str, version: str, sha: str, item: Optional[Dict[str, Any]], result: Result) -> None:
    result.checked_texts += 1
    if item is None:
        result.problems.append(f"{name}: {version} has no ledger entry")
    elif item.get("text_sha256") != sha:
        result.problems.append(f"{name}: {version} does not match {describe(item)}")


def _check_head(site: Path, result: Result) -> None:
    index = site / INDEX_FILE
    if result.head is None or not index.is_file():
        return
    if result.head not in index.read_text(encoding="utf-8", errors="replace"):
        result.problems.append(f"{INDEX_FILE}: does not show the ledger's head {result.head}")


def _ssh_keygen(args: List[str], stdin: Optional[bytes] = None) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    return subprocess.run(["ssh-keygen", *args], input=stdin if stdin is not None else b"",
                          capture_output=True, timeout=SIGNING_TIMEOUT)


def _check_signature(site: Path, allowed_signers: Optional[Path], result: Result) -> None:
    signature = site / SIGNATURE_FILE
    if not signature.is_file():
        if allowed_signers is not None:
            result.problems.append(f"{SIGNATURE_FILE}: missing, yet --allowed-signers was given")
        return
    if allowed_signers is None:
        result.signature = "not verified"
        result.notes.append(f"{SIGNATURE_FILE} is there but was not verified: give --allowed-signers FILE")
        return
    if shutil.which("ssh-keygen") is None:
        result.signature = "not verified"
        result.problems.append(f"{SIGNATURE_FILE}: cannot be verified: ssh-keygen (OpenSSH) is not installed")
        return
    found = _ssh_keygen(["-Y", "find-principals", "-f", str(allowed_signers), "-s", str(signature)])
    principals = found.stdout.decode("utf-8", "replace").split()
    if found.returncode != 0 or not principals:
        result.signature = "bad"
        detail = found.stderr.decode("utf-8", "replace").strip().splitlines()
        result.problems.append(f"{SIGNATURE_FILE}: not made by a key in {allowed_signers}"
                               + (f" ({detail[-1]})" if detail else ""))
        return
    data = (site / LEDGER_FILE).read_bytes()
    verified = _ssh_keygen(["-Y", "verify", "-f", str(allowed_signers), "-I", principals[0], "-n",
                            SIGNATURE_NAMESPACE, "-s", str(signature)], data)
    if verified.returncode != 0:
        result.signature = "bad"
        result.problems.append(f"{SIGNATURE_FILE}: does not verify against {LEDGER_FILE} "
                               f"({verified.stderr.decode('utf-8', 'replace').strip() or 'ssh-keygen refused it'})")
    else:
        result.signature = "verified"
        result.notes.append(f"{SIGNATURE_FILE}: a good signature by {principals[0]}")


def verify_site(site: Path, allowed_signers: Optional[Path] = None) -> Result:
    result = Result()
    ledger = site / LEDGER_FILE
    if not ledger.is_file():
        result.problems.append(f"{LEDGER_FILE}: missing from {site}")
        return result
    items = read_ledger(ledger, result)
    result.entries = len(items)
    last = items[-1].get("hash") if items else None
    result.head = last if isinstance(last, str) else None
    result.problems.extend(f"{LEDGER_FILE}: {problem}" for problem in chain_problems(items))
    _check_snapshots(site, items, result)
    _check_other_snapshots(site, items, result)
    _check_texts(site, items, result)
    _check_head(site, result)
    _check_signature(site, allowed_signers, result)
    return result


def summary(result: Result) -> str:
    verdict = "FAILED" if result.problems else "ok"
    left_out = (f"; {result.left_out} text(s) left out by the publisher ({LEFT_OUT_REASON})"
                if result.left_out else "")
    return (f"{verdict}: {len(result.problems)} problem(s); {result.entries} ledger entries, head "
            f"{result.head or 'none'}; {result.checked_snapshots} raw snapshots and {result.checked_texts} "
            f"published texts checked{left_out}; signature {result.signature}")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a policywatch site against its ledger.")
    parser.add_argument("site", nargs="?", type=Path, default=Path(__file__).resolve().parent,
                        help="the site's folder (default: the folder this script is in)")
    parser.add_argument("--allowed-signers", type=Path, help="an ssh-keygen allowed-signers file: verify "
                        f"{SIGNATURE_FILE} against it")
    args = parser.parse_args(argv)
    if not args.site.is_dir():
        parser.error(f"{args.site}: not a folder")
    if args.allowed_signers is not None and not args.allowed_signers.is_file():
        parser.error(f"--allowed-signers {args.allowed_signers}: no such file")
    result = verify_site(args.site, args.allowed_signers)
    for note in result.notes:
        print(f"note: {note}")
    for problem in result.problems:
        print(f"PROBLEM: {problem}")
    print(summary(result))
    return 1 if result.problems else 0


if __name__ == "__main__":
    sys.exit(main())
