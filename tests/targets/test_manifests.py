"""Each target is declared once, in targets/<name>.json, and every reader agrees with it."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from lib.targets import user_classes_by_target

import targets
from targets import ROOT, TargetError, parse

USERS_MODULE = ROOT / "locust" / "lib" / "users.py"
# Where a target's release name or user class may be written: its manifest, the class's own
# definition and the locustfile's import of it (Locust finds classes by name in its namespace).
DECLARING = {
    ROOT / "locust" / "lib" / "users.py",
    ROOT / "locust" / "main.py",
}
CODE_FOLDERS = ("app", "bench", "e2e", "locust", "scripts", "targets")


def code_files() -> list[Path]:
    """The project's code (Python modules and the Makefile), where a target must not be declared."""
    files = [ROOT / "Makefile"]
    for folder in CODE_FOLDERS:
        files += sorted((ROOT / folder).rglob("*.py"))
    return [path for path in files if path not in DECLARING]


def literals(path: Path) -> list[str]:
    """The string constants of a Python module, or the Makefile's lines."""
    if path.suffix != ".py":
        return path.read_text().splitlines()
    tree = ast.parse(path.read_text(), filename=str(path))
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]  # fmt: skip


def declarations(files: list[Path], names: set[str], root: Path = ROOT) -> dict[str, list[str]]:
    """file → the names (release or user class) it spells out as a whole string or word."""
    found: dict[str, list[str]] = {}
    patterns = {name: re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])") for name in names}
    for path in files:
        hits = sorted({name for text in literals(path) for name, pattern in patterns.items()
                       if pattern.search(text)})  # fmt: skip
        if hits:
            found[str(path.relative_to(root))] = hits
    return found


def guarded_names() -> set[str]:
    """Names only a manifest declares: the user classes, and releases unlike the project's name."""
    names = set(targets.user_classes())
    names |= {t.release for t in targets.all_targets().values() if t.release != "celsiusify"}
    return names


def test_every_manifest_loads_and_names_its_file() -> None:
    assert set(targets.all_targets()) == {"celsiusify", "tfserving"}
    for target in targets.all_targets().values():
        assert target.user_class in target.user_classes


def test_every_path_a_manifest_names_exists() -> None:
    for target in targets.all_targets().values():
        for relative in (target.dockerfile, target.context, *target.values, *target.e2e_values):
            assert (ROOT / relative).exists(), f"{target.name}: {relative} does not exist"


def test_a_declared_stand_in_exists_and_is_named_as_one() -> None:
    tfserving = targets.get("tfserving")
    assert tfserving.standin is not None
    for relative in (tfserving.standin.dockerfile, tfserving.standin.context):
        assert (ROOT / relative).exists(), relative
    standin = tfserving.with_standin()
    # Same release, Service and values: only the image differs, and its name says so.
    assert (standin.release, standin.values, standin.e2e_values) == (
        tfserving.release, tfserving.values, tfserving.e2e_values,
    )  # fmt: skip
    assert standin.image_name == "celsiusify-tfserving-standin"
    assert standin.dockerfile == "tests/standins/Dockerfile.tfserving"
    assert standin.runs_standin
    assert not tfserving.runs_standin
    with pytest.raises(TargetError, match="celsiusify: its manifest declares no stand-in image"):
        targets.get("celsiusify").with_standin()


def test_every_user_class_is_defined_by_locust() -> None:
    tree = ast.parse(USERS_MODULE.read_text())
    defined = {node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
    assert set(targets.user_classes()) <= defined


def test_release_names_and_user_classes_are_written_nowhere_else_in_code() -> None:
    assert declarations(code_files(), guarded_names()) == {}


def test_the_declaration_check_sees_a_copy(tmp_path: Path) -> None:
    copy = tmp_path / "run.py"
    copy.write_text('USER = "TFServingUser"\nRELEASE = "celsiusify-tfserving"\n')
    makefile = tmp_path / "Makefile"
    makefile.write_text("TARGET_RELEASE ?= celsiusify-tfserving\n")
    found = declarations([copy, makefile], guarded_names(), root=tmp_path)
    assert found == {"run.py": ["TFServingUser", "celsiusify-tfserving"],
                     "Makefile": ["celsiusify-tfserving"]}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not JSON"),
        ("[]", "a manifest is a JSON object"),
        ('{"name": "x"}', "missing ["),
    ],
)
def test_a_broken_manifest_is_refused_naming_the_file(text: str, message: str) -> None:
    with pytest.raises(TargetError, match=re.escape(message)):
        parse(text, "broken.json")


def test_a_user_class_outside_the_list_is_refused() -> None:
    text = (
        (ROOT / "targets" / "tfserving.json")
        .read_text()
        .replace('"user_class": "TFServingUser"', '"user_class": "OtherUser"')
    )
    with pytest.raises(TargetError, match="user_class OtherUser not in user_classes"):
        parse(text, "tfserving.json")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "targets", *args], cwd=ROOT,
                          capture_output=True, text=True, check=False)  # fmt: skip


def test_the_makefile_reads_fields_through_the_cli() -> None:
    assert run_cli("names").stdout.split() == ["celsiusify", "tfserving"]
    assert run_cli("user_class", "tfserving").stdout.strip() == "TFServingUser"
    assert run_cli("release", "tfserving").stdout.strip() == "celsiusify-tfserving"
    assert run_cli("model", "celsiusify").stdout == "\n"
    assert run_cli("hpa_gate", "celsiusify").stdout.strip() == "1"


def test_the_cli_refuses_an_unknown_target_or_field_in_one_line() -> None:
    unknown = run_cli("release", "nginx")
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == "unknown target 'nginx': choose from celsiusify, tfserving"
    assert run_cli("colour", "celsiusify").returncode == 2


def test_locust_reads_the_same_user_classes() -> None:
    by_target = user_classes_by_target()
    for target in targets.all_targets().values():
        assert by_target[target.name] == target.user_classes
    assert by_target["all"] == tuple(targets.user_classes())
