"""The folders a script adds to sys.path are told from paths built from __file__ or absolute literals only."""

import pytest

from ecolint.analysis.sys_path import added_folders


@pytest.mark.parametrize("expression, folder", [
    ('os.path.join(os.path.dirname(__file__), "utils")', "tools/utils"),
    ('os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "shared")', "shared"),
    ("os.path.dirname(os.path.realpath(__file__))", "tools"),
    ('str(Path(__file__).resolve().parents[1] / "shared")', "shared"),
    ('Path(__file__).parent.parent / "shared"', "shared"),
])
def test_a_path_built_from_the_file_names_a_folder(tmp_path, expression, folder):
    for name in ("tools/utils", "shared"):
        (tmp_path / name).mkdir(parents=True)
    importer = tmp_path / "tools" / "run.py"
    text = f"import os, sys\nsys.path.insert(0, {expression})\nimport helpers\n"
    assert added_folders(importer, text) == (tmp_path / folder,)


@pytest.mark.parametrize("expression", ['"."', '"../shared"', 'os.environ["LIB"]', "here", 'os.path.join(base, "x")',
                                        '"/no/such/folder"'])
def test_a_path_that_depends_on_the_run_or_does_not_exist_names_none(tmp_path, expression):
    (tmp_path / "shared").mkdir()
    text = f"import os, sys\nsys.path.append({expression})\n"
    assert added_folders(tmp_path / "tools" / "run.py", text) == ()


def test_the_absolute_literal_of_an_existing_folder_is_kept(tmp_path):
    (tmp_path / "shared").mkdir()
    text = f"import sys\nsys.path.append({str(tmp_path / 'shared')!r})  # a comment (with parentheses)\n"
    assert added_folders(tmp_path / "run.py", text) == (tmp_path / "shared",)
