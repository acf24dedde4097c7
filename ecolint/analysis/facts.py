"""What a module does with LLMs: model loads, quantization configs, generation calls, settings.

Facts know nothing about energy; the checks turn them into findings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from ecolint.analysis.walk import walk
from ecolint.analysis.collector import AttributeAssignment, CallSite, Collector, Loop, Unit, receiver
from ecolint.analysis.scopes import code_of, is_library_name, qualify
from ecolint.analysis.generation_shape import generation_signals, named_like_a_client
from ecolint.analysis.helpers import called_function, generator_summaries, per_item_helper_calls
from ecolint.pretrained_classes import BNB_LOAD_ARGUMENTS, LOADING_LIBRARIES, loads_no_model
from ecolint.analysis.project import ProjectLink
from ecolint.analysis.values import Entries, Entry, Resolver, Value, ValueKind, last_name
from ecolint.candidates import NOT_GENERATOR_WORDS

TRAINER_CLASSES = ("Trainer", "TrainingArguments")
TRAINING_CALLS = frozenset(
    {"backward", "gradient_checkpointing_enable", "zero_grad", "prepare_model_for_kbit_training", "get_peft_model",
     "LoraConfig"}
)
ADAPTER_SETUP = frozenset({"get_peft_model", "LoraConfig", "prepare_model_for_kbit_training"})
LOAD_KEYWORDS = ("load_in_8bit", "load_in_4bit")
# Libraries with a from_pretrained of their own whose load_in_4bit/8bit are not transformers' keywords.
OTHER_LOADERS = frozenset({"torch", "sentence_transformers", "diffusers", "unsloth", "ipex_llm", "bigdl", "auto_gptq",
                           "gptqmodel", "awq", "optimum", "vllm", "ctransformers", "llama_cpp", "exllamav2", "mlx_lm",
                           "intel_extension_for_transformers", "modelscope", "xtuner", "lmdeploy"})


@dataclass(eq=False)
class QuantConfig:
    """A bitsandbytes request: a ``BitsAndBytesConfig(...)``, a dict, or keywords given directly."""

    anchor: cst.CSTNode  # the config call, the dict, or the from_pretrained call
    entries: Entries
    kind: str  # "config", "dict", "direct"
    unit: Unit

    def entry(self, name: str) -> Entry | None:
        return self.entries.get(name)

    def requests(self, name: str) -> bool:
        """Whether ``load_in_8bit``/``load_in_4bit`` may be on (not provably False)."""
        entry = self.entry(name)
        return entry is not None and entry.value.maybe_true()

    def bnb_4bit_options(self) -> list[Entry]:
        return [entry for entry in self.entries.items.values() if entry.name.startswith("bnb_4bit_")]


TEST_MODEL = re.compile(r"(^|[/_-])tiny[-_]|(^|/)[\w.-]*internal-testing/|random", re.IGNORECASE)


def is_test_model(model_id: Value | None) -> bool:
    """A model id that names a test fixture (``hf-internal-testing/...``, ``tiny-...``, ``...-random-...``)."""
    if model_id is None:
        return False
    options = model_id.options if model_id.kind == ValueKind.CHOICE else [model_id]
    texts = [option.text() for option in options]
    return bool(texts) and all(text is not None and TEST_MODEL.search(text) for text in texts)


@dataclass(eq=False)
class ModelLoad:
    """A ``from_pretrained`` call (or a ``pipeline(...)`` that loads a model)."""

    site: CallSite
    model_id: Value | None
    entries: Entries
    quant: QuantConfig | None
    direct_load_keywords: list[Entry]
    dtype: Entry | None
    via_pipeline: bool = False
    engine: str = "transformers"  # or "vllm": ``vllm.LLM(model, dtype=...)``, which always runs on a GPU

    @property
    def loads_for_training(self) -> bool:
        """``from_pretrained(..., use_cache=False)``: the model is configured for training."""
        entry = self.entries.get("use_cache")
        return entry is not None and entry.value.provably_false()


@dataclass(eq=False)
class GenerationCall:
    """A synchronous generation call: ``.generate(...)``, a pipeline object, remote-code ``.chat``, vLLM."""

    site: CallSite
    # "generate", "pipeline", "chat" (remote-code model.chat), "vllm" (offline LLM.generate), "mistral"
    # (mistral_inference's generate(encoded_prompts, model, ...)), "callable" (a callee of unknown origin that the
    # call's keywords or result shape show to generate, see generation_shape)
    kind: str
    entries: Entries
    created_by: cst.Call | None = None  # for a pipeline object: the ``pipeline(...)`` call that made it

    def inputs(self) -> list[cst.BaseExpression]:
        """The expressions that carry what is generated from (not the settings)."""
        call = self.site.node
        found = [arg.value for arg in call.args if arg.keyword is None or arg.keyword.value in INPUT_KEYWORDS]
        if self.kind == "chat":
            found = found[1:]  # model.chat(tokenizer, query, ...): the tokenizer is no input
        if self.kind == "mistral":  # generate(encoded_prompts, model, images, *, max_tokens, ...): not the model
            positional = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
            found = positional[:1] + positional[2:3] + [
                arg.value for arg in call.args if arg.keyword is not None and arg.keyword.value in MISTRAL_INPUTS]
        return found


@dataclass(eq=False)
class HelperCall:
    """A call of a local function or method that generates for what it is given (one item)."""

    site: CallSite
    chain: tuple[str, ...]  # ("evaluate()", "model.generate()")
    arguments: list[cst.BaseExpression]


@dataclass(eq=False)
class DataLoaderSite:
    site: CallSite
    batch_size: Value | None  # None when not given (DataLoader's default is 1)
    batch_size_entry: Entry | None
    has_sampler: bool


@dataclass(eq=False)
class PipelineCreation:
    site: CallSite
    entries: Entries


@dataclass(eq=False)
class ModuleFacts:
    resolver: Resolver
    units: list[Unit]
    loops: list[Loop]
    quant_configs: list[QuantConfig] = field(default_factory=list)
    model_loads: list[ModelLoad] = field(default_factory=list)
    generations: list[GenerationCall] = field(default_factory=list)
    pipelines: list[PipelineCreation] = field(default_factory=list)
    dataloaders: list[DataLoaderSite] = field(default_factory=list)
    generation_configs: list[PipelineCreation] = field(default_factory=list)  # GenerationConfig(...) calls
    cache_settings: list[AttributeAssignment] = field(default_factory=list)
    raising_guards: list[frozenset[str]] = field(default_factory=list)  # ``if a and b: raise``
    input_calls: list[CallSite] = field(default_factory=list)
    helper_calls: list[HelperCall] = field(default_factory=list)
    passed_generations: list = field(default_factory=list)  # item_callers.PassedGeneration
    device_moves: list[CallSite] = field(default_factory=list)  # .cuda(), .to(...), .half(), .bfloat16()
    uses_compile: bool = False
    collector: Collector | None = None  # the walk the facts come from (scopes, functions, classes)
    module: cst.Module | None = None  # the parsed module itself, for analyses that walk it again
    _once: dict = field(default_factory=dict, repr=False)  # ModuleFacts.once's results, by key

    def once(self, key: str, compute):
        """``compute()``, run once per module and kept under ``key``: a lookup that checks make per finding
        (a scan of every call for each one made findings-dense files quadratic)."""
        if key not in self._once:
            self._once[key] = compute()
        return self._once[key]

    def call_site(self, node: cst.CSTNode) -> CallSite | None:
        """The collected call site of a call node (one map per module)."""
        if self.collector is None:
            return None
        return self.once("call sites", lambda: {id(site.node): site for site in reversed(self.collector.calls)}
                         ).get(id(node))

    def training_anywhere(self) -> bool:
        return any(self._trains(unit) for unit in self.units)

    def is_training(self, unit: Unit) -> bool:
        """Training code: the unit has training markers, or it is module-level code of a training script."""
        if self._trains(unit):
            return True
        return unit is self.units[0] and self.training_anywhere()

    def _trains(self, unit: Unit) -> bool:
        """Training markers, but not an adapter's set-up alone in a module that generates: a fresh adapter that
        nothing trains is there to be run (an inference benchmark of adapter methods)."""
        if not unit.training_markers:
            return False
        return not self.generations or any(marker not in ADAPTER_SETUP for marker in unit.training_markers)


def collect_facts(module: cst.Module, project: ProjectLink | None = None) -> ModuleFacts:
    """The facts of one module; ``project`` answers for names imported from the project's other modules."""
    collector = Collector()
    collector.resolver.project = project
    walk(module, collector)
    facts = ModuleFacts(collector.resolver, collector.units, collector.all_loops, collector=collector, module=module)
    _Builder(collector, facts).build()
    facts.uses_compile = collector.compile_mentions > 0
    summaries = generator_summaries(collector, facts)
    facts.helper_calls = per_item_helper_calls(collector, facts, summaries)
    if project is not None:  # another module's loop that calls a generator this one hands over
        from ecolint.analysis.item_callers import passed_generations

        facts.passed_generations = passed_generations(collector, facts, summaries)
    return facts


class _Builder:
    def __init__(self, collector: Collector, facts: ModuleFacts) -> None:
        self.collector = collector
        self.facts = facts
        self.resolver = collector.resolver
        self._configs: dict[int, QuantConfig] = {}
        self._anchored: dict[int, QuantConfig] = {}  # id(anchor node) -> its first config in quant_configs
        self._test_model_configs: set[int] = set()  # configs given to a test fixture model
        self._real_model_configs: set[int] = set()

    def build(self) -> None:
        self._shaped = self.collector.generated_text_reads
        for site in self.collector.calls:
            self._training_marker(site)
        for site in self.collector.calls:
            self._classify(site)
        test_only = self._test_model_configs - self._real_model_configs
        self.facts.quant_configs = [config for config in self.facts.quant_configs if id(config) not in test_only]
        self.facts.cache_settings = list(self.collector.attribute_assignments)
        self.facts.raising_guards = list(self.collector.raising_guards)

    def _qualified(self, site: CallSite, node: cst.BaseExpression) -> str | None:
        return qualify(node, site.scope, site.order)

    def _training_marker(self, site: CallSite) -> None:
        name = last_name(site.node.func)
        if name is None:
            return
        marker = None
        if name in TRAINING_CALLS:
            marker = name
        elif name == "train" and not site.node.args and isinstance(site.node.func, cst.Attribute):
            marker = ".train()"
        elif (
            name == "step"
            and isinstance(site.node.func, cst.Attribute)
            and "optim" in (_text(site.node.func.value) or "").lower()
        ):
            marker = "optimizer.step()"
        elif name.endswith(TRAINER_CLASSES) and name[:1].isupper():
            qualified = self._qualified(site, site.node.func)
            if qualified is None or not qualified.startswith("<local>"):
                marker = name
        if marker:
            site.unit.training_markers.append(marker)

    def _classify(self, site: CallSite) -> None:
        """Turn a call into a fact through :data:`LIBRARY_CALLS` and :data:`METHOD_CALLS`."""
        call = site.node
        name = last_name(call.func)
        if name is None:
            self._unknown_generator(site)
            return
        if isinstance(call.func, cst.Name):
            # an alias such as ``BNB`` for ``transformers.BitsAndBytesConfig``
            qualified = self._qualified(site, call.func)
            if qualified and not qualified.startswith("<local>"):
                name = qualified.rsplit(".", 1)[-1]
        library = LIBRARY_CALLS.get(name)
        if library is not None and is_library_name(self._qualified(site, call.func), library[0], name):
            getattr(self, library[1])(site)
            return
        if isinstance(call.func, cst.Attribute):
            if name in DEVICE_MOVES:
                self.facts.device_moves.append(site)
            handler = METHOD_CALLS.get(name)
            if handler is not None:
                getattr(self, handler)(site)
                return
        creation = self._pipeline_creation_of(site, call.func)
        if creation is not None:
            if not self._runs_a_test_model(site, call.func):
                self._generation(site, "pipeline", creation)
        else:
            self._unknown_generator(site)

    def _unknown_generator(self, site: CallSite) -> None:
        """A generator whose origin is unknown (a parameter, another module's loader, a settings dict's
        entry) that the call shows to generate; a callee this module defines is judged by its body instead."""
        call = site.node
        if not generation_signals(call, self._shaped) or named_like_a_client(call.func):
            return
        head = call.func
        while isinstance(head, (cst.Attribute, cst.Subscript)):
            head = head.value
        if not isinstance(head, cst.Name):
            return
        qualified = self._qualified(site, call.func) or ""
        if qualified.startswith(("<local>", "builtins.", *REMOTE_CLIENT_PACKAGES)) or self._is_engine_creation(site):
            return
        if called_function(self.collector, site) is not None:
            return
        self._generation(site, "callable")

    def _is_engine_creation(self, site: CallSite, owner: cst.BaseExpression | None = None) -> bool:
        """``owner`` (the callee by default) was made by a remote client or an async engine
        (``gen = AsyncInferenceClient(...)``)."""
        created = self._creation_of(site, site.node.func if owner is None else owner)
        if created is None:
            return False
        creation, where = created
        qualified = self._qualified(where, creation.func) or ""
        parts = qualified.split(".")
        return qualified.startswith(REMOTE_CLIENT_PACKAGES) or any(part in ASYNC_ENGINES for part in parts)

    def _entries(self, site: CallSite) -> Entries:
        return self.resolver.call_entries(site.node, site.scope, site.order)

    def _quantization_config(self, site: CallSite) -> None:
        self._config_for(site, site.node)

    def _pipeline_creation(self, site: CallSite) -> None:
        entries = self._entries(site)
        self.facts.pipelines.append(PipelineCreation(site, entries))
        self._model_load(site, positional=1, entries=entries)

    def _generation_config(self, site: CallSite) -> None:
        self.facts.generation_configs.append(PipelineCreation(site, self._entries(site)))

    def _dataloader(self, site: CallSite) -> None:
        entries = self._entries(site)
        batch = entries.get("batch_size")
        positional = [arg for arg in site.node.args if arg.keyword is None and not arg.star]
        if batch:
            value = batch.value
        elif len(positional) > 1:
            value = self.resolver.resolve(positional[1].value, site.scope, site.order)
        else:
            value = None
        self.facts.dataloaders.append(DataLoaderSite(site, value, batch, "batch_sampler" in entries.items))

    def _vllm_engine(self, site: CallSite) -> None:
        entries = self._entries(site)
        model = entries.get("model")
        positional = [arg for arg in site.node.args if arg.keyword is None and not arg.star]
        model_id = model.value if model else (
            self.resolver.resolve(positional[0].value, site.scope, site.order) if positional else None)
        if is_test_model(model_id):
            return
        self.facts.model_loads.append(
            ModelLoad(site, model_id, entries, None, [], entries.get("dtype"), engine="vllm"))

    def _input_call(self, site: CallSite) -> None:
        self.facts.input_calls.append(site)

    def _from_pretrained(self, site: CallSite) -> None:
        if self._loads_a_model(site, receiver(site.node)):
            self._model_load(site, positional=0)

    def _generate(self, site: CallSite) -> None:
        if self._is_engine_request(site):
            return  # one request to a serving engine or remote server, which batches across requests
        if self._is_vllm(site, site.node.func.value):
            self._generation(site, "vllm")
        elif _looks_like_llm_generation(site.node):
            self._generation(site, "generate")

    def _mistral_generation(self, site: CallSite) -> None:
        self._generation(site, "mistral")

    def _chat(self, site: CallSite) -> None:
        if _is_remote_code_chat(site.node):
            self._generation(site, "chat")
        elif isinstance(site.node.func, cst.Attribute) and self._is_vllm(site, site.node.func.value):
            self._generation(site, "vllm")  # LLM.chat(messages, params): offline vLLM, like LLM.generate
        elif (creation := self._pipeline_creation_of(site, site.node.func)) is not None:
            self._generation(site, "pipeline", creation)

    def _generation(self, site: CallSite, kind: str, creation: cst.Call | None = None) -> None:
        self.facts.generations.append(GenerationCall(site, kind, self._entries(site), creation))

    def _loads_a_model(self, site: CallSite, owner: cst.BaseExpression | None) -> bool:
        """A transformers/peft class, a variable holding one (``model_cls``), or a class that cannot be
        resolved but is given bitsandbytes loading arguments."""
        if owner is None:
            return False
        if loads_no_model((_text(owner) or "").rsplit(".", 1)[-1]):
            return False  # a tokenizer, processor or config; an adapter on a model loaded elsewhere
        qualified = self._qualified(site, owner)
        if qualified and qualified.startswith(LOADING_LIBRARIES):
            return True
        value = self.resolver.resolve(owner, site.scope, site.order)
        options = value.options if value.kind == ValueKind.CHOICE else [value]
        if any(
            option.kind == ValueKind.SYMBOL and str(option.value).startswith(LOADING_LIBRARIES) for option in options
        ):
            return True
        if qualified and (qualified.startswith("<local>") or qualified.split(".", 1)[0] in OTHER_LOADERS):
            return False  # a class of this module (resolved, not transformers) or another library's loader
        keywords = {arg.keyword.value for arg in site.node.args if arg.keyword is not None}
        return bool(keywords & BNB_LOAD_ARGUMENTS)

    def _creation_of(self, site: CallSite, node: cst.BaseExpression) -> tuple[cst.Call, CallSite] | None:
        """The call that created the object a name refers to (``pipe = pipeline(...)``), or, in a method,
        an instance attribute (``self.pipe = pipeline(...)`` in any method of the class)."""
        if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
            owner = site.function.owner if site.function is not None else None
            settings = self.collector.instance_attributes.get((id(owner), node.attr.value), []) if owner else []
            calls = [setting for setting in settings if isinstance(setting.value, cst.Call)]
            if not calls:
                return None
            setting = calls[0]
            return setting.value, CallSite(setting.value, setting.scope, setting.order, (), setting.unit, None)
        if not isinstance(node, cst.Name):
            return None
        binding = site.scope.lookup(node.value, site.order)
        if binding is None and site.function is not None:
            binding = site.function.scope.lookup(node.value, site.order)
        if binding is None or binding.kind != "assign" or not isinstance(binding.value, cst.Call):
            return None
        fake = CallSite(binding.value, binding.scope, binding.order, (), site.unit, None)
        return binding.value, fake

    def _pipeline_creation_of(self, site: CallSite, func: cst.BaseExpression) -> cst.Call | None:
        """The ``pipeline(...)`` call that made the object called here, if it is a pipeline object."""
        created = self._creation_of(site, func)
        if created is None:
            return None
        call, where = created
        qualified = self._qualified(where, call.func)
        qualified = qualified or ""
        if is_library_name(qualified, "transformers", "pipeline") or (
            qualified.startswith("transformers.") and qualified.endswith("Pipeline")  # TextGenerationPipeline(...)
        ):
            return call
        return None

    def _runs_a_test_model(self, site: CallSite, func: cst.BaseExpression) -> bool:
        """A pipeline object made for a test fixture model (``pipeline(model="hf-internal-testing/...")``)."""
        call, where = self._creation_of(site, func)
        entries = self.resolver.call_entries(call, where.scope, where.order)
        positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
        model = entries.get("model")
        if model is not None:
            return is_test_model(model.value)
        return len(positional) > 1 and is_test_model(self.resolver.resolve(positional[1].value, where.scope,
                                                                           where.order))

    def _is_engine_request(self, site: CallSite) -> bool:
        """``engine.generate(prompt, params, request_id)`` of an async engine (vLLM, TGI), or a client of a
        remote server (text_generation, openai, huggingface_hub, Triton): each call is one request."""
        call = site.node
        if any(arg.keyword is not None and arg.keyword.value == "request_id" for arg in call.args):
            return True
        owner = call.func.value
        text = (_text(owner) or "").lower()
        if any(word in text for word in ENGINE_CLIENT_WORDS):
            return True
        return self._is_engine_creation(site, owner)

    def _is_vllm(self, site: CallSite, owner: cst.BaseExpression) -> bool:
        created = self._creation_of(site, owner)
        if created is None:
            return False
        call, where = created
        qualified = self._qualified(where, call.func)
        return bool(qualified and qualified.startswith("vllm.") and qualified.endswith(".LLM"))

    def _config_for(self, site: CallSite, call: cst.Call) -> QuantConfig:
        known = self._configs.get(id(call))
        if known is None:
            entries = self.resolver.call_entries(call, site.scope, site.order)
            known = QuantConfig(call, entries, "config", site.unit)
            self._configs[id(call)] = known
            self._add_config(known)
        return known

    def _model_load(self, site: CallSite, positional: int, entries: Entries | None = None) -> None:
        call = site.node
        if entries is None:
            entries = self.resolver.call_entries(call, site.scope, site.order)
        args = [arg for arg in call.args if arg.keyword is None and not arg.star]
        model_id = None
        for keyword in ("pretrained_model_name_or_path", "model"):
            if entries.get(keyword):
                model_id = entries.get(keyword).value
                break
        if model_id is None and len(args) > positional:
            model_id = self.resolver.resolve(args[positional].value, site.scope, site.order)
        load_entries = entries
        if site.node.func and last_name(call.func) == "pipeline":
            kwargs = entries.get("model_kwargs")
            load_entries = kwargs.value.entries if kwargs and kwargs.value.entries is not None else Entries()
        quant = keywords = None
        config_entry = load_entries.get("quantization_config")
        if config_entry is not None:
            quant = self._quant_from_value(config_entry.value, site)
        direct = [load_entries.get(keyword) for keyword in LOAD_KEYWORDS if load_entries.get(keyword)]
        if direct and (quant is None or _keywords_may_decide(config_entry.value, direct)):
            # the keywords decide when no quantization_config is passed (transformers reads them only then)
            keywords = QuantConfig(call, load_entries, "direct", site.unit)
            self._add_config(keywords)
            quant = quant or keywords
        dtype = (
            entries.get("dtype")
            or entries.get("torch_dtype")
            or load_entries.get("torch_dtype")
            or load_entries.get("dtype")
        )
        requests = {id(config) for config in (quant, keywords) if config is not None}
        if is_test_model(model_id):  # a tiny fixture model of a test suite: not inference worth reporting
            self._test_model_configs.update(requests)
            return
        self._real_model_configs.update(requests)
        self.facts.model_loads.append(
            ModelLoad(site, model_id, entries, quant, direct, dtype, via_pipeline=positional == 1)
        )

    def _add_config(self, config: QuantConfig) -> None:
        self.facts.quant_configs.append(config)
        self._anchored.setdefault(id(config.anchor), config)

    def _quant_from_value(self, value: Value, site: CallSite) -> QuantConfig | None:
        if value.kind == ValueKind.CHOICE:
            for option in value.options:
                found = self._quant_from_value(option, site)
                if found is not None:
                    return found
            return None
        if value.kind != ValueKind.MAPPING or value.entries is None or value.node is None:
            return None
        known = self._anchored.get(id(value.node))  # the first config of this node, as a scan of the list found
        if known is not None:
            return known
        kind = "config" if value.call_name == "BitsAndBytesConfig" else "dict"
        config = QuantConfig(value.node, value.entries, kind, site.unit)
        self._configs[id(value.node)] = config
        self._add_config(config)
        return config


def _keywords_may_decide(value: Value, keywords: list[Entry]) -> bool:
    """A ``quantization_config=`` value that may be None while a ``load_in_*`` keyword is on: unknown, or None
    in one branch, but not ``config if (args.load_in_8bit or ...) else None`` (passed whenever one is on)."""
    if isinstance(value.node, cst.IfExp):
        test = code_of(value.node.test)
        if all(entry.value.node is not None and code_of(entry.value.node) in test for entry in keywords):
            return False
    if value.kind == ValueKind.CHOICE:
        return any(_keywords_may_decide(option, keywords) for option in value.options)
    return value.kind != ValueKind.MAPPING


DEVICE_MOVES = frozenset({"cuda", "to", "half", "bfloat16"})
# Receivers of ``generate`` that send one request to an engine batching across requests, or to a server.
ENGINE_CLIENT_WORDS = ("engine_client", "async_engine", "client")
REMOTE_CLIENT_PACKAGES = ("text_generation.", "openai.", "huggingface_hub.", "tritonclient.", "anthropic.",
                          "requests.", "httpx.", "aiohttp.")
ASYNC_ENGINES = frozenset({"AsyncLLMEngine", "AsyncLLM", "AsyncEngineClient", "EngineClient", "MQLLMEngineClient"})
# Calls recognised by their qualified library name: the called name -> (package, builder method).
LIBRARY_CALLS: dict[str, tuple[str, str]] = {
    "BitsAndBytesConfig": ("transformers", "_quantization_config"),
    "pipeline": ("transformers", "_pipeline_creation"),
    "GenerationConfig": ("transformers", "_generation_config"),
    "DataLoader": ("torch", "_dataloader"),
    "input": ("builtins", "_input_call"),
    "LLM": ("vllm", "_vllm_engine"),
    "generate": ("mistral_inference", "_mistral_generation"),  # a method call model.generate is not this one
    "generate_mamba": ("mistral_inference", "_mistral_generation"),
}
# Calls recognised by a method name; the builder method checks what the object is.
METHOD_CALLS: dict[str, str] = {
    "from_pretrained": "_from_pretrained",
    "generate": "_generate",
    "chat": "_chat",
}
# Keywords of mistral_inference's generate() that carry the input (the model and the settings do not).
MISTRAL_INPUTS = frozenset({"encoded_prompts", "images"})
# Keywords of generate() that carry the input itself (the rest are settings).
INPUT_KEYWORDS = frozenset({"input_ids", "inputs", "attention_mask", "prompts", "prompt", "prompt_token_ids",
                            "query", "messages", "text_inputs", "pixel_values", "images", "inputs_embeds"})


def _is_remote_code_chat(call: cst.Call) -> bool:
    """``model.chat(tokenizer, query, ...)``: the chat method of remote-code models (Qwen, ChatGLM, ...)."""
    positional = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
    first = (_text(positional[0]) or "").lower() if positional else ""
    owner = (_text(call.func.value) or "").lower() if isinstance(call.func, cst.Attribute) else ""
    return "tok" in first.rsplit(".", 1)[-1] and any(word in owner for word in MODEL_WORDS)


def _text(node: cst.CSTNode) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        inner = _text(node.value)
        return f"{inner}.{node.attr.value}" if inner else node.attr.value
    return None


# Keywords of transformers' generate(); a call with one of them is text generation.
GENERATION_KEYWORDS = frozenset({
    "input_ids", "inputs", "attention_mask", "max_new_tokens", "max_length", "min_new_tokens", "do_sample",
    "num_beams", "temperature", "top_p", "top_k", "generation_config", "streamer", "use_cache",
    "eos_token_id", "pad_token_id", "num_return_sequences", "return_dict_in_generate", "output_scores",
    "repetition_penalty", "stopping_criteria", "logits_processor", "past_key_values", "max_tokens",
    "sampling_params", "prompt_token_ids",
})
MODEL_WORDS = ("model", "llm", "generator", "decoder", "engine", "pipe", "judge")
INPUT_ENDINGS = ("ids", "inputs", "input", "prompt", "prompts", "tokens", "batch", "encoding", "encodings", "encoded",
                 "enc", "text", "texts")


def _looks_like_llm_generation(call: cst.Call) -> bool:
    """``model.generate(...)`` rather than another library's ``generate`` (a template, a dummy-input maker).

    True when the call passes a generation keyword or ``**kwargs``, when its receiver is named like a
    model, or when its first argument is named like model inputs.
    """
    owner = (_text(call.func.value) or "").lower() if isinstance(call.func, cst.Attribute) else ""
    if any(word in owner for word in NOT_GENERATOR_WORDS):
        return False  # a Jinja template's generate(), a data generator
    for arg in call.args:
        if arg.star == "**" or (arg.keyword is not None and arg.keyword.value in GENERATION_KEYWORDS):
            return True
    if any(word in owner for word in MODEL_WORDS) or owner.endswith("lm"):
        return True
    positional = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
    if positional:
        first = _text(positional[0]) or (_text(positional[0].value) if isinstance(positional[0], cst.Subscript) else "")
        return (first or "").rsplit(".", 1)[-1].lower().endswith(INPUT_ENDINGS)
    return False
