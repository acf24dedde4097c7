"""The rule files as a run reads them: listed from their folder, parsed once and kept beside them."""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import zipfile
from importlib import resources
from pathlib import Path

import pytest

from ecolint import rule_schema
from ecolint.package_files import package_files
from ecolint.rule_schema import STORED_NAME, RuleError, _parsed


def test_the_rule_files_are_listed_as_importlib_resources_lists_them():
    listed = package_files("ecolint.rule_files", (".yaml",))
    expected = sorted((e for e in resources.files("ecolint.rule_files").iterdir() if e.name.endswith(".yaml")),
                      key=lambda entry: entry.name)
    assert [entry.name for entry in listed] == [entry.name for entry in expected]
    assert [entry.read_bytes() for entry in listed] == [entry.read_bytes() for entry in expected]


def test_the_data_tables_are_listed_by_suffix():
    names = [entry.name for entry in package_files("ecolint.energy.data", (".yaml", ".csv"))]
    assert names == sorted(names) and "gpus.csv" in names
    assert not any(name.endswith((".py", ".md")) for name in names)


def test_a_package_inside_a_zip_is_listed_through_importlib_resources(tmp_path, monkeypatch):
    archive = tmp_path / "zipped.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("zipped_rules/__init__.py", "")
        zipped.writestr("zipped_rules/b.yaml", "code: b\n")
        zipped.writestr("zipped_rules/a.yaml", "code: a\n")
        zipped.writestr("zipped_rules/notes.txt", "not listed\n")
    monkeypatch.syspath_prepend(str(archive))
    monkeypatch.delitem(sys.modules, "zipped_rules", raising=False)
    importlib.invalidate_caches()
    listed = package_files("zipped_rules", (".yaml",))
    assert [entry.name for entry in listed] == ["a.yaml", "b.yaml"]
    assert not isinstance(listed[0], Path)
    assert listed[1].read_text(encoding="utf-8") == "code: b\n"


@pytest.fixture
def rules(tmp_path):
    """A copy of two shipped rule files, as the entries a run reads."""
    folder = tmp_path / "rules"
    folder.mkdir()
    for name in ("LLM101.yaml", "LLM301.yaml"):
        shutil.copy(Path(os.fspath(package_files("ecolint.rule_files", (name,))[0])), folder / name)
    return folder


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.yaml"))


def no_yaml(monkeypatch):
    def refuse():
        raise AssertionError("the YAML was read")

    monkeypatch.setattr(rule_schema, "_yaml", refuse)


def test_the_parsed_files_are_kept_and_read_back_without_yaml(rules, monkeypatch):
    first = _parsed(entries(rules))
    assert list(first) == ["LLM101", "LLM301"]
    assert (rules / "__pycache__" / STORED_NAME).is_file()
    no_yaml(monkeypatch)
    assert _parsed(entries(rules)) == first


def test_a_changed_rule_file_is_read_again(rules):
    _parsed(entries(rules))
    path = rules / "LLM301.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("summary:", "summary: Changed.\nold_summary:", 1),
                    encoding="utf-8")
    assert _parsed(entries(rules))["LLM301"]["summary"] == "Changed."


def test_an_added_rule_file_is_read(rules):
    _parsed(entries(rules))
    shutil.copy(rules / "LLM101.yaml", rules / "LLM102.yaml")
    with pytest.raises(RuleError, match="LLM102.yaml: file name does not match code LLM101"):
        _parsed(entries(rules))


@pytest.mark.parametrize("content", [b"", b"\x00garbage", b"\xe9"])
def test_a_damaged_store_is_replaced(rules, content):
    expected = _parsed(entries(rules))
    stored = rules / "__pycache__" / STORED_NAME
    stored.write_bytes(content)
    assert _parsed(entries(rules)) == expected
    assert stored.read_bytes() != content


def test_a_store_of_earlier_versions_is_removed(rules):
    (rules / "__pycache__").mkdir()
    (rules / "__pycache__" / "rules.0123456789abcdef.pickle").write_bytes(b"old")
    _parsed(entries(rules))
    assert [path.name for path in (rules / "__pycache__").iterdir()] == [STORED_NAME]


def test_a_folder_that_cannot_be_written_is_read_every_time(rules, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError("read-only")

    monkeypatch.setattr(Path, "mkdir", refuse)
    assert list(_parsed(entries(rules))) == ["LLM101", "LLM301"]
    assert not (rules / "__pycache__").exists()
