"""What every diffusers backend shares: device placement, memory savers, the arguments a
pipeline's `__call__` accepts, and sizes rounded to a multiple."""

import inspect


def prepare(pipe, device, cpu_offload: bool, attention_slicing: bool, vae_tiling: bool):
    """Move to the device, or offload to CPU between steps, and switch on memory savers."""
    if cpu_offload and device.type == "cuda":
        pipe.enable_model_cpu_offload()
    else:
        pipe.to(device)
    if attention_slicing and hasattr(pipe, "enable_attention_slicing"):
        pipe.enable_attention_slicing()
    if vae_tiling and hasattr(getattr(pipe, "vae", None), "enable_tiling"):
        pipe.vae.enable_tiling()
    pipe.set_progress_bar_config(disable=True)
    return pipe


def accepted(pipe, **kwargs) -> dict:
    """Only the arguments this pipeline's __call__ takes (families differ: fps, frame_rate, prompt...)."""
    params = inspect.signature(pipe.__call__).parameters
    return {k: v for k, v in kwargs.items() if k in params and v is not None}


def multiple(value: int, of: int) -> int:
    return max(of, round(value / of) * of)
