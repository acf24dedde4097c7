"""The installed version of a library, found as importlib.metadata finds it, without loading it."""

from __future__ import annotations

import email
import importlib
import sys
import zipfile
from importlib import metadata
from importlib.metadata import _adapters

import pytest

from ecolint.installed import _NOT_FOUND, _header, _search, installed_version


def expected(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


@pytest.fixture
def site(tmp_path, monkeypatch):
    """An empty folder first on sys.path; each test writes distributions' metadata into it."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return folder


def dist(folder, name: str, text: str, metadata_file: str = "METADATA"):
    (folder / name).mkdir()
    if metadata_file:
        (folder / name / metadata_file).write_text(text, encoding="utf-8")


def test_every_distribution_of_this_environment_has_the_version_importlib_metadata_reads():
    names = sorted({distribution.metadata["Name"] for distribution in metadata.distributions()})
    assert len(names) > 5
    for name in names:
        assert _search(name) == metadata.version(name), name


@pytest.mark.parametrize("package", ["Foo.Bar", "foo-bar", "FOO__bar", "foo_bar"])
def test_names_are_compared_normalized(site, package):
    dist(site, "Foo_Bar-1.2.3.dist-info", "Name: Foo_Bar\nVersion: 1.2.3\n")
    assert installed_version(package) == expected(package) == "1.2.3"


def test_the_version_is_the_metadata_header_not_the_folder_name(site):
    dist(site, "thing-9.9.dist-info", "Metadata-Version: 2.1\nName: thing\nVersion: 1.0rc1\n")
    assert installed_version("thing") == expected("thing") == "1.0rc1"


def test_the_first_folder_on_sys_path_wins(site, tmp_path, monkeypatch):
    dist(site, "first-1.0.dist-info", "Version: 1.0\n")
    later = tmp_path / "later"
    later.mkdir()
    dist(later, "first-2.0.dist-info", "Version: 2.0\n")
    monkeypatch.syspath_prepend(str(site))  # site before later
    monkeypatch.setattr(sys, "path", [*sys.path, str(later)])
    assert installed_version("first") == expected("first") == "1.0"


def test_egg_info_folders_and_files_are_read(site):
    dist(site, "old_style-0.5-py3.11.egg-info", "Metadata-Version: 1.0\nName: old-style\nVersion: 0.5\n", "PKG-INFO")
    (site / "older-0.1-py3.11.egg-info").write_text("Metadata-Version: 1.0\nName: older\nVersion: 0.1\n",
                                                    encoding="utf-8")
    assert installed_version("old-style") == expected("old-style") == "0.5"
    assert installed_version("older") == expected("older") == "0.1"


def test_empty_metadata_falls_back_to_pkg_info(site):
    dist(site, "mixed-1.0.dist-info", "")
    (site / "mixed-1.0.dist-info" / "PKG-INFO").write_text("Version: 1.1\n", encoding="utf-8")
    assert installed_version("mixed") == expected("mixed") == "1.1"


def test_metadata_without_a_version_and_a_missing_package_give_none(site):
    dist(site, "bare-1.0.dist-info", "Name: bare\n")
    assert installed_version("bare") is None
    assert installed_version("not-installed-anywhere") is None
    assert expected("not-installed-anywhere") is None


HEADERS = [
    "Version: 1.0\n",
    "Version:1.0\r\nName: x\r\n",
    "Version: \t1.0  \n",
    "version: 1.0\nVersion: 2.0\n",
    "Metadata-Version: 2.1\nName: x\n\nVersion: 9.9 in the body\n",
    "From someone\nVersion: 1.0\n",
    "Name: x\n: no name\nVersion: 1.0\n",
    "Name: x\nnot a header line\nVersion: 1.0\n",
    "Version: 1.0\n  continued\n\tand more\nName: x\n",
    " leading continuation\nVersion: 1.0\n",
    "Version : 1.0\n",
    "Version: 1.0\rName: x\r",
    "Name: x\n",
    "",
]


@pytest.mark.parametrize("text", HEADERS)
def test_headers_are_read_as_importlib_metadata_reads_them(text):
    assert _header(text, "version") == _adapters.Message(email.message_from_string(text))["Version"]


def test_a_zip_on_sys_path_is_left_to_importlib_metadata(tmp_path, monkeypatch):
    archive = tmp_path / "packages.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("zipped-3.0.dist-info/METADATA", "Name: zipped\nVersion: 3.0\n")
    monkeypatch.syspath_prepend(str(archive))
    importlib.invalidate_caches()
    assert _search("zipped") is _NOT_FOUND
    assert installed_version("zipped") == expected("zipped") == "3.0"


def test_a_finder_that_lists_distributions_is_left_to_importlib_metadata(monkeypatch):
    class Finder:
        @staticmethod
        def find_spec(*args):
            return None

        @staticmethod
        def find_distributions(context=None):
            return iter([])

    monkeypatch.setattr(sys, "meta_path", [Finder, *sys.meta_path])
    assert _search("click") is _NOT_FOUND
    assert installed_version("click") == expected("click")
