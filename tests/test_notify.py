"""Notifications: real receivers on 127.0.0.1 (a JSON webhook, an SMTP server, one answering 500, one that
never answers), the nightly run sending once per target and event, retrying what failed, never failing."""

from __future__ import annotations

import email
import json
import sqlite3
import time
from email import policy as email_policy
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from conftest import REPO, write_declarations
from notify_receivers import Silent, Smtp, Webhook
from policywatch.config import ConfigError, load_settings
from policywatch.localserver import Page
from reports.notify.deliver import _masked, with_timeouts
from reports.notify.targets import NotifyConfigError, parse_targets

CASES = yaml.safe_load((REPO / "tests/data/notify/targets.yaml").read_text(encoding="utf-8"))

OLD = (b"<html><body><main><h1>Chats</h1><p>We keep temporary chats for 30 days, then delete them.</p>"
       b"<p>Contact us at any time.</p></main></body></html>")
NEW = (b"<html><body><main><h1>Chats</h1><p>We keep temporary chats for 90 days, then delete them.</p>"
       b"<p>Contact us at any time &lt;script&gt;alert(1)&lt;/script&gt;.</p></main></body></html>")
OTHER = b"<html><body><main><h1>Terms</h1><p>These are the terms of use of the service.</p></main></body></html>"
# The same words once case and punctuation are ignored: a formatting change, never announced.
OTHER_FORMATTED = b"<html><body><main><h1>Terms</h1><p>These are the Terms of Use of the service!</p></main></body></html>"


@pytest.mark.parametrize("case", CASES["refused"], ids=lambda c: c["error"][:40])
def test_a_bad_notify_entry_is_refused_naming_the_entry_and_field(case: dict[str, Any]) -> None:
    with pytest.raises(NotifyConfigError) as caught:
        parse_targets([case["entry"]], "pw.toml")
    assert case["error"] in str(caught.value) and str(caught.value).startswith("pw.toml: notify entry 1")


@pytest.mark.parametrize("case", CASES["wants"], ids=lambda c: c["target"]["url"])
def test_target_filters(case: dict[str, Any]) -> None:
    (target,) = parse_targets([case["target"]], "pw.toml")
    for event in case["events"]:
        facts = {k: (tuple(v) if isinstance(v, list) else v) for k, v in event.items() if k not in ("kind", "wanted")}
        assert target.wants(event["kind"], **facts) is event["wanted"], (case["target"], event)


def test_settings_file_and_environment_give_targets_and_secrets_stay_out_of_sight(tmp_path: Path) -> None:
    config = tmp_path / "pw.toml"
    config.write_text('[policywatch]\nnotify_timeout = 2.5\n\n[[policywatch.notify]]\n'
                      'url = "mailto://alice:s3cr3tpassw0rd@mail.example.org?to=dpo@example.org"\nhealth = true\n\n'
                      '[[policywatch.notify]]\nurl = "json://127.0.0.1:9/hook"\nname = "team hook"\n'
                      'flags = ["retention"]\n', encoding="utf-8")
    settings = load_settings(config_file=config, environ={})
    assert settings.notify_timeout == 2.5 and [t.health for t in settings.notify] == [True, False]
    mail, hook = settings.notify
    assert mail.label == f"mailto target {mail.key[:8]}" and hook.label == "team hook"
    assert "alice" not in mail.label and "example" not in mail.label
    assert "s3cr3t" not in repr(settings), "a traceback or log line never shows a password"
    assert _masked("login failed for alice:s3cr3tpassw0rd at mail.example.org", mail.url) == \
        "login failed for alice:… at …", "a published error message keeps no part of the URL that may be secret"
    assert with_timeouts("json://h/x?a=1", 3) == "json://h/x?a=1&cto=3&rto=3"
    assert with_timeouts("json://h/x?rto=9", 3) == "json://h/x?rto=9&cto=3"

    env = load_settings(environ={"POLICYWATCH_NOTIFY": '[{"url": "json://127.0.0.1:9/x", "health": true}]'})
    assert env.notify[0].health
    with pytest.raises(ConfigError, match="environment variable POLICYWATCH_NOTIFY: setting 'notify'"):
        load_settings(environ={"POLICYWATCH_NOTIFY": "json://not-a-list"})
    twice = tmp_path / "twice.toml"
    twice.write_text('[[notify]]\nurl = "json://h/x"\n[[notify]]\nurl = "json://h/x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="notify entry 2: the same URL as entry 1"):
        load_settings(config_file=twice, environ={})


@pytest.fixture
def receivers() -> Iterator[tuple[Webhook, Smtp, Silent]]:
    hook, smtp, silent = Webhook(), Smtp(), Silent()
    yield hook, smtp, silent
    hook.close()
    smtp.close()
    silent.close()


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_the_nightly_run_notifies_once_retries_failures_and_never_fails(  # type: ignore[no-untyped-def]
        server, make_cli, tmp_path: Path, receivers) -> None:
    hook, smtp, silent = receivers
    server.routes.update({"/chats": Page(OLD), "/terms": Page(OTHER), "/flaky": Page(OTHER)})
    decl = write_declarations(tmp_path / "sources.yaml", server.base_url, [
        {"id": "t/chats", "title": "Chat retention", "urls": ["/chats"], "select": "main"},
        {"id": "t/terms", "title": "Terms", "urls": ["/terms"], "select": "main"},
        {"id": "t/flaky", "title": "Flaky page", "urls": ["/flaky"], "select": "main"},
    ])
    config = tmp_path / "pw.toml"
    config.write_text(f"""[policywatch]
notify_timeout = 1

[[policywatch.notify]]
url = "json://127.0.0.1:{hook.port}/all"
health = true

[[policywatch.notify]]
url = "mailto://127.0.0.1:{smtp.port}?mode=insecure&from=policywatch@example.org&to=dpo@example.org"
flags = ["retention"]
min_severity = "high"

[[policywatch.notify]]
url = "json://127.0.0.1:{hook.port}/other-vendor"
vendors = ["Someone else"]
health = true

[[policywatch.notify]]
url = "json://127.0.0.1:{hook.port}/fail"
name = "broken hook"

[[policywatch.notify]]
url = "json://127.0.0.1:{silent.port}/silent"
name = "silent hook"
""", encoding="utf-8")
    cli = make_cli(decl)
    site = tmp_path / "site"

    def night(day: int, *extra: str) -> Any:
        started = time.monotonic()
        result = cli("--config", str(config), "run", "--out", str(site), "--base-url", "https://pw.example.org/",
                     "--now", f"2026-06-0{day}T03:00:00Z", *extra, check=False)
        return result, time.monotonic() - started

    first, _ = night(1)
    assert first.returncode == 0, first.stderr
    assert hook.received == [] and smtp.messages == [], "the first versions are not changes; history is not replayed"

    server.routes.update({"/chats": Page(NEW), "/terms": Page(OTHER_FORMATTED), "/flaky": Page(b"down", status=500)})
    second, seconds = night(2)
    assert second.returncode == 1, "the flaky source failed; the undelivered notifications change nothing"
    assert seconds < 60, "a receiver that never answers holds the run up for the timeout only"
    (message,) = hook.at("/all")
    assert message["title"].startswith("[high] Testco — Chat retention: retention: ") and "90 days" in message["title"]
    body = message["message"]
    assert "[-30-]" in body and "{+90+}" in body, body
    assert "{+time \\<script>alert(1)\\</script>.+}" in body, "page text reaches the webhook as its text, as text"
    with sqlite3.connect(cli.db) as conn:  # sources fetched at once are recorded in the order they finish
        (chats_change,), = conn.execute("select id from changes where source_id = 't/chats'").fetchall()
    assert f"The change: https://pw.example.org/changes/{chats_change}.html" in body
    assert hook.at("/other-vendor") == [], "the vendor filter keeps other vendors' changes out"
    assert len(hook.at("/fail")) == 1
    (mail,) = smtp.messages
    parsed = email.message_from_bytes(mail.content, policy=email_policy.default)
    assert mail.rcpt_tos == ["dpo@example.org"] and parsed["Subject"].startswith("[high] Testco — Chat retention")
    assert "{+90+}" in parsed.get_content()
    assert "notifications: 2 sent, 2 not delivered (tried again next run) (5 targets)" in second.stdout
    assert "not delivered to broken hook: [high] Testco — Chat retention" in second.stdout
    assert "not delivered to silent hook" in second.stdout
    runs_page = (site / "runs.html").read_text(encoding="utf-8")
    assert "Notifications not delivered" in runs_page and "broken hook" in runs_page and "silent hook" in runs_page
    assert "<script>alert" not in runs_page

    third, _ = night(3, "--quiet")
    assert third.returncode == 1
    assert len(hook.at("/all")) == 2, "the change is not sent again; the health episode is"
    failing = hook.at("/all")[1]
    assert failing["title"].startswith("Testco — Flaky page: failing since 2026-06-02 03:00 UTC (http_error)")
    assert hook.at("/other-vendor") == []
    assert len(hook.at("/fail")) == 2, "the failed delivery is tried again on the next run, once"
    assert len(smtp.messages) == 1, "the mail target wants retention changes only, and has had this one"
    assert "not delivered to broken hook" in third.stdout, "--quiet still shows notifications that failed"

    server.routes["/flaky"] = Page(OTHER)
    fourth, _ = night(4)
    assert hook.at("/all")[2]["title"] == "Testco — Flaky page: recovered after 2 failed fetches"
    assert len(hook.at("/all")) == 3

    deliveries = rows(cli.db, "select t.label, d.event_key, d.status, d.attempts from notify_deliveries d "
                              "join notify_targets t on t.key = d.target_key order by d.id")
    sent = [(label, key) for label, key, status, _ in deliveries if status == "sent"]
    assert len(sent) == len(set(sent)) == 4, deliveries
    assert ("broken hook", "change:1", "failed", 3) in deliveries
    assert rows(cli.db, "select id, kind, announced from changes where source_id = 't/terms'") == [(2, "formatting", 0)]
    assert not any(key == "change:2" for _, key, _, _ in deliveries), "a formatting change is never announced"
    assert not any(str(silent.port) in str(row) for row in rows(cli.db, "select * from notify_targets")), \
        "the record keeps a hash of each URL, never the URL"

    # Re-analysis and a dry run announce nothing new; the failing targets are all that is left.
    cli("--config", str(config), "reanalyse", "--now", "2026-06-05T00:00:00Z")
    dry = cli("--config", str(config), "notify", "--dry-run", check=False)
    assert dry.returncode == 0
    assert sorted(line.split(":")[0] for line in dry.stdout.splitlines()[:-1]) == [
        "would send to broken hook", "would send to silent hook"], dry.stdout
    assert dry.stdout.splitlines()[-1] == "dry run: 2 message(s) would be sent; nothing recorded"
    assert rows(cli.db, "select count(*) from notify_deliveries where attempts > 3") == [(0,)], "dry run records nothing"


def test_notify_without_targets_or_apprise_says_what_to_do(make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli = make_cli()
    result = cli("notify", check=False)
    assert result.returncode == 2 and "no notification targets are configured" in result.stderr


def test_claim_status_changes_are_sent_to_the_targets_naming_those_claims(  # type: ignore[no-untyped-def]
        tmp_path: Path, receivers) -> None:
    from claims_support import CLAIMS, HOSTILE_CLAIM, NIGHTS, ClaimsCLI, write_claims

    hook, smtp, _ = receivers
    decl = tmp_path / "sources.yaml"
    decl.write_text(yaml.safe_dump({"sources": [
        {"id": sid, "vendor": "Acme AI", "title": title, "document_type": "Privacy Policy", "language": "en",
         "urls": [f"https://acme.example/{sid.split('/')[1]}"]}
        for sid, title in (("acme/help", "Help: chats"), ("acme/privacy", "Privacy Policy"))]}), encoding="utf-8")
    manifests = []
    for first, last in ((0, 1), (1, 3)):
        lines = []
        for n, (at, texts) in enumerate(NIGHTS[first:last], first + 1):
            for sid, text in texts.items():
                name = f"{sid.replace('/', '-')}-{n}.md"
                (tmp_path / name).write_text(f"# {sid}\n\nHow Acme AI handles your data.\n\n{text}\n", encoding="utf-8")
                lines.append(json.dumps({"source": sid, "at": at, "path": name}))
        manifests.append(tmp_path / f"manifest-{first}.jsonl")
        manifests[-1].write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = tmp_path / "pw.toml"
    config.write_text(f"""[[notify]]
url = "json://127.0.0.1:{hook.port}/all"
claims = true

[[notify]]
url = "json://127.0.0.1:{hook.port}/temporary"
changes = false
claims = ["acme/temporary-*"]

[[notify]]
url = "json://127.0.0.1:{hook.port}/changes"

[[notify]]
url = "mailto://127.0.0.1:{smtp.port}?mode=insecure&from=policywatch@example.org&to=dpo@example.org"
changes = false
claims = ["acme/no-sale"]
""", encoding="utf-8")
    cli = ClaimsCLI(tmp_path, decl, write_claims(tmp_path / "claims.yaml", CLAIMS + [HOSTILE_CLAIM]))
    cli("import", "--manifest", str(manifests[0]))
    assert cli("--config", str(config), "notify").stdout.startswith("notifications: 0 sent"), \
        "the claims' first statuses were there before the targets: not news"
    cli("import", "--manifest", str(manifests[1]))
    sent = cli("--config", str(config), "notify", "--base-url", "https://pw.example.org/")
    assert "notifications: 9 sent, 0 not delivered" in sent.stdout, sent.stdout

    (temporary,) = hook.at("/temporary")
    assert temporary["title"] == ("Acme AI: “Acme AI deletes temporary chats after 30 days.” — supported → weakened")
    assert ("No longer said:\n- We keep a copy for up to 30 days to monitor for abuse, then delete it.\n"
            in temporary["message"])
    assert temporary["message"].rstrip().endswith(
        "The claim, its evidence and its timeline: "
        "https://pw.example.org/claims/acme/temporary-chats-deleted-after-30-days.html\n"
        "The change: https://pw.example.org/changes/1.html")
    titles = sorted(m["title"] for m in hook.at("/all"))
    assert len(titles) == 5 and sum(t.startswith("Acme AI: “") for t in titles) == 3, titles
    hostile = next(m for m in hook.at("/all") if "acme/hostile" in m["message"])
    assert "<script>alert('claim')</script>" in hostile["title"], "a claim's text is sent as text, never as markup"
    assert [m["title"] for m in hook.at("/changes")] == [t for t in titles if not t.startswith("Acme AI: “")], \
        "a target that names no claims hears of none"
    (mail,) = smtp.messages
    parsed = email.message_from_bytes(mail.content, policy=email_policy.default)
    assert parsed["Subject"] == "Acme AI: “Acme AI does not sell personal data.” — supported → no longer stated"
    assert "No longer said:\n- We do not sell personal data.\n" in parsed.get_content().replace("\r\n", "\n")

    again = cli("--config", str(config), "notify")
    assert again.stdout.startswith("notifications: 0 sent"), "a status change is sent once per target"
    assert rows(cli.db, "select count(*) from notify_deliveries where event_kind = 'claim'") == [(5,)]
