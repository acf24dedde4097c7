"""Each setting is declared once (ecolint.config.SETTINGS); the config key, the ``ecolint check`` option and
the flake8 option come from that declaration and read a value the same way."""

from __future__ import annotations

import argparse

from click.testing import CliRunner

from ecolint.cli import build_settings, main
from ecolint.config import KNOWN_KEYS, SETTINGS, ConfigError, settings_from_table
from ecolint.flake8_plugin import EcolintChecker


def test_the_config_keys_are_the_declared_settings():
    keys = [setting.key for setting in SETTINGS]
    assert len(keys) == len(set(keys))
    assert KNOWN_KEYS == set(keys)


def test_every_command_line_setting_is_an_option_of_check_with_its_declared_help():
    help_text = " ".join(CliRunner().invoke(main, ["check", "--help"]).output.split())
    for setting in SETTINGS:
        if setting.command_line:
            assert setting.option in help_text
            assert " ".join(setting.help.split()[:4]) in help_text


def test_a_size_reads_the_same_from_the_config_file_and_the_command_line(tmp_path):
    from_config = settings_from_table({"max-file-size": "512KB"}, tmp_path, "pyproject.toml")
    from_command_line = build_settings((str(tmp_path),), None, True, {"max_file_size": "512KB"})
    assert from_config.max_file_size == from_command_line.max_file_size == 512 * 1024


def test_errors_name_the_config_key_or_the_option(tmp_path):
    messages = []
    for read in (lambda: settings_from_table({"max-file-size": "huge"}, tmp_path, "pyproject.toml"),
                 lambda: build_settings((str(tmp_path),), None, True, {"max_file_size": "huge"})):
        try:
            read()
        except ConfigError as error:
            messages.append(str(error))
    named = [message.split(" must ")[0] for message in messages]
    assert named == ["pyproject.toml: max-file-size", "--max-file-size"]


def test_flake8_offers_the_declared_flake8_settings_as_eco_options():
    parser = argparse.ArgumentParser()
    added = []

    class Options:
        def add_option(self, *names, parse_from_config=False, **kwargs):
            added.append(names[0])
            parser.add_argument(*names, **kwargs)

        def extend_default_ignore(self, codes):
            pass

    EcolintChecker.add_options(Options())
    declared = [f"--eco-{setting.key}" for setting in SETTINGS if setting.flake8]
    assert declared == ["--eco-gpu", "--eco-transformers-version"] and set(declared) <= set(added)
    EcolintChecker.parse_options(parser.parse_args(["--eco-gpu", "a800", "--eco-transformers-version", "4.57"]))
    assert EcolintChecker.gpu.key == "a800" and EcolintChecker.transformers_version == "4.57"
    EcolintChecker.parse_options(parser.parse_args([]))
    assert EcolintChecker.gpu is None and EcolintChecker.transformers_version is None
