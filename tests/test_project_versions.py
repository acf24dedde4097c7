"""The pinned library versions read from the project's files, and how they reach checks and the cache."""

from __future__ import annotations

import os
import textwrap

import pytest
from click.testing import CliRunner

from ecolint.cli import main
from ecolint.project_versions import PACKAGES, UNKNOWN, clear_cache, minimum_allowed, project_versions


@pytest.fixture(autouse=True)
def fresh():
    clear_cache()
    yield
    clear_cache()


def write(folder, name, text):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize("spec, minimum", [
    ("==4.44.2", (4, 44, 2)), (">=4.40,<5", (4, 40)), ("~=4.56.0", (4, 56, 0)), ("<4.56", None), ("", None),
    ("^4.57", (4, 57)), ("==4.57.*", (4, 57, 0)), (">=4.40, >=4.50", (4, 50)), ("==4.56.0.dev0", (4, 56, 0)),
])
def test_lowest_allowed_version(spec, minimum):
    assert minimum_allowed(spec) == minimum


def test_requirements_file(tmp_path):
    write(tmp_path, "requirements-gpu.txt", """\
        # comment
        -r base.txt
        transformers[torch]>=4.40 ; python_version > "3.8"
        bitsandbytes==0.45.0
        torch
    """)
    found = project_versions(tmp_path)
    assert found.version("transformers") == "4.40"
    assert found.version("bitsandbytes") == "0.45.0"
    assert found.version("torch") == UNKNOWN and found.pin("torch") is not None
    assert found.version("vllm") == UNKNOWN and found.pin("vllm") is None
    assert found.dtype_keyword() == "torch_dtype"


def test_pyproject_dependencies_optional_groups_and_poetry(tmp_path):
    write(tmp_path, "pyproject.toml", """\
        [project]
        dependencies = ["torch>=2.4"]
        [project.optional-dependencies]
        serve = ["vllm==0.6.3"]
        [tool.poetry.dependencies]
        transformers = {version = "^4.57"}
        [tool.poetry.group.dev.dependencies]
        bitsandbytes = "*"
    """)
    found = project_versions(tmp_path)
    assert [found.version(name) for name in PACKAGES] == ["4.57", UNKNOWN, "2.4", "0.6.3"]
    assert found.dtype_keyword() == "dtype"


def test_setup_cfg_setup_py_pipfile_and_lock_files(tmp_path):
    write(tmp_path, "a/setup.cfg", "[options]\ninstall_requires =\n    transformers>=4.56\n")
    write(tmp_path, "b/setup.py", 'from setuptools import setup\nsetup(install_requires=["transformers==4.38.0"])\n')
    write(tmp_path, "c/Pipfile", '[packages]\ntransformers = "==4.58"\n')
    write(tmp_path, "d/poetry.lock", '[[package]]\nname = "transformers"\nversion = "4.41.2"\n\n'
                                     '[[package]]\nname = "torch"\nversion = "2.3.1"\n')
    write(tmp_path, "e/uv.lock", 'version = 1\n\n[[package]]\nname = "transformers"\nversion = "4.57.1"\n'
                                 'source = { registry = "https://pypi.org/simple" }\n')
    expected = {"a": "4.56", "b": "4.38.0", "c": "4.58", "d": "4.41.2", "e": "4.57.1"}
    for folder, version in expected.items():
        assert project_versions(tmp_path / folder).version("transformers") == version, folder
    assert project_versions(tmp_path / "d").version("torch") == "2.3.1"


def test_nearest_folder_wins_and_the_lowest_version_in_a_folder(tmp_path):
    write(tmp_path, "requirements.txt", "transformers==4.30\nvllm==0.5\n")
    write(tmp_path, "app/pyproject.toml", '[project]\ndependencies = ["transformers>=4.57"]\n')
    write(tmp_path, "app/requirements-dev.txt", "transformers>=4.50\n")
    found = project_versions(tmp_path / "app" / "src")
    assert found.version("transformers") == "4.50"  # the app folder allows 4.50: the fix must work there
    assert found.version("vllm") == "0.5"  # not named in app/: read further up
    assert found.pin("transformers").describe() == "transformers>=4.50 (requirements-dev.txt)"


def test_results_are_cached_per_folder(tmp_path):
    pin = write(tmp_path, "requirements.txt", "transformers==4.30\n")
    assert project_versions(tmp_path).version("transformers") == "4.30"
    pin.write_text("transformers==4.60\n")
    assert project_versions(tmp_path).version("transformers") == "4.30"
    clear_cache()
    assert project_versions(tmp_path).version("transformers") == "4.60"


def test_no_folder_and_a_folder_without_pins(tmp_path):
    (tmp_path / ".git").mkdir()
    assert project_versions(None).pins == ()
    assert project_versions(tmp_path / "x").pins == ()
    assert project_versions(tmp_path).dtype_keyword() == "torch_dtype"


FP32 = textwrap.dedent('''\
    import torch
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig
    m = AutoModelForCausalLM.from_pretrained("gpt2", quantization_config=BitsAndBytesConfig(load_in_4bit=True))
''')


def test_a_changed_pin_file_invalidates_the_cached_fix(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    pin = write(tmp_path, "requirements.txt", "transformers==4.40\n")
    source = write(tmp_path, "load.py", FP32)
    args = ["check", "--no-config", "--output-format", "json", "--unsafe-fixes", "--select", "LLM102", str(source)]
    first = CliRunner().invoke(main, args, catch_exceptions=False).output
    assert "torch_dtype=torch.float16" in first
    pin.write_text("transformers==4.57\n")
    stamp = pin.stat().st_mtime_ns
    os.utime(pin, ns=(stamp, stamp + 10**9))
    clear_cache()  # a new run: a new process reads the pins anew
    second = CliRunner().invoke(main, args, catch_exceptions=False).output
    assert "dtype=torch.float16" in second and "torch_dtype" not in second


LOAD = ('from transformers import AutoModelForCausalLM\n'
        'm = AutoModelForCausalLM.from_pretrained("Qwen/Qwen2-1.5B", device_map="auto")\n')


def llm306(tmp_path, monkeypatch, *args):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "serve.py").write_text(LOAD, encoding="utf-8")
    result = CliRunner().invoke(main, ["check", "--no-cache", "--select", "LLM306", *args, "serve.py"])
    return result.exit_code, result.output


def test_the_target_version_decides_over_the_pin_and_says_so(tmp_path, monkeypatch):
    write(tmp_path, "requirements.txt", "transformers==4.44.2\n")
    code, output = llm306(tmp_path, monkeypatch)
    assert code == 1 and "with transformers==4.44.2 (requirements.txt)" in output
    assert llm306(tmp_path, monkeypatch, "--transformers-version", "5.2")[0] == 0  # v5 loads in the checkpoint dtype
    write(tmp_path, "pyproject.toml", '[tool.ecolint]\ntransformers-version = "4.57"\n')
    code, output = llm306(tmp_path, monkeypatch)
    assert "with transformers==4.57 (the transformers-version setting)" in output
    assert llm306(tmp_path, monkeypatch, "--transformers-version", "5.0")[0] == 0  # the command line wins


def installed(folder, monkeypatch, version):
    """``folder`` first on sys.path, with transformers ``version`` installed in it (its metadata)."""
    write(folder, f"transformers-{version}.dist-info/METADATA", f"Name: transformers\nVersion: {version}\n")
    monkeypatch.syspath_prepend(str(folder))


def test_without_pin_or_setting_the_installed_version_decides(tmp_path, monkeypatch):
    monkeypatch.delenv("ECOLINT_IGNORE_INSTALLED")
    installed(tmp_path / "site-a", monkeypatch, "4.57.6")
    code, output = llm306(tmp_path, monkeypatch)
    assert "with transformers==4.57.6 (installed where ecolint runs)" in output
    installed(tmp_path / "site-b", monkeypatch, "5.3.0")
    assert llm306(tmp_path, monkeypatch)[0] == 0
    write(tmp_path, "requirements.txt", "transformers>=4.40\n")  # a pin that allows v4 beats the installed v5
    clear_cache()
    code, output = llm306(tmp_path, monkeypatch)
    assert code == 1 and "the pin transformers>=4.40 (requirements.txt) allows it" in output


def test_nothing_known_keeps_the_conditional_message(tmp_path, monkeypatch):
    code, output = llm306(tmp_path, monkeypatch)
    assert code == 1 and "when transformers < 5," in output


@pytest.mark.parametrize("value", ["x", "", "five"])
def test_a_bad_target_version_is_one_line_and_exit_2(tmp_path, monkeypatch, value):
    code, output = llm306(tmp_path, monkeypatch, "--transformers-version", value)
    assert code == 2 and "--transformers-version must be a version number" in output
    write(tmp_path, "pyproject.toml", "[tool.ecolint]\ntransformers-version = true\n")
    code, output = llm306(tmp_path, monkeypatch)
    assert code == 2 and "transformers-version must be a version number" in output and "Traceback" not in output


def test_a_pyproject_is_parsed_once_for_the_settings_and_the_pins(tmp_path, monkeypatch):
    from ecolint import config

    tomllib = config._tomllib()

    write(tmp_path, "pyproject.toml", """\
        [project]
        dependencies = ["transformers>=4.40,<5"]

        [tool.ecolint]
        ignore = ["LLM101"]
    """)
    parsed = []
    loads = tomllib.loads
    monkeypatch.setattr(tomllib, "loads", lambda text: parsed.append(text) or loads(text))
    config.toml_data.cache_clear()
    settings = config.load_settings(None, tmp_path)
    versions = project_versions(tmp_path)
    assert settings.ignore == ["LLM101"]
    assert versions.minimum("transformers") == (4, 40)
    assert len(parsed) == 1
