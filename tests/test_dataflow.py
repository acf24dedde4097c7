"""Which names carry a loop's item: the analysis behind LLM201's "does this loop feed items"."""

import libcst as cst

from ecolint.analysis.dataflow import carried_from_result, derived_names, names_in, unwrap_iterable


def body(source):
    return cst.parse_module(source)


def test_names_derived_from_the_loop_target_through_assignments():
    module = body("for q in qs:\n    text = 'Q: ' + q\n    enc = tok(text)\n    other = tok(batch)\n")
    assert derived_names(module, {"q"}) == {"q", "text", "enc"}


def test_appending_an_item_carries_it_into_the_list():
    module = body("for q in qs:\n    history.append(q)\n")
    assert "history" in derived_names(module, {"q"})


def test_names_in_reads_the_object_not_the_attribute():
    assert names_in(cst.parse_expression("model.generate(**inputs, max_new_tokens=n)")) == {"model", "inputs", "n"}


def test_iterable_wrappers_are_looked_through():
    node = cst.parse_expression("tqdm(zip(loader, rows), total=3)")
    assert [cst.Module([]).code_for_node(n) for n in unwrap_iterable(node)] == ["loader", "rows"]


def test_a_result_that_feeds_the_next_call_is_carried():
    module = body("for q in qs:\n    history.append(q)\n    reply = ask(history)\n    history.append(reply)\n")
    call = module.body[0].body.body[1].body[0].value
    assert "history" in carried_from_result(module, call, frozenset({"q"}))


def test_the_walker_calls_field_hooks_around_if_branches():
    import libcst as cst

    from ecolint.analysis.walk import walk

    events = []

    class Recorder:
        def visit_If_body(self, node):
            events.append("body")

        def leave_If_body(self, node):
            events.append("/body")

        def visit_If_orelse(self, node):
            events.append("else")

        def leave_If_orelse(self, node):
            events.append("/else")

        def visit_Name(self, node):
            events.append(node.value)

    walk(cst.parse_module("if a:\n    b\nelif c:\n    d\n"), Recorder())
    assert events == ["a", "body", "b", "/body", "else", "c", "body", "d", "/body", "/else"]


def test_a_conversation_method_carries_what_it_is_given():
    module = body("for q in qs:\n    conv.append_message(conv.roles[0], q)\n    conv.update_last_message(out)\n")
    assert "conv" in derived_names(module, {"q"})
    assert "conv" in derived_names(module, {"out"})


def test_a_method_that_only_reads_its_argument_carries_nothing():
    module = body("for q in qs:\n    logger.info(q)\n    pbar.set_description(q)\n")
    assert derived_names(module, {"q"}) == {"q"}
