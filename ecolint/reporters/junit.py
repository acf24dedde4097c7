"""JUnit XML: a test suite per file, a failing test case per diagnostic (CI test-report viewers)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from itertools import groupby

from ecolint.diagnostics import Diagnostic
from ecolint.reporters import Summary, reporter


def _where(diagnostic: Diagnostic) -> str:
    cell = f"cell {diagnostic.cell}, " if diagnostic.cell is not None else ""
    return f"{cell}line {diagnostic.location.row}, col {diagnostic.location.column}"


@reporter("junit")
def render(diagnostics: list[Diagnostic], summary: Summary) -> str:
    root = ET.Element("testsuites", name="ecolint", tests=str(max(len(diagnostics), 1)),
                      failures=str(len(diagnostics)), errors="0")
    if not diagnostics:
        suite = ET.SubElement(root, "testsuite", name="ecolint", tests="1", failures="0", errors="0", skipped="0")
        ET.SubElement(suite, "testcase", name="No errors found", classname="ecolint")
    for filename, group in groupby(sorted(diagnostics, key=Diagnostic.sort_key), key=lambda d: d.filename):
        items = list(group)
        suite = ET.SubElement(root, "testsuite", name=filename, tests=str(len(items)), failures=str(len(items)),
                              errors="0", skipped="0")
        for diagnostic in items:
            case = ET.SubElement(suite, "testcase", name=f"org.ecolint.{diagnostic.code}", classname=filename,
                                 file=filename, line=str(diagnostic.location.row))
            failure = ET.SubElement(case, "failure", message=diagnostic.message, type=diagnostic.code)
            failure.text = f"{_where(diagnostic)}: {diagnostic.code} {diagnostic.message}"
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
