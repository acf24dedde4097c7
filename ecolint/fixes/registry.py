"""The fixers, keyed by rule code, and the checks every proposed fix must pass before it is offered.

A fixer gets the fix context and a finding, and returns a ``Proposal`` (edits of the original
source) or raises ``NoFix``. Before a fix is attached to a diagnostic it must:

* consist of edits that do not overlap and stay inside the text;
* change the text, and leave text that Python parses;
* keep every comment it touches (each removed comment reappears in the inserted text).

The fix's applicability is the rule's (``rules/*.yaml``), or lower when the fixer says so for a
particular case; never higher.
"""

from __future__ import annotations

import ast
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import libcst as cst

from ecolint.diagnostics import Finding
from ecolint.fixes.context import FixContext, FixSettings, NoFix, Proposal
from ecolint.fixes.edits import APPLICABILITIES, Edit, EditError, edits_to_dicts, normalize
from ecolint.fixes.together import parsing_fixes
from ecolint.project_versions import NO_PINS
from ecolint.rules import all_rules

Fixer = Callable[[FixContext, Finding], Proposal]
FIXERS: dict[str, Fixer] = {}

# Tests set this to see a fixer's unexpected exceptions instead of getting "no fix".
STRICT = False


def fixer(code: str) -> Callable[[Fixer], Fixer]:
    def register(function: Fixer) -> Fixer:
        FIXERS[code] = function
        return function

    return register


def parses(text: str) -> bool:
    """Whether Python parses ``text`` (its warnings about the user's code are not printed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
    return True


def check_edits(ctx: FixContext, edits: list) -> list:
    """The edits, normalized, if they pass the checks one fix can pass alone (all but the parse); else
    ``NoFix``. Each check reads only the text the edits touch."""
    try:
        edits = normalize(edits)
    except EditError as error:
        raise NoFix(str(error)) from None
    if not edits or edits[0].start < 0 or edits[-1].end > len(ctx.source):
        raise NoFix("edits outside the text")
    removed: Counter[str] = Counter()
    for edit in edits:
        removed.update(ctx.comments_within(edit.start, edit.end))
    inserted = "".join(edit.content for edit in edits)
    for comment, count in removed.items():
        if inserted.count(comment) < count:
            raise NoFix(f"the fix would drop the comment {comment!r}")
    if all(edit.content == ctx.source[edit.start:edit.end] for edit in edits):
        raise NoFix("the fix changes nothing")
    return edits


@dataclass(frozen=True)
class Offer:
    """A fix that passed ``check_edits``; whether the fixed code parses is checked for all offers at once."""

    edits: list[Edit]
    applicability: str
    message: str


def offer(ctx: FixContext, finding: Finding) -> Offer | None:
    """The fix of a finding before the parse, or None when its rule has no fix or none is safe to offer."""
    function = FIXERS.get(finding.code)
    rule = all_rules().get(finding.code)
    if function is None or rule is None or rule.fix_applicability not in APPLICABILITIES:
        return None
    try:
        proposal = function(ctx, finding)
        edits = check_edits(ctx, proposal.edits)
    except NoFix:
        return None
    except Exception:
        if STRICT:
            raise
        return None  # a fixer bug must never stop linting; the finding is reported without a fix
    applicability = "unsafe" if proposal.applicability == "unsafe" else rule.fix_applicability
    return Offer(edits, applicability, proposal.message or rule.fix_title)


def propose_all(ctx: FixContext, findings: list[Finding]) -> list[dict | None]:
    """The Ruff-shaped fix dict of each finding, or None; the fixed code is parsed once for all of them
    (more only when some fail)."""
    offers = [offer(ctx, finding) for finding in findings]
    made = [item for item in offers if item is not None]
    passed = iter(parsing_fixes(ctx.source, [item.edits for item in made], parses))
    fixes: list[dict | None] = []
    for item in offers:
        if item is None or not next(passed):
            fixes.append(None)
            continue
        fixes.append({"applicability": item.applicability, "message": item.message,
                      "edits": edits_to_dicts(item.edits, ctx.index)})
    return fixes


def fixes_for(module: cst.Module, source: str, positions, versions=None,
              settings: FixSettings | None = None) -> Callable[[list[Finding]], list[dict | None]]:
    """A function giving findings of ``module`` their fix dicts (the context is built once, lazily).

    The fixers are those of the rule modules imported so far (importing ``ecolint.checks`` imports them all)."""
    ctx = FixContext(module, source, positions, NO_PINS if versions is None else versions, settings)
    return lambda findings: propose_all(ctx, findings)
