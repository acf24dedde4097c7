"""Facts about model loads that several rules share: inference loads, generative and encoder-decoder models,
CPU placement and later half-precision conversion."""

from analysis_helpers import facts_of

from ecolint.analysis.models import (converted_later, generates, generative, inference_loads, seq2seq_load,
                                     stays_on_cpu)

HEAD = "import torch\nfrom transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, pipeline\n"


def loads(source: str):
    facts = facts_of(HEAD + source)
    return facts, facts.model_loads


def test_classifiers_embedders_and_their_tasks_do_not_generate():
    _, found = loads("a = AutoModelForCausalLM.from_pretrained('meta-llama/Llama-3.1-8B')\n"
                     "b = pipeline('text-classification', model='distilbert-base-uncased')\n"
                     "c = AutoModelForCausalLM.from_pretrained('BAAI/bge-large-en')\n")
    assert [generative(load) for load in found] == [True, False, False]


def test_encoder_decoders_are_known_by_class_id_or_task():
    _, found = loads("a = AutoModelForSeq2SeqLM.from_pretrained('x')\n"
                     "b = AutoModelForCausalLM.from_pretrained('google/flan-t5-large')\n"
                     "c = pipeline('summarization', model='x')\n"
                     "d = AutoModelForCausalLM.from_pretrained('gpt2')\n")
    assert [seq2seq_load(load) for load in found] == [True, True, True, False]


def test_loads_in_training_code_are_not_inference_loads():
    facts, found = loads("def train():\n    m = AutoModelForCausalLM.from_pretrained('gpt2')\n    m.train()\n"
                         "    trainer = Trainer(model=m)\n    trainer.train()\n\n"
                         "def serve():\n    return AutoModelForCausalLM.from_pretrained('gpt2')\n")
    assert len(found) == 2 and [load.site.unit.name for load in inference_loads(facts)] == ["serve"]


def test_a_model_with_no_device_placement_stays_on_the_cpu():
    facts, [load] = loads("m = AutoModelForCausalLM.from_pretrained('gpt2')\n")
    assert stays_on_cpu(facts, load)
    facts, [load] = loads("m = AutoModelForCausalLM.from_pretrained('gpt2', device_map='auto')\n")
    assert not stays_on_cpu(facts, load)


def test_a_model_turned_into_half_precision_afterwards_is_converted_later():
    facts, [load] = loads("m = AutoModelForCausalLM.from_pretrained('gpt2').to(torch.bfloat16)\n")
    assert converted_later(facts, load)
    facts, [load] = loads("m = AutoModelForCausalLM.from_pretrained('gpt2').to('cuda')\n")
    assert not converted_later(facts, load)


def test_a_conversion_chained_onto_another_load_converts_that_model_only():
    facts, found = loads("a = AutoModelForCausalLM.from_pretrained('gpt2').half().cuda()\n"
                         "b = AutoModelForCausalLM.from_pretrained('gpt2', device_map='auto')\n"
                         "c = AutoModelForCausalLM.from_pretrained('gpt2')\n")
    assert [converted_later(facts, load) for load in found] == [True, False, False]
    assert [stays_on_cpu(facts, load) for load in found] == [False, False, True]  # a's .cuda() places a only


def test_a_conversion_in_the_other_branch_of_an_if_does_not_follow_the_load():
    facts, found = loads("def load(name, many):\n"
                         "    if many:\n"
                         "        m = AutoModelForCausalLM.from_pretrained(name, device_map='auto')\n"
                         "        m.half()\n"
                         "    else:\n"
                         "        m = AutoModelForCausalLM.from_pretrained(name, device_map='auto')\n"
                         "    return m\n")
    assert [converted_later(facts, load) for load in found] == [True, False]


def test_a_wrappers_own_device_is_a_gpu_unless_it_is_the_cpu():
    source = ("class Scorer:\n"
              "    def __init__(self, name, device={device!r}):\n"
              "        self.device = device\n"
              "        self.name = name\n\n"
              "    def load(self):\n"
              "        return AutoModelForCausalLM.from_pretrained(self.name).to(self.device)\n")
    facts, [load] = loads(source.format(device="cuda"))
    assert not stays_on_cpu(facts, load)
    facts, [load] = loads(source.format(device="cpu"))
    assert stays_on_cpu(facts, load)


def test_a_model_generates_through_a_name_or_the_attribute_of_its_class():
    facts, found = loads("class Chat:\n"
                         "    def __init__(self):\n"
                         "        self.model = AutoModelForCausalLM.from_pretrained('gpt2').cuda()\n"
                         "        self.scorer = AutoModelForCausalLM.from_pretrained('gpt2').cuda()\n\n"
                         "    def reply(self, ids):\n"
                         "        return self.model.generate(ids), self.scorer(ids)\n\n"
                         "m = AutoModelForCausalLM.from_pretrained('gpt2')\n"
                         "out = m.generate(input_ids=x, max_new_tokens=8)\n")
    assert [generates(facts, load) for load in found] == [True, False, True]
