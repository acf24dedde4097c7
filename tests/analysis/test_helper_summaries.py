"""Helper summaries: which of a module's functions generate for the one item they are given, and the
chain of calls from a call in a loop down to the generation."""

from analysis_helpers import facts_of, text

from ecolint.analysis.helpers import callee_text, generator_summaries

MODEL = ("from transformers import AutoModelForCausalLM, AutoTokenizer\n"
         "model = AutoModelForCausalLM.from_pretrained('gpt2')\ntok = AutoTokenizer.from_pretrained('gpt2')\n\n")
HELPERS = MODEL + (
    "def answer(question):\n    ids = tok(question, return_tensors='pt')\n    return model.generate(**ids)\n\n"
    "def outer(q):\n    return answer(q)\n\n"
    "def describe(q):\n    return f'Q: {q}'\n\n"
)


def summaries_by_name(facts) -> dict:
    functions = {id(info.node): info.name for info in facts.resolver.functions.values()}
    return {functions[key]: chain for key, chain in generator_summaries(facts.collector, facts).items()}


def test_functions_that_generate_for_their_parameter_are_summarised_with_their_chain():
    summaries = summaries_by_name(facts_of(HELPERS))
    assert summaries == {"answer": ("answer()", "model.generate()"),
                         "outer": ("outer()", "answer()", "model.generate()")}


def test_a_call_of_a_helper_in_a_loop_is_recorded_with_its_chain_and_arguments():
    facts = facts_of(HELPERS + "for q in questions:\n    outer(q)\n    describe(q)\n")
    [helper] = facts.helper_calls
    assert helper.chain == ("outer()", "answer()", "model.generate()")
    assert [text(argument) for argument in helper.arguments] == ["q"]


def test_a_helper_called_outside_any_loop_is_not_a_per_item_call():
    assert facts_of(HELPERS + "outer(question)\n").helper_calls == []


def test_a_function_that_generates_for_something_else_than_its_parameters_is_not_summarised():
    facts = facts_of(MODEL + "def warm_up(n):\n    return model.generate(**tok('hello', return_tensors='pt'))\n")
    assert summaries_by_name(facts) == {}


def test_callee_text_names_the_call_as_messages_show_it():
    facts = facts_of(HELPERS)
    site = next(site for site in facts.collector.calls if text(site.node.func) == "model.generate")
    assert callee_text(site.node) == "model.generate()"
