"""Prompt adherence: how well a keyframe matches its prompt, by a CLIP image-text model.

A profile that names a `scorer` stage (`backend: clip-score`, `settings: {model: ...}`) adds a
`prompt` score to every keyframe take; the best take then weighs adherence with sharpness and
exposure. The score is CLIP's cosine similarity mapped to [0, 1].
"""

from PIL import Image


class ClipScore:
    name = "clip-score"
    version = "1"

    def __init__(self, model: str, device: str = "auto"):
        import torch
        from transformers import CLIPModel, CLIPProcessor

        from film_pipeline.models import load_pretrained, pick_device

        self.device = pick_device(device)
        self.model = load_pretrained(CLIPModel, model, "scorer").to(self.device).eval()
        self.processor = load_pretrained(CLIPProcessor, model, "scorer processor")
        self._torch = torch

    def adherence(self, image: Image.Image, prompt: str) -> float:
        inputs = self.processor(text=[prompt], images=image.convert("RGB"), return_tensors="pt", padding=True,
                                truncation=True)
        with self._torch.inference_mode():
            out = self.model(**{k: v.to(self.device) for k, v in inputs.items()})
            similarity = self._torch.nn.functional.cosine_similarity(out.image_embeds, out.text_embeds).item()
        return round((similarity + 1) / 2, 4)
