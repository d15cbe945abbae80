"""What every diffusers backend shares: device placement and memory, the arguments a pipeline's
`__call__` accepts, and sizes rounded to a multiple.

Memory is the machine's business, not the film's: nothing here is part of a data version. On
CUDA, `prepare` keeps a pipeline whole on the GPU when it fits the free memory with room for its
activations, offloads whole components when one at a time fits (`model_offload`), and otherwise
offloads groups of layers, streamed ahead of use (`group_offload`), with the VAE decoding in
tiles and slices. FILM_MEMORY (none, model_offload, group_offload, sequential_offload) overrides
the choice; `film doctor` shows the free memory. The profile's own `cpu_offload`,
`attention_slicing` and `vae_tiling` settings (and the retry after running out of memory) switch
savers on whatever the choice.
"""

import inspect
import os

MODES = ("none", "model_offload", "group_offload", "sequential_offload")
HEADROOM = 1.25          # weights x this, plus ACTIVATIONS, must fit the free memory
ACTIVATIONS = 4 << 30    # bytes kept free for activations (video latents, attention)


class MemorySettingError(ValueError):
    """FILM_MEMORY names no memory mode."""


def weight_bytes(module) -> int:
    return sum(p.numel() * p.element_size() for p in module.parameters())


def pipeline_modules(pipe) -> dict:
    import torch

    return {name: part for name, part in pipe.components.items() if isinstance(part, torch.nn.Module)}


def choose_memory(pipe, device, free_bytes: int | None = None) -> str:
    """The memory mode for this pipeline on this device: FILM_MEMORY, or what fits."""
    wanted = os.environ.get("FILM_MEMORY", "auto")
    if wanted not in MODES + ("auto",):
        raise MemorySettingError(f"FILM_MEMORY={wanted!r} is not a memory mode; use auto, {', '.join(MODES)}")
    if device.type != "cuda":
        return "none"
    if wanted != "auto":
        return wanted
    if free_bytes is None:
        import torch

        free_bytes = torch.cuda.mem_get_info(device)[0]
    sizes = [weight_bytes(m) for m in pipeline_modules(pipe).values()] or [0]
    if sum(sizes) * HEADROOM + ACTIVATIONS <= free_bytes:
        return "none"
    if max(sizes) * HEADROOM + ACTIVATIONS <= free_bytes:
        return "model_offload"
    return "group_offload"


def prepare(pipe, device, cpu_offload: bool = False, attention_slicing: bool = False, vae_tiling: bool = False):
    """Place the pipeline (whole, or offloaded as `choose_memory` says) and switch on savers."""
    mode = choose_memory(pipe, device)
    if cpu_offload and device.type == "cuda":  # at least that much saving (MODES go from least to most)
        mode = max(mode, "model_offload", key=MODES.index)
    if mode == "model_offload":
        pipe.enable_model_cpu_offload(device=device)
    elif mode == "sequential_offload":
        pipe.enable_sequential_cpu_offload(device=device)
    elif mode == "group_offload":
        pipe.enable_group_offload(onload_device=device, offload_type="block_level", num_blocks_per_group=1,
                                  use_stream=True)
    else:
        pipe.to(device)
    low_memory = mode in ("group_offload", "sequential_offload")
    if attention_slicing and hasattr(pipe, "enable_attention_slicing"):
        pipe.enable_attention_slicing()
    vae = getattr(pipe, "vae", None)
    if (vae_tiling or low_memory) and hasattr(vae, "enable_tiling"):
        vae.enable_tiling()
    if low_memory and hasattr(vae, "enable_slicing"):
        vae.enable_slicing()
    pipe.set_progress_bar_config(disable=True)
    pipe.film_memory = mode + ("+vae_tiling" if (vae_tiling or low_memory) and hasattr(vae, "enable_tiling") else "")
    return pipe


def memory_of(pipe) -> str:
    """How `prepare` placed the pipeline (for the metadata: `memory`)."""
    return getattr(pipe, "film_memory", "none")


def accepted(pipe, **kwargs) -> dict:
    """Only the arguments this pipeline's __call__ takes (families differ: fps, frame_rate, prompt...)."""
    params = inspect.signature(pipe.__call__).parameters
    return {k: v for k, v in kwargs.items() if k in params and v is not None}


def multiple(value: int, of: int) -> int:
    return max(of, round(value / of) * of)
