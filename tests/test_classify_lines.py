"""classify_json_lines: JSON lines in, the same lines with flags and evidence out."""

from __future__ import annotations

import json

import pytest

from analysis.classify import classify_json_lines


def test_fields_pass_through_and_flags_are_added() -> None:
    lines = [
        json.dumps({"id": "a", "text": "We retain your chats for 30 days.", "source": {"page": 3}}),
        "",
        json.dumps({"text": "The weather is nice today.", "id": "b"}),
    ]
    out = [json.loads(line) for line in classify_json_lines(lines)]
    assert len(out) == 2
    first, second = out
    assert list(first)[:3] == ["id", "text", "source"]
    assert first["source"] == {"page": 3}
    assert first["flags"] == ["retention"]
    (evidence,) = first["evidence"]
    assert evidence["rule_id"] == "en.retention.retain"
    assert evidence["match"] == "retain"
    assert evidence["durations"][0]["days"] == 30.0
    assert second == {"text": "The weather is nice today.", "id": "b", "flags": [], "evidence": []}


def test_output_is_one_json_object_per_line_and_keeps_unicode() -> None:
    lines = ['{"text": "Nous ne partageons pas vos données avec des tiers."}\n']
    (line,) = list(classify_json_lines(lines))
    assert "\n" not in line
    assert "données" in line
    record = json.loads(line)
    assert record["flags"] == ["sharing"]
    assert record["evidence"][0]["polarity"] == "negated"


def test_language_can_be_forced() -> None:
    lines = ['{"text": "Wir speichern Protokolle für 30 Tage."}']
    (record,) = [json.loads(x) for x in classify_json_lines(lines, language="de")]
    assert record["evidence"][0]["rule_id"].startswith("de.")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("not json at all", r"line 2: not valid JSON"),
        ('["a", "list"]', r"line 2: expected a JSON object, got list"),
        ('{"id": 1}', r'line 2: no "text" field'),
        ('{"text": 42}', r'line 2: "text" is int, not a string'),
    ],
)
def test_bad_line_names_its_number_and_problem(bad: str, message: str) -> None:
    lines = ['{"text": "We retain logs for ninety days."}', bad, '{"text": "never reached"}']
    results = classify_json_lines(lines)
    assert json.loads(next(results))["flags"] == ["retention"]
    with pytest.raises(ValueError, match=message):
        next(results)


def test_blank_lines_count_towards_line_numbers() -> None:
    with pytest.raises(ValueError, match=r"^line 3: "):
        list(classify_json_lines(['{"text": "ok"}', "   ", "{broken"]))


def test_command_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import io

    from analysis.classify import main

    monkeypatch.setattr("sys.stdin", io.StringIO('{"text": "We retain logs for 30 days."}\n'))
    assert main([]) == 0
    assert json.loads(capsys.readouterr().out)["flags"] == ["retention"]
    monkeypatch.setattr("sys.stdin", io.StringIO("oops\n"))
    assert main(["en"]) == 2
    assert "line 1: not valid JSON" in capsys.readouterr().err
