"""Facts about model loads that several rules share: inference loads, generative and encoder-decoder models,
CPU placement and later half-precision conversion."""

from analysis_helpers import facts_of

from ecolint.analysis.models import converted_later, generative, inference_loads, seq2seq_load, stays_on_cpu

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
