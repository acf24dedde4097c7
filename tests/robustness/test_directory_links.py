"""Symbolic links to directories, as Ruff and flake8 treat them: one found while walking is not followed
(inside the tree or outside it, loops included); one named on the command line is. Links to files are
linted wherever they point."""

from __future__ import annotations

import os

from robusthelpers import GOOD, good_findings_in, run_ecolint, write


def linted(output: str) -> set[str]:
    return {line.split(":", 1)[0] for line in output.splitlines() if ": LLM" in line or ": E9" in line}


def test_a_link_to_a_directory_outside_the_tree_is_not_followed(project, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    write(outside, "elsewhere.py", GOOD)
    write(project, "good.py", GOOD)
    os.symlink(outside, project / "vendor")
    out = run_ecolint("check", "--no-cache", ".", cwd=project, timeout=60).stdout.decode()
    assert linted(out) == {"good.py"}


def test_a_link_to_a_directory_inside_the_tree_is_not_followed_so_nothing_is_linted_twice(project):
    write(project, "pkg/good.py", GOOD)
    os.symlink("pkg", project / "alias")
    out = run_ecolint("check", "--no-cache", ".", cwd=project, timeout=60).stdout.decode()
    assert linted(out) == {"pkg/good.py"}


def test_link_loops_end_the_walk_of_that_branch_silently(project):
    write(project, "good.py", GOOD)
    write(project, "loop/inner.py", GOOD)
    os.symlink("..", project / "loop" / "up")
    os.symlink(".", project / "loop" / "self")
    result = run_ecolint("check", "--no-cache", ".", cwd=project, timeout=60)
    out = result.stdout.decode()
    assert linted(out) == {"good.py", "loop/inner.py"}
    assert result.returncode == 1 and good_findings_in(out)


def test_a_link_to_a_directory_named_on_the_command_line_is_followed_but_not_the_links_inside(
        project, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    write(outside, "elsewhere.py", GOOD)
    os.symlink(outside, outside / "again")  # a loop, not followed from inside
    os.symlink(outside, project / "vendor")
    out = run_ecolint("check", "--no-cache", "vendor", cwd=project, timeout=60).stdout.decode()
    assert linted(out) == {"vendor/elsewhere.py"}


def test_a_link_to_a_file_outside_the_tree_is_linted(project, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    write(outside, "elsewhere.py", GOOD)
    os.symlink(outside / "elsewhere.py", project / "good.py")
    out = run_ecolint("check", "--no-cache", ".", cwd=project, timeout=60).stdout.decode()
    assert good_findings_in(out)
