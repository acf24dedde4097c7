"""Token reports: ECOLINT_TOKENS= lines, report_tokens(), the tokens file."""

import pytest

from ecolint.measure import tokens
from ecolint.measure.tokens import (
    TOKENS_FILE_ENV,
    parse_tokens_line,
    read_tokens_file,
    report_tokens,
)


def test_parse_tokens_line():
    assert parse_tokens_line("ECOLINT_TOKENS=2560\n") == 2560
    assert parse_tokens_line(b"  ECOLINT_TOKENS = 12 \r\n") == 12
    assert parse_tokens_line("tokens: ECOLINT_TOKENS=5") is None
    assert parse_tokens_line("ECOLINT_TOKENS=-3") is None
    assert parse_tokens_line("ECOLINT_TOKENS=1.5") is None


def test_report_tokens_writes_to_the_file_of_the_measuring_process(tmp_path, monkeypatch):
    path = tmp_path / "tokens.txt"
    monkeypatch.setenv(TOKENS_FILE_ENV, str(path))
    report_tokens(100)
    report_tokens(28)
    assert read_tokens_file(path) == 128


def test_report_tokens_without_a_measurement_does_nothing(monkeypatch):
    monkeypatch.delenv(TOKENS_FILE_ENV, raising=False)
    assert report_tokens(7) == 7


def test_report_tokens_reaches_active_in_process_measurements(monkeypatch):
    monkeypatch.delenv(TOKENS_FILE_ENV, raising=False)

    class Sink:
        total = 0

        def add_tokens(self, n):
            self.total += n

    sink = Sink()
    tokens.register(sink)
    try:
        report_tokens(5)
        report_tokens(6.0)
    finally:
        tokens.unregister(sink)
    report_tokens(100)
    assert sink.total == 11


@pytest.mark.parametrize("bad", [-1, 2.5, "many", None, True])
def test_report_tokens_rejects_bad_counts(bad):
    with pytest.raises(ValueError):
        report_tokens(bad)


def test_missing_or_empty_tokens_file(tmp_path):
    assert read_tokens_file(tmp_path / "none.txt") is None
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert read_tokens_file(empty) is None


def test_report_tokens_is_also_ecolint_energy_report_tokens():
    import ecolint.energy

    assert ecolint.energy.report_tokens is report_tokens
    from ecolint.energy import measure_energy

    assert measure_energy.__name__ == "measure_energy"
    with pytest.raises(AttributeError):
        ecolint.energy.no_such_name
