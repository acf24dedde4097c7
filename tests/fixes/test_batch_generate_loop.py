"""The LLM201 fix for the per-item tokenizer -> generate -> decode loop: what it writes, and where it
refuses (with the reason the finding keeps)."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from ecolint.analysis.facts import collect_facts
from ecolint.config import select_codes
from ecolint.diagnostics import Finding
from ecolint.engine import LintOptions, lint_text
from ecolint.fixes.batch_generate_loop import batch_generate_loop
from ecolint.fixes.context import FixContext, FixSettings, NoFix
from ecolint.fixes.edits import apply_edits
from ecolint.fixes.registry import check_edits, parses

HEADER = """\
from transformers import AutoModelForCausalLM, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("Qwen/Qwen2.5-0.5B-Instruct")
model = AutoModelForCausalLM.from_pretrained("Qwen/Qwen2.5-0.5B-Instruct", torch_dtype="auto").to("cuda")
prompts = ["What is the capital of France?", "Name three colours."]
results = []
"""


def fixed(body: str, header: str = HEADER, batch_size: int = 8) -> str:
    """The source after the fix of its (only) LLM201 finding; ``NoFix`` when it refuses."""
    source = header + textwrap.dedent(body)
    codes = [d.code for d in lint_text(source, "case.py", LintOptions(select_codes(["LLM201"], [], [])))]
    assert codes == ["LLM201"], f"the check must report the loop once: {codes}"
    module = cst.parse_module(source)
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    ctx = FixContext(module, source, positions, settings=FixSettings(batch_size=batch_size))
    [call] = [g.site.node for g in collect_facts(module).generations if g.kind == "generate"]
    edits = check_edits(ctx, batch_generate_loop(ctx, Finding("LLM201", call)).edits)
    result = apply_edits(source, edits)
    assert parses(result)
    return result[len(header):]


def refusal(body: str, header: str = HEADER) -> str:
    with pytest.raises(NoFix) as refused:
        fixed(body, header)
    return str(refused.value)


def test_the_loop_generates_for_chunks_and_decodes_each_row_as_before():
    assert fixed("""\
        for prompt in prompts:
            inputs = tokenizer(prompt, return_tensors="pt").to(model.device)
            out = model.generate(**inputs, max_new_tokens=64)
            text = tokenizer.decode(out[0][inputs["input_ids"].shape[1]:], skip_special_tokens=True)
            results.append(text)
        print(results)
        """, batch_size=4) == textwrap.dedent("""\
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        padding_side = tokenizer.padding_side
        tokenizer.padding_side = "left"
        prompt_list = list(prompts)
        for chunk_start in range(0, len(prompt_list), 4):
            prompt_chunk = prompt_list[chunk_start:chunk_start + 4]
            inputs = tokenizer(prompt_chunk, return_tensors="pt", padding=True).to(model.device)
            out = model.generate(**inputs, max_new_tokens=64)
            for prompt, out_row in zip(prompt_chunk, out):
                text = tokenizer.decode(out_row[inputs["input_ids"].shape[1]:], skip_special_tokens=True)
                results.append(text)
        tokenizer.padding_side = padding_side
        print(results)
        """)


def test_generate_given_input_ids_only_gets_the_attention_mask():
    result = fixed("""\
        for prompt in prompts:
            enc = tokenizer([prompt], return_tensors="pt")
            out = model.generate(enc.input_ids, max_new_tokens=64)
            results.append(tokenizer.decode(out[0], skip_special_tokens=True))
        """)
    assert "enc = tokenizer(prompt_chunk, return_tensors=\"pt\", padding=True)" in result
    assert "out = model.generate(enc.input_ids, max_new_tokens=64, attention_mask=enc.attention_mask)" in result
    assert "results.append(tokenizer.decode(out_row, skip_special_tokens=True))" in result


def test_generation_read_in_place_is_bound_to_a_name_first():
    result = fixed("""\
        for prompt in prompts:
            inputs = tokenizer(prompt, return_tensors="pt")
            results.append(tokenizer.decode(model.generate(**inputs)[0], skip_special_tokens=True))
        """)
    assert (
        "    outputs = model.generate(**inputs)\n"
        "    for prompt, outputs_row in zip(prompt_chunk, outputs):\n"
        "        results.append(tokenizer.decode(outputs_row, skip_special_tokens=True))\n"
    ) in result


def test_a_name_that_holds_the_new_tokens_is_given_the_row():
    result = fixed("""\
        for prompt in prompts:
            inputs = tokenizer(prompt, return_tensors="pt")
            output_ids = model.generate(**inputs, max_new_tokens=64)
            new_ids = output_ids[0][inputs["input_ids"].shape[1]:]
            results.append(tokenizer.decode(new_ids, skip_special_tokens=True))
        """)
    assert '        new_ids = output_ids_row[inputs["input_ids"].shape[1]:]\n' in result
    assert "        results.append(tokenizer.decode(new_ids, skip_special_tokens=True))\n" in result


def test_a_name_that_holds_the_new_tokens_and_counts_them_is_refused():
    """In a batch a row that ends early is followed by padding: its length is not the prompt's count."""
    reason = refusal("""\
        for prompt in prompts:
            inputs = tokenizer(prompt, return_tensors="pt")
            output_ids = model.generate(**inputs, max_new_tokens=64)
            new_ids = output_ids[0][inputs["input_ids"].shape[1]:]
            text = tokenizer.decode(new_ids, skip_special_tokens=True)
            results.append({"text": text, "new_tokens": int(new_ids.shape[0])})
        """)
    assert "new_ids holds the generated tokens and is used beyond decoding them" in reason


def test_new_names_do_not_shadow_the_files_own():
    result = fixed("""\
        prompt_list, chunk_start, out_row = 1, 2, 3
        for prompt in prompts:
            inputs = tokenizer(prompt, return_tensors="pt")
            out = model.generate(**inputs)
            results.append((prompt, tokenizer.decode(out[0], skip_special_tokens=True)))
        """)
    assert "prompt_list_2 = list(prompts)" in result
    assert "for chunk_start_2 in range(0, len(prompt_list_2), 8):" in result
    assert "for prompt, out_row_2 in zip(prompt_chunk, out):" in result


def test_a_loop_inside_a_function_keeps_its_indentation():
    result = fixed("""\
        def answer(questions):
            answers = {}
            for question in questions:
                inputs = tokenizer(question, return_tensors="pt")
                out = model.generate(**inputs, do_sample=False)
                answers[question] = tokenizer.decode(out[0], skip_special_tokens=True)
            return answers
        """)
    assert (
        '    tokenizer.padding_side = "left"\n'
        "    question_list = list(questions)\n"
        "    for chunk_start in range(0, len(question_list), 8):\n"
        "        question_chunk = question_list[chunk_start:chunk_start + 8]\n"
    ) in result
    assert "        for question, out_row in zip(question_chunk, out):\n" in result
    assert "            answers[question] = tokenizer.decode(out_row, skip_special_tokens=True)\n" in result
    assert "    tokenizer.padding_side = padding_side\n    return answers\n" in result


def test_a_text_built_from_the_item_is_built_for_the_whole_chunk_first():
    result = fixed("""\
        for question in prompts:
            messages = [{"role": "user", "content": question.strip()}]
            text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            inputs = tokenizer([text], return_tensors="pt").to(model.device)
            out = model.generate(**inputs, max_new_tokens=64)
            reply = tokenizer.decode(out[0][len(inputs.input_ids[0]):], skip_special_tokens=True)
            results.append({"question": question, "prompt": text, "reply": reply})
        """, batch_size=4)
    assert result.endswith(textwrap.dedent("""\
        for chunk_start in range(0, len(question_list), 4):
            question_chunk = question_list[chunk_start:chunk_start + 4]
            text_chunk = []
            for question in question_chunk:
                messages = [{"role": "user", "content": question.strip()}]
                text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
                text_chunk.append(text)
            inputs = tokenizer(text_chunk, return_tensors="pt", padding=True).to(model.device)
            out = model.generate(**inputs, max_new_tokens=64)
            for question, text, out_row in zip(question_chunk, text_chunk, out):
                reply = tokenizer.decode(out_row[len(inputs.input_ids[0]):], skip_special_tokens=True)
                results.append({"question": question, "prompt": text, "reply": reply})
        tokenizer.padding_side = padding_side
        """))


def test_a_text_built_by_the_modules_own_helper_is_built_in_a_list():
    result = fixed("""\
        def prompt_for(question):
            \"\"\"The chat prompt of one question.\"\"\"
            messages = [{"role": "user", "content": question + " Answer briefly."}]
            return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


        def evaluate(dataset):
            correct = 0
            for example in dataset:
                enc = tokenizer(prompt_for(example["question"]), return_tensors="pt")
                out = model.generate(**enc, max_new_tokens=384, do_sample=False)
                prediction = tokenizer.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)
                correct += prediction == example["answer"]
            return correct / len(dataset)
        """)
    assert '        example_texts = [prompt_for(example["question"]) for example in example_chunk]\n' in result
    assert '        enc = tokenizer(example_texts, return_tensors="pt", padding=True)\n' in result
    assert 'tokenizer.decode(out_row[enc["input_ids"].shape[1]:], skip_special_tokens=True)' in result


def test_a_text_built_by_a_helper_that_does_more_is_refused():
    reason = refusal("""\
        def prompt_for(question):
            log.append(question)
            return question


        for prompt in prompts:
            inputs = tokenizer(prompt_for(prompt), return_tensors="pt")
            out = model.generate(**inputs)
            results.append(tokenizer.decode(out[0], skip_special_tokens=True))
        """)
    assert "calls that may do more than build text" in reason


def test_a_progress_bar_over_the_prompts_counts_chunks():
    result = fixed("""\
        from tqdm import tqdm
        for prompt in tqdm(prompts, desc="generating"):
            inputs = tokenizer(prompt, return_tensors="pt")
            out = model.generate(**inputs)
            results.append(tokenizer.decode(out[0], skip_special_tokens=True))
        """)
    assert "prompt_list = list(prompts)\n" in result
    assert 'for chunk_start in tqdm(range(0, len(prompt_list), 8), desc="generating"):\n' in result


def test_a_progress_bar_with_a_total_of_prompts_is_refused():
    reason = refusal("""\
        from tqdm import tqdm
        for prompt in tqdm(prompts, total=len(prompts)):
            inputs = tokenizer(prompt, return_tensors="pt")
            out = model.generate(**inputs)
            results.append(tokenizer.decode(out[0], skip_special_tokens=True))
        """)
    assert "total" in reason


# -- refused, with the reason ------------------------------------------------------------------
LOOP = """\
for prompt in prompts:
    inputs = tokenizer(prompt, return_tensors="pt")
    out = model.generate(**inputs{settings})
    text = tokenizer.decode(out[0], skip_special_tokens={skip})
{after}"""


def loop(settings: str = "", skip: str = "True", after: str = "    results.append(text)\n") -> str:
    return LOOP.format(settings=settings, skip=skip, after=after)


def test_tokens_decoded_with_special_tokens_are_refused():
    """A batch's finished rows end with padding: only text without special tokens stays the same."""
    assert "skip_special_tokens=True" in refusal(loop(skip="False"))


def test_token_ids_kept_beyond_decoding_are_refused():
    assert "out is used beyond decoding" in refusal(loop(after="    results.append((text, out[0].tolist()))\n"))


def test_the_padded_encoding_read_after_generation_is_refused():
    reason = refusal(loop(after="    results.append((text, inputs['input_ids'].shape[1]))\n"))
    assert "inputs is read after generation" in reason


def test_tokenizer_settings_changed_after_generation_are_refused():
    reason = refusal("""\
        limit = 512
        for prompt in prompts:
            inputs = tokenizer(prompt, return_tensors="pt", truncation=True, max_length=limit)
            out = model.generate(**inputs)
            text = tokenizer.decode(out[0], skip_special_tokens=True)
            limit += 8
        """)
    assert "depends on the previous result (limit" in reason


def test_settings_changed_after_generation_are_refused():
    reason = refusal("""\
        budget = 64
        for prompt in prompts:
            inputs = tokenizer(prompt, return_tensors="pt")
            out = model.generate(**inputs, max_new_tokens=budget)
            text = tokenizer.decode(out[0], skip_special_tokens=True)
            budget -= len(text)
        """)
    assert "depends on the previous result (budget" in reason


def test_seeded_sampling_is_refused_because_the_batch_draws_other_numbers():
    header = HEADER + "import torch\ntorch.manual_seed(0)\n"
    assert "sets a seed" in refusal(loop(settings=", do_sample=True, temperature=0.7"), header)
    assert "sets a seed" in refusal(loop(), header)  # the model's generation config may sample


def test_greedy_generation_in_a_seeded_file_is_fixed():
    assert "padding=True" in fixed(loop(settings=", do_sample=False"), HEADER + "import torch\ntorch.manual_seed(0)\n")


def test_several_sequences_per_prompt_are_refused():
    assert "num_return_sequences" in refusal(loop(settings=", num_return_sequences=3"))


def test_unknown_generation_settings_are_refused():
    header = HEADER + "import json\nsettings = json.load(open('gen.json'))\n"
    assert "settings in **settings are not known" in refusal(loop(settings=", **settings"), header)


def test_streaming_is_not_reported():
    source = HEADER + loop(settings=", streamer=streamer")
    assert lint_text(source, "case.py", LintOptions(select_codes(["LLM201"], [], []))) == []


def test_an_encoder_decoder_model_is_refused():
    header = HEADER.replace("AutoModelForCausalLM", "AutoModelForSeq2SeqLM")
    assert "encoder-decoder models pad on the right" in refusal(loop(), header)


def test_a_model_passed_in_is_refused_because_it_may_be_an_encoder_decoder():
    reason = refusal("""\
        def run(lm, prompts):
            results = []
            for prompt in prompts:
                inputs = tokenizer(prompt, return_tensors="pt")
                out = lm.generate(**inputs)
                results.append(tokenizer.decode(out[0], skip_special_tokens=True))
            return results
        """)
    assert "may be an encoder-decoder model" in reason


def test_a_chat_template_that_tokenizes_is_refused():
    reason = refusal("""\
        for prompt in prompts:
            ids = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], return_tensors="pt")
            out = model.generate(ids)
            results.append(tokenizer.decode(out[0], skip_special_tokens=True))
        """)
    assert "tokenizer's output" in reason or "apply_chat_template" in reason


@pytest.mark.parametrize("statement, reason", [
    ("    if not text:\n        break\n", "break"),
    ("    if not text:\n        continue\n", "continue"),
    ("    elapsed = time.perf_counter()\n", "measures around generation"),
    ("    model.train()\n", "model is used again"),
    ("    print(text)\n", "print() shows each result as it is generated"),
    ("    logger.info(text)\n", "info() shows each result"),
    ("    out_file.write(text)\n", "write() shows each result"),
    ("    prompts.append(text)\n", "depends on the previous result (prompts"),
    ('    results.append("""\nanswer""")\n', "string spans lines"),
])
def test_control_flow_and_measurements_between_generations_are_refused(statement, reason):
    assert reason in refusal(loop(after="    results.append(text)\n" + statement))


def test_a_chat_template_as_text_with_a_side_effect_is_refused():
    reason = refusal("""\
        for prompt in prompts:
            text = tokenizer.apply_chat_template(load_history(prompt), tokenize=False)
            inputs = tokenizer(text, return_tensors="pt")
            out = model.generate(**inputs)
            results.append(tokenizer.decode(out[0], skip_special_tokens=True))
        """)
    assert "before tokenization would run for a whole chunk first" in reason


def test_messages_read_after_generation_are_refused():
    reason = refusal("""\
        for prompt in prompts:
            messages = [{"role": "user", "content": prompt}]
            text = tokenizer.apply_chat_template(messages, tokenize=False)
            inputs = tokenizer(text, return_tensors="pt")
            out = model.generate(**inputs)
            results.append((messages, tokenizer.decode(out[0], skip_special_tokens=True)))
        """)
    assert "messages is computed before tokenization and read after generation" in reason


def test_side_effects_before_generation_are_refused():
    reason = refusal("""\
        for prompt in prompts:
            print("generating for", prompt)
            inputs = tokenizer(prompt, return_tensors="pt")
            out = model.generate(**inputs)
            results.append(tokenizer.decode(out[0], skip_special_tokens=True))
        """)
    assert "before tokenization would run for a whole chunk first" in reason


def test_a_processor_is_refused_because_it_has_no_pad_token_to_set():
    header = HEADER + "from transformers import AutoProcessor\nprocessor = AutoProcessor.from_pretrained('x')\n"
    reason = refusal(loop().replace("tokenizer(prompt", "processor(prompt"), header)
    assert "processor is not loaded in this file through a tokenizer class" in reason


def test_the_last_tokens_read_after_the_loop_are_refused():
    assert "also used outside the loop" in refusal(loop(after="    results.append(text)\nprint(out.shape)\n"))


def test_a_tokenizer_given_its_own_padding_is_refused():
    reason = refusal("""\
        for prompt in prompts:
            inputs = tokenizer(prompt, return_tensors="pt", padding="max_length", max_length=64)
            out = model.generate(**inputs)
            results.append(tokenizer.decode(out[0], skip_special_tokens=True))
        """)
    assert "padding=" in reason
