"""Fetch the manifest's files into bench/realworld/files/ (git-ignored; third-party code is never committed).

Each file comes from a local git mirror when one is found (``--mirrors DIR``: folders named
``owner+name`` holding a bare repository, or ``owner+name/repo``), else from
``https://raw.githubusercontent.com/OWNER/NAME/COMMIT/PATH``. Files already present are kept.

    python bench/realworld/fetch.py [--mirrors /work/.mirror] [--only owner/name]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from manifest import Entry, load_manifest  # noqa: E402


def mirror_dir(mirrors: Path | None, repo: str) -> Path | None:
    if mirrors is None:
        return None
    base = mirrors / repo.replace("/", "+")
    for candidate in (base / "repo", base):
        if (candidate / "HEAD").exists() or (candidate / ".git").exists():
            return candidate
    return None


def from_mirror(git_dir: Path, entry: Entry, path: str) -> bytes | None:
    result = subprocess.run(
        ["git", f"--git-dir={git_dir}", "show", f"{entry.commit}:{path}"], capture_output=True
    )
    return result.stdout if result.returncode == 0 else None


def from_github(entry: Entry, path: str) -> bytes | None:
    url = f"https://raw.githubusercontent.com/{entry.repo}/{entry.commit}/{path}"
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.read()
    except OSError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, default=None, help="folder of git mirrors named owner+name")
    parser.add_argument("--only", action="append", default=[], help="fetch only these repositories")
    parser.add_argument("--no-network", action="store_true", help="use mirrors only")
    args = parser.parse_args(argv)
    missing = 0
    entries = load_manifest()
    for entry in entries:
        if args.only and entry.repo not in args.only:
            continue
        for path in (entry.path, *entry.context):  # the file, and the project files it imports from
            target = entry.folder / path
            if target.exists():
                continue
            data = None
            git_dir = mirror_dir(args.mirrors, entry.repo)
            if git_dir is not None:
                data = from_mirror(git_dir, entry, path)
            if data is None and not args.no_network:
                data = from_github(entry, path)
            if data is None:
                print(f"missing: {entry.repo}@{entry.commit[:12]}:{path}", file=sys.stderr)
                missing += 1
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    present = sum(entry.local_path.exists() for entry in entries)
    print(f"{present} of {len(entries)} files present in {HERE / 'files'}; {missing} could not be fetched")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
