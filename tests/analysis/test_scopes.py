"""Scopes: which binding a name refers to where it is used, and the qualified names of library calls."""

from analysis_helpers import argument, call, facts_of, text

from ecolint.analysis.scopes import dotted_name, is_library_name, qualify


def binding_at(facts, callee: str, nth: int = 0):
    site = call(facts, callee, nth)
    return site.scope.lookup(argument(site).value, site.order)


def test_at_module_level_a_name_refers_to_the_assignment_before_its_use():
    facts = facts_of("x = 1\nf(x)\nx = 2\nf(x)\n")
    assert [text(binding_at(facts, "f", n).value) for n in (0, 1)] == ["1", "2"]


def test_a_name_used_before_any_assignment_at_module_level_is_unbound():
    assert binding_at(facts_of("f(x)\nx = 1\n"), "f") is None


def test_a_function_body_sees_the_module_s_binding_made_after_the_function():
    facts = facts_of("def run():\n    f(size)\n\nsize = 8\n")
    assert text(binding_at(facts, "f").value) == "8"


def test_a_method_does_not_see_its_class_attributes_as_bare_names():
    facts = facts_of("class Runner:\n    size = 8\n\n    def run(self):\n        f(size)\n")
    assert binding_at(facts, "f") is None


def test_a_parameter_shadows_the_module_s_name():
    facts = facts_of("size = 8\n\ndef run(size=1):\n    f(size)\n")
    assert binding_at(facts, "f").kind == "param"


def test_qualify_follows_import_aliases():
    facts = facts_of("import transformers as tf\nfrom transformers import AutoModelForCausalLM as M\n"
                     "tf.AutoModel.from_pretrained('a')\nM.from_pretrained('b')\n")
    names = [qualify(site.node.func, site.scope, site.order) for site in facts.collector.calls]
    assert names == ["transformers.AutoModel.from_pretrained", "transformers.AutoModelForCausalLM.from_pretrained"]


def test_a_local_definition_is_not_the_library_s():
    facts = facts_of("def pipeline(task):\n    return task\n\npipeline('text-generation')\n")
    site = call(facts, "pipeline")
    assert not is_library_name(qualify(site.node.func, site.scope, site.order), "transformers", "pipeline")


def test_library_names_are_recognised_through_submodules():
    assert is_library_name("transformers.pipelines.pipeline", "transformers", "pipeline")
    assert is_library_name("vllm.LLM", "vllm", "LLM")
    assert not is_library_name("mylib.LLM", "vllm", "LLM")


def test_dotted_name_reads_name_and_attribute_chains_only():
    facts = facts_of("a.b.c(1)\nget()(2)\n")
    assert dotted_name(call(facts, "c").node.func) == "a.b.c"
    [called_result] = [site for site in facts.collector.calls if not dotted_name(site.node.func)]
    assert text(called_result.node.func) == "get()"
