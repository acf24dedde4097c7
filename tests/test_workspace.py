"""The workspace: one way from paths to results for every front end."""

import json
import os
from pathlib import Path

from ecolint.config import Settings
from ecolint.workspace import SourceFile, Workspace
from ecolint.workspace.cache import Cache

EIGHT_BIT = (
    "from transformers import AutoModelForCausalLM\n"
    "m = AutoModelForCausalLM.from_pretrained('x', load_in_8bit=True)\n"
)
PADDED = (
    "from transformers import pipeline\n"
    "pipe = pipeline('text-generation', model='gpt2', batch_size=8)\n"
)


def test_lint_applies_per_file_ignores_from_the_settings(tmp_path):
    (tmp_path / "a.py").write_text(EIGHT_BIT)
    (tmp_path / "b.py").write_text(EIGHT_BIT)
    settings = Settings(root=tmp_path, per_file_ignores={"b.py": ["LLM1"]})
    os.chdir(tmp_path)
    result = Workspace(settings, use_cache=False).lint(["."])
    assert {d.filename for d in result.diagnostics} == {"a.py"}
    assert result.files_checked == 2


def test_lint_text_is_what_an_editor_buffer_gets(tmp_path):
    result = Workspace(Settings(root=tmp_path), use_cache=False).lint_text(EIGHT_BIT, SourceFile(None, "buffer"))
    assert [d.code for d in result.diagnostics] == ["LLM101", "LLM106"]


def test_good_practices_come_from_the_same_pass(tmp_path):
    (tmp_path / "p.py").write_text(PADDED)
    os.chdir(tmp_path)
    result = Workspace(Settings(root=tmp_path), use_cache=False, practices=True).lint(["p.py"])
    assert [(p.filename, p.row) for p in result.practices] == [("p.py", 2)]
    assert "batch_size=8" in result.practices[0].text


def test_a_fifo_is_reported_not_read(tmp_path):
    os.mkfifo(tmp_path / "x.py")
    (tmp_path / "a.py").write_text(EIGHT_BIT)
    os.chdir(tmp_path)
    result = Workspace(Settings(root=tmp_path), use_cache=False).lint(["x.py", "a.py"])
    fifo = [d for d in result.diagnostics if d.filename == "x.py"]
    assert [(d.code, d.message) for d in fifo] == [("E902", "not a regular file")]
    assert {d.code for d in result.diagnostics if d.filename == "a.py"} == {"LLM101", "LLM106"}


def test_malformed_cache_entries_are_misses(tmp_path):
    (tmp_path / "a.py").write_text(EIGHT_BIT)
    os.chdir(tmp_path)
    workspace = Workspace(Settings(root=tmp_path))
    first = workspace.lint(["a.py"])
    cache_file = workspace.cache.file
    entries = json.loads(cache_file.read_text())
    key = next(iter(entries))
    for broken in (5, [1, 2, 3], [entries[key][0], entries[key][1], {"diagnostics": [{"code": 1}]}]):
        cache_file.write_text(json.dumps({key: broken}))
        again = Workspace(Settings(root=tmp_path)).lint(["a.py"])
        assert again.files_from_cache == 0
        assert [d.code for d in again.diagnostics] == [d.code for d in first.diagnostics]


def test_same_size_and_time_but_new_content_is_a_miss(tmp_path):
    path = tmp_path / "a.py"
    path.write_text(EIGHT_BIT)
    stamp = path.stat()
    cache = Cache(tmp_path / "cache", ["fingerprint"])
    cache.put(path, {"diagnostics": [], "practices": []})
    path.write_text(EIGHT_BIT.replace("x", "y"))
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert path.stat().st_size == stamp.st_size
    assert cache.get(Path(path)) is None


def test_reporters_get_the_rule_s_typed_penalty_fresh_and_from_the_cache(tmp_path):
    from ecolint.penalties import Penalty
    from ecolint.rules import all_rules

    (tmp_path / "a.py").write_text(EIGHT_BIT)
    os.chdir(tmp_path)
    for run in ("fresh", "cached"):
        [first, *_] = Workspace(Settings(root=tmp_path), use_cache=True).lint(["a.py"]).diagnostics
        assert isinstance(first.penalty, Penalty), run
        assert first.penalty is all_rules()[first.code].penalty
        assert first.to_dict()["penalty"] == all_rules()[first.code].penalty.to_dict()
