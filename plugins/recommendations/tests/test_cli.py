"""``comptoir reco …`` end to end on a fresh shop home (SQLite)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from comptoir.kernel.cli import cli
from comptoir_recommendations.rules import Rules


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {"COMPTOIR_HOME": str(tmp_path / "home"), "COMPTOIR_DATABASE_URL": "", "COMPTOIR_REDIS_URL": ""}

    def invoke(*args: str) -> str:
        result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    return invoke


def test_train_status_rollback(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert "no model trained yet" in run("reco", "status")
    first = json.loads(run("reco", "train").split(": ", 1)[1])
    second = json.loads(run("reco", "train", "--reason", "nightly").split(": ", 1)[1])
    status = run("reco", "status")
    assert first["version"] in status and second["version"] in status and "nightly" in status
    assert f"serving {first['version']}" in run("reco", "rollback")
    pointer = json.loads((tmp_path / "home/data/plugins/recommendations/models/current").read_text())
    assert pointer == {"version": first["version"], "previous": second["version"]}


def test_rules_command_edits_the_rules_file(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("reco", "rules", "--exclude", "3", "--exclude", "4", "--boost", "5=2.5", "--pin", "7", "--kind", "for_you")
    run("reco", "rules", "--include", "4", "--pin", "9")
    path = tmp_path / "home/data/plugins/recommendations/rules.json"
    rules = Rules.from_json(json.loads(path.read_text()))
    assert rules.exclude == {3} and rules.boost == {5: 2.5}
    assert rules.pin == {"for_you": (7,), "*": (9,)}
    assert rules.pins_for("for_you") == (7, 9)
    run("reco", "rules", "--boost", "5=1", "--unpin", "7", "--kind", "for_you")
    rules = Rules.from_json(json.loads(path.read_text()))
    assert rules.boost == {} and "for_you" not in rules.pin
    run("reco", "rules", "--clear")
    assert Rules.from_json(json.loads(path.read_text())) == Rules()


def test_rules_reject_nonsense() -> None:
    with pytest.raises(ValueError, match="must be > 0"):
        Rules.from_json({"boost": {"3": 0}})
    with pytest.raises(ValueError, match="pin kind"):
        Rules.from_json({"pin": {"sideways": [1]}})
    with pytest.raises(ValueError, match="unknown rule keys"):
        Rules.from_json({"block": [1]})


def test_evaluate_prints_a_table(run) -> None:  # type: ignore[no-untyped-def]
    out = run("reco", "evaluate", "--customers", "1500", "--items", "600", "--categories", "30")
    lines = out.splitlines()
    assert "Recall@20" in lines[1] and "NDCG@20" in lines[1]
    models = [line.split()[0] for line in lines[3:]]
    assert models == ["popularity", "knn-cosine", "rp3beta", "ease"]
