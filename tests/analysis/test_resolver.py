"""The resolver: what an expression's value is, through names, dicts built step by step, argparse options
and parameter defaults."""

from analysis_helpers import argument, call, facts_of, text

from ecolint.analysis.parameters import number, parameter_default
from ecolint.analysis.values import ValueKind


def value_of(facts, callee: str, keyword: str | None = None, nth: int = 0):
    site = call(facts, callee, nth)
    return facts.resolver.resolve(argument(site, keyword), site.scope, site.order)


def test_a_number_is_followed_through_names():
    value = value_of(facts_of("n = 8\nsize = n\nrun(batch_size=size)\n"), "run", "batch_size")
    assert (value.kind, value.number()) == (ValueKind.CONST, 8)


def test_a_dict_built_step_by_step_gives_the_call_its_keywords():
    facts = facts_of("kw = {}\nkw['load_in_8bit'] = True\nkw.update(device_map='auto')\nload('m', **kw)\n")
    site = call(facts, "load")
    entries = facts.resolver.call_entries(site.node, site.scope, site.order)
    assert entries.get("load_in_8bit").value.provably_true()
    assert entries.get("device_map").value.text() == "auto"


def test_an_argparse_option_is_a_value_known_at_run_time_with_its_default():
    facts = facts_of("import argparse\nparser = argparse.ArgumentParser()\n"
                     "parser.add_argument('--batch-size', type=int, default=4)\nargs = parser.parse_args()\n"
                     "run(batch_size=args.batch_size)\n")
    value = value_of(facts, "run", "batch_size")
    assert value.kind == ValueKind.OPTION and value.flag == "--batch-size"
    assert number(value) == 4


def test_a_parameter_default_counts_only_when_no_call_passes_the_parameter():
    source = "def evaluate(batch_size=1):\n    pipe(data, batch_size=batch_size)\n"
    for extra, expected in (("", 1), ("evaluate(batch_size=8)\n", None)):
        facts = facts_of(source + extra)
        site = call(facts, "pipe")
        value = facts.resolver.resolve(argument(site, "batch_size"), site.scope, site.order)
        assert parameter_default(facts, value, site) == expected


def test_an_unknown_value_says_why():
    value = value_of(facts_of("def run(size):\n    go(size)\n"), "go")
    assert (value.kind, value.reason) == (ValueKind.UNKNOWN, "parameter")


def test_origin_call_finds_what_built_a_loop_s_iterable():
    facts = facts_of("loader = DataLoader(dataset, batch_size=1)\nfor batch in loader:\n    step(batch)\n")
    [loop] = facts.loops
    origin = facts.resolver.origin_call(loop.iter, loop.scope, loop.order)
    assert text(origin.func) == "DataLoader"


def test_a_dict_or_an_empty_one_keeps_the_keys_set_afterwards():
    facts = facts_of("def run(name, model_kwargs=None):\n    model_kwargs = model_kwargs or {}\n"
                     "    model_kwargs['load_in_8bit'] = False\n    load(name, **model_kwargs)\n")
    site = call(facts, "load")
    entries = facts.resolver.call_entries(site.node, site.scope, site.order)
    assert entries.get("load_in_8bit").value.provably_false()
    assert entries.unknown_splat and entries.from_caller


def test_unknown_splats_are_the_caller_s_only_when_each_is_a_parameter():
    source = ("import json\ndef run(name, **kwargs):\n    extra = json.load(open('f'))\n"
              "    build(name, **kwargs)\n    build(name, **extra)\n    build(name, **{**kwargs, **extra})\n")
    facts = facts_of(source)
    found = []
    for nth in range(3):
        site = call(facts, "build", nth)
        entries = facts.resolver.call_entries(site.node, site.scope, site.order)
        found.append((entries.unknown_splat, entries.from_caller))
    assert found == [(True, True), (True, False), (True, False)]
