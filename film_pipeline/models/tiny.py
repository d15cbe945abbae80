"""Tiny random diffusers and transformers pipelines, built from config, for the `tiny` profile.

Each builder makes a pipeline small enough to run in seconds on a CPU, saves it with
`save_pretrained` under `$FILM_MODEL_CACHE/tiny/<name>-v<version>` (default `$FILM_HOME/models`),
and from then on it is loaded with `from_pretrained(path)` by exactly the code the `full`
profile runs on real checkpoints. The outputs are noise, but every shape, dtype, scheduler and
decode path is real. Tokenizers are built in memory (no files to download).
"""

import fcntl
import os
import shutil
import string
from pathlib import Path

BUILDER_VERSION = "2"


def cache_root() -> Path:
    from film_pipeline.home import film_home

    return Path(os.environ.get("FILM_MODEL_CACHE") or film_home() / "models")


def builders() -> dict:
    """Every tiny replica by name: the ones here, and one module per kind of model beside this one."""
    from film_pipeline.models import tiny_audio, tiny_keyframe, tiny_motion

    return {**BUILDERS, **tiny_keyframe.BUILDERS, **tiny_motion.BUILDERS, **tiny_audio.BUILDERS}


def tiny_model_path(name: str) -> Path:
    """Build the tiny model once (under a lock: parallel renders may ask at the same time)."""
    name = ALIASES.get(name, name)
    known = builders()
    if name not in known:
        raise ValueError(f"no tiny model `{name}`; known: {', '.join(sorted(known | ALIASES))}")
    path = cache_root() / "tiny" / f"{name}-v{BUILDER_VERSION}"
    if (path / ".complete").exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (path / ".complete").exists():
            shutil.rmtree(path, ignore_errors=True)
            import torch

            torch.manual_seed(0)
            known[name](path)
            (path / ".complete").touch()
    return path


def _clip_tokenizer():
    from transformers import CLIPTokenizer

    chars = string.ascii_lowercase + string.digits + ",.!?'-"
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for char in chars:
        vocab.setdefault(char, len(vocab))
        vocab.setdefault(f"{char}</w>", len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def build_stable_diffusion(path: Path) -> None:
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=8, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, attention_head_dim=8, norm_num_groups=32)
    vae = AutoencoderKL(  # four blocks: the real scale factor of 8 (two blocks are 50x slower here)
        block_out_channels=(32, 32, 32, 32), in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4, norm_num_groups=32)
    tokenizer = _clip_tokenizer()
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
        max_position_embeddings=77, projection_dim=32, bos_token_id=0, eos_token_id=1, pad_token_id=1))
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                   scheduler=EulerDiscreteScheduler(), safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    pipe.save_pretrained(path)
    _build_ip_adapter(unet, path / "ip_adapter")


def _build_ip_adapter(unet, path: Path) -> None:
    """IP-Adapter weights for the tiny UNet plus its image encoder, laid out as h94/IP-Adapter is,
    so `pipe.load_ip_adapter(path, subfolder="", weight_name=..., image_encoder_folder=...)` loads them."""
    from diffusers.models.attention_processor import IPAdapterAttnProcessor
    from diffusers.models.embeddings import ImageProjection
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    image_dim = 32
    weights, key = {}, 1
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):  # self-attention: no image tokens
            continue
        if name.startswith("mid_block"):
            hidden = unet.config.block_out_channels[-1]
        elif name.startswith("up_blocks"):
            hidden = list(reversed(unet.config.block_out_channels))[int(name[len("up_blocks.")])]
        else:
            hidden = unet.config.block_out_channels[int(name[len("down_blocks.")])]
        processor = IPAdapterAttnProcessor(hidden_size=hidden, cross_attention_dim=unet.config.cross_attention_dim).state_dict()
        weights[f"ip_adapter.{key}.to_k_ip.weight"] = processor["to_k_ip.0.weight"]
        weights[f"ip_adapter.{key}.to_v_ip.weight"] = processor["to_v_ip.0.weight"]
        key += 2  # IP-Adapter numbers every attention processor, self-attention included
    projection = ImageProjection(cross_attention_dim=unet.config.cross_attention_dim, image_embed_dim=image_dim,
                                 num_image_text_embeds=4).state_dict()
    weights.update({"image_proj.proj.weight": projection["image_embeds.weight"],
                    "image_proj.proj.bias": projection["image_embeds.bias"],
                    "image_proj.norm.weight": projection["norm.weight"], "image_proj.norm.bias": projection["norm.bias"]})
    path.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in weights.items()}, str(path / "ip-adapter.safetensors"))
    CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=32, projection_dim=image_dim, num_hidden_layers=2, num_attention_heads=4, image_size=32,
        intermediate_size=37, patch_size=4)).save_pretrained(path / "image_encoder")


def build_stable_video_diffusion(path: Path) -> None:
    from diffusers import (AutoencoderKLTemporalDecoder, EulerDiscreteScheduler, StableVideoDiffusionPipeline,
                           UNetSpatioTemporalConditionModel)
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    unet = UNetSpatioTemporalConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=8, in_channels=8, out_channels=4,
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
        cross_attention_dim=32, num_attention_heads=8, projection_class_embeddings_input_dim=96,
        addition_time_embed_dim=32)
    vae = AutoencoderKLTemporalDecoder(  # channel counts must be multiples of 32
        block_out_channels=[32, 32, 32, 32], in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=["DownEncoderBlock2D"] * 4)
    # SVD resizes its conditioning image to 224x224, so the vision tower must take that size.
    image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=32, projection_dim=32, num_hidden_layers=2, num_attention_heads=4, image_size=224,
        intermediate_size=37, patch_size=32))
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", interpolation_type="linear",
        num_train_timesteps=1000, prediction_type="v_prediction", sigma_max=700.0, sigma_min=0.002, steps_offset=1,
        timestep_spacing="leading", timestep_type="continuous", use_karras_sigmas=True)
    pipe = StableVideoDiffusionPipeline(vae=vae, image_encoder=image_encoder, unet=unet, scheduler=scheduler,
                                        feature_extractor=CLIPImageProcessor(crop_size=224, size=224))
    pipe.save_pretrained(path)


def build_llama(path: Path) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM, LlamaTokenizer

    pieces = ["<unk>", "<s>", "</s>", "▁"] + [f"<0x{b:02X}>" for b in range(256)]
    pieces += [f"▁{w}" for w in "a the of in at and with on light sea night lamp storm shot wide close".split()]
    pieces += list(string.ascii_lowercase)
    tokenizer = LlamaTokenizer(vocab={p: i for i, p in enumerate(pieces)}, merges=[], unk_token="<unk>",
                               bos_token="<s>", eos_token="</s>", add_bos_token=True)
    tokenizer.chat_template = ("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
                               "{% if add_generation_prompt %}assistant: {% endif %}")
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=512, bos_token_id=1, eos_token_id=2, pad_token_id=0))
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)


def build_sd_x4_upscaler(path: Path) -> None:
    from diffusers import AutoencoderKL, DDIMScheduler, DDPMScheduler, StableDiffusionUpscalePipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    unet = UNet2DConditionModel(  # 4 latent + 3 low-res image channels in; the noise level is a class label
        block_out_channels=(32, 32, 64), layers_per_block=1, sample_size=32, in_channels=7, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32,
        attention_head_dim=8, use_linear_projection=True, only_cross_attention=(True, True, False), num_class_embeds=100)
    vae = AutoencoderKL(  # three blocks: the x4 upscaler's latent scale of 4
        block_out_channels=[32, 32, 64], in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=["DownEncoderBlock2D"] * 3, up_block_types=["UpDecoderBlock2D"] * 3)
    tokenizer = _clip_tokenizer()
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
        max_position_embeddings=77, hidden_act="gelu", bos_token_id=0, eos_token_id=1, pad_token_id=1))
    StableDiffusionUpscalePipeline(
        unet=unet, low_res_scheduler=DDPMScheduler(), scheduler=DDIMScheduler(prediction_type="v_prediction"), vae=vae,
        text_encoder=text_encoder, tokenizer=tokenizer, max_noise_level=350).save_pretrained(path)


def build_musicgen(path: Path) -> None:
    from transformers import (EncodecConfig, EncodecFeatureExtractor, MusicgenConfig, MusicgenDecoderConfig,
                              MusicgenForConditionalGeneration, MusicgenProcessor, T5Config, T5Tokenizer)

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -1.0)] + [(c, -2.0) for c in string.ascii_lowercase]
    tokenizer = T5Tokenizer(vocab=pieces, extra_ids=0)
    text = T5Config(vocab_size=len(tokenizer), d_model=32, d_ff=37, num_layers=2, num_heads=4, d_kv=8)
    # 16 kHz / (8*5*4*2) = 50 frames a second; the quantizer count must equal the decoder's codebooks.
    audio = EncodecConfig(hidden_size=32, num_filters=8, codebook_size=64, codebook_dim=32, upsampling_ratios=[8, 5, 4, 2],
                          sampling_rate=16000, target_bandwidths=[1.0], audio_channels=1, num_residual_layers=1,
                          num_lstm_layers=1)
    decoder = MusicgenDecoderConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, ffn_dim=64,
                                    num_codebooks=audio.num_quantizers, max_position_embeddings=1024,
                                    pad_token_id=64, bos_token_id=64)
    model = MusicgenForConditionalGeneration(MusicgenConfig(
        text_encoder=text.to_dict(), audio_encoder=audio.to_dict(), decoder=decoder.to_dict()))
    model.generation_config.decoder_start_token_id = model.generation_config.pad_token_id = 64
    model.save_pretrained(path)
    MusicgenProcessor(feature_extractor=EncodecFeatureExtractor(sampling_rate=16000), tokenizer=tokenizer).save_pretrained(path)


def build_vits(path: Path) -> None:
    import json

    from transformers import VitsConfig, VitsModel, VitsTokenizer

    path.mkdir(parents=True, exist_ok=True)
    vocab = {"_": 0, " ": 1, **{c: i + 2 for i, c in enumerate(string.ascii_lowercase + ",.!?'")}}  # "_" must be 0
    (path / "vocab.json").write_text(json.dumps(vocab))
    tokenizer = VitsTokenizer(vocab_file=str(path / "vocab.json"), add_blank=True, normalize=True, phonemize=False)
    model = VitsModel(VitsConfig(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2, num_attention_heads=2, ffn_dim=32, flow_size=16,
        spectrogram_bins=16, upsample_initial_channel=16, upsample_rates=[8, 8, 4], upsample_kernel_sizes=[16, 16, 8],
        resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3]], prior_encoder_num_flows=2,
        prior_encoder_num_wavenet_layers=1, posterior_encoder_num_wavenet_layers=1, duration_predictor_num_flows=2,
        duration_predictor_filter_channels=16, depth_separable_num_layers=2, sampling_rate=16000))
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)


def build_clip(path: Path) -> None:
    """A tiny CLIP image-text model (the `scorer` stage) with its processor."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    tokenizer = _clip_tokenizer()
    config = CLIPConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_attention_heads=4,
                         num_hidden_layers=2, max_position_embeddings=77, bos_token_id=0, eos_token_id=1),
        vision_config=dict(hidden_size=32, image_size=32, patch_size=8, intermediate_size=37, num_attention_heads=4,
                           num_hidden_layers=2),
        projection_dim=16)
    CLIPModel(config).save_pretrained(path)
    image_processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(path)


# the family names of the two first replicas (`tiny:sd15` is `tiny:stable-diffusion`)
ALIASES = {"sd15": "stable-diffusion", "svd": "stable-video-diffusion"}

BUILDERS = {
    "clip": build_clip,
    "sd-x4-upscaler": build_sd_x4_upscaler,
    "musicgen": build_musicgen,
    "vits": build_vits,
    "stable-diffusion": build_stable_diffusion,
    "stable-video-diffusion": build_stable_video_diffusion,
    "llama": build_llama,
}
