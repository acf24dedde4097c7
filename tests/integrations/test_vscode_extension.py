"""The VS Code extension in editors/vscode: it builds into a .vsix, and finds ecolint as documented.

Needs node and npm (``npm ci`` installs the extension's packages from package-lock.json when
node_modules is missing). Without them these tests are skipped, except in CI, where that is a
failure (editor_tools.py).
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest
from editor_tools import program

EXTENSION = Path(__file__).resolve().parents[2] / "editors" / "vscode"


def tool(name: str) -> str:
    return program(name, "node 20 and npm")


def run(*command: str) -> subprocess.CompletedProcess:
    completed = subprocess.run(command, cwd=EXTENSION, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, f"{' '.join(command)}:\n{completed.stdout}\n{completed.stderr}"
    return completed


@pytest.fixture(scope="module")
def vsix(tmp_path_factory) -> Path:
    """The extension packaged by ``vsce package`` (which compiles the TypeScript first)."""
    npm, npx = tool("npm"), tool("npx")
    tool("node")
    if not (EXTENSION / "node_modules" / "@vscode" / "vsce").is_dir():
        run(npm, "ci", "--no-audit", "--no-fund")
    out = tmp_path_factory.mktemp("vsix") / "ecolint.vsix"
    run(npx, "--no-install", "vsce", "package", "--skip-license", "--out", str(out))
    return out


def test_vsce_packages_the_extension_with_its_client_and_settings(vsix: Path):
    with zipfile.ZipFile(vsix) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("extension/package.json"))
        code = archive.read("extension/out/extension.js").decode("utf-8")
    assert "extension/node_modules/vscode-languageclient/package.json" in names
    assert not [name for name in names if name.endswith(".ts") and "/node_modules/" not in name]
    settings = manifest["contributes"]["configuration"]["properties"]
    assert sorted(settings) == ["ecolint.gpu", "ecolint.path", "ecolint.unsafeFixes"]
    assert manifest["main"] == "./out/extension.js"
    assert '"lsp"' in code and "ms-python.python" in code


def find(scenario: dict) -> dict:
    result = run(tool("node"), "test/find_ecolint.js", json.dumps(scenario))
    return json.loads(result.stdout)


def test_the_extension_finds_ecolint_in_the_selected_python_environment(vsix: Path, tmp_path):
    environment = tmp_path / "venv" / "bin"
    environment.mkdir(parents=True)
    (environment / "python").touch()
    script = environment / "ecolint"
    script.touch()
    found = find({"path": [], "python": str(environment / "python")})
    assert (found["command"], found["args"]) == (str(script), ["lsp"])

    script.unlink()  # not installed there: the PATH
    found = find({"path": [], "python": str(environment / "python")})
    assert (found["command"], found["args"]) == ("ecolint", ["lsp"])

    found = find({"path": ["/opt/tools/ecolint"], "python": str(environment / "python")})
    assert (found["command"], found["args"]) == ("/opt/tools/ecolint", ["lsp"])  # the setting wins
