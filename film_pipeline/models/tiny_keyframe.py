"""Tiny replicas of the text-to-image keyframe families (SDXL, SD 3, FLUX, Z-Image), each built from a
config that mirrors the real checkpoint's parts (pipeline class, text encoders, scheduler, VAE),
only small; see `tiny.py` for how they are saved and loaded.

- `sdxl` mirrors stabilityai/stable-diffusion-xl-base-1.0: StableDiffusionXLPipeline, CLIPTextModel +
  CLIPTextModelWithProjection (two CLIP tokenizers), a UNet with "text_time" additions, EulerDiscreteScheduler;
- `sd3` mirrors stabilityai/stable-diffusion-3.5-medium: StableDiffusion3Pipeline, SD3Transformer2DModel, two
  CLIPTextModelWithProjection + T5EncoderModel, FlowMatchEulerDiscreteScheduler;
- `flux` mirrors black-forest-labs/FLUX.1-dev: FluxPipeline, FluxTransformer2DModel (with the guidance
  embedding), CLIPTextModel + T5EncoderModel, FlowMatchEulerDiscreteScheduler with dynamic shifting;
- `z-image` mirrors Tongyi-MAI/Z-Image-Turbo: ZImagePipeline, ZImageTransformer2DModel, Qwen3Model with a
  Qwen2Tokenizer and chat template, FlowMatchEulerDiscreteScheduler.

Every VAE keeps the real spatial scale factor of 8 (four blocks, which is also the fast shape on a
CPU); SD 3, FLUX and Z-Image have the real 16 latent channels, and their transformers the real
patching (SD 3 and Z-Image patch 2x2 in the transformer, FLUX packs 2x2 latents), so each family's
size rule (a multiple of 8 or 16) is the real one. `sdxl` also ships an SDXL-shaped IP-Adapter
(`ip_adapter/`, h94's layout), so characters can be conditioned there as on SD 1.5.
"""

from pathlib import Path

import torch

from film_pipeline.models.tiny import _build_ip_adapter, _clip_tokenizer


def _t5_tokenizer():
    import string

    from transformers import T5Tokenizer

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -1.0)]
    pieces += [(c, -2.0) for c in string.ascii_lowercase + string.digits + ",.!?'-"]
    return T5Tokenizer(vocab=pieces, extra_ids=0)


def _t5_encoder(tokenizer, d_model: int):
    from transformers import T5Config, T5EncoderModel

    return T5EncoderModel(T5Config(vocab_size=len(tokenizer), d_model=d_model, d_ff=2 * d_model, num_layers=2,
                                   num_heads=4, d_kv=d_model // 4, feed_forward_proj="gated-gelu",
                                   dense_act_fn="gelu_new", is_gated_act=True))


def _clip_text(tokenizer, hidden: int, with_projection: bool = False, projection: int | None = None):
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    config = CLIPTextConfig(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
                            num_attention_heads=4, num_hidden_layers=2, max_position_embeddings=77,
                            projection_dim=projection or hidden, hidden_act="gelu", bos_token_id=0, eos_token_id=1,
                            pad_token_id=1)
    return (CLIPTextModelWithProjection if with_projection else CLIPTextModel)(config)


def _vae(latent_channels: int, **config):
    """The real scale factor of 8: four blocks (two blocks would be 50x slower here)."""
    from diffusers import AutoencoderKL

    return AutoencoderKL(block_out_channels=(32, 32, 32, 32), in_channels=3, out_channels=3,
                         latent_channels=latent_channels, layers_per_block=1, norm_num_groups=32,
                         down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                         **config)


def build_sdxl(path: Path) -> None:
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel

    tokenizer, tokenizer_2 = _clip_tokenizer(), _clip_tokenizer()
    text_encoder = _clip_text(tokenizer, 32)  # CLIP ViT-L: penultimate hidden states
    text_encoder_2 = _clip_text(tokenizer_2, 32, with_projection=True, projection=32)  # OpenCLIP bigG: + pooled
    time_dim = 8
    unet = UNet2DConditionModel(  # SDXL: the two encoders' hidden states concatenated, and "text_time" additions
        block_out_channels=(32, 64), layers_per_block=1, sample_size=8, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        transformer_layers_per_block=(1, 2), attention_head_dim=(2, 4), use_linear_projection=True,
        cross_attention_dim=text_encoder.config.hidden_size + text_encoder_2.config.hidden_size,
        addition_embed_type="text_time", addition_time_embed_dim=time_dim,
        projection_class_embeddings_input_dim=6 * time_dim + text_encoder_2.config.projection_dim, norm_num_groups=32)
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       timestep_spacing="leading", steps_offset=1, num_train_timesteps=1000)
    pipe = StableDiffusionXLPipeline(vae=_vae(4, scaling_factor=0.13025, force_upcast=True), text_encoder=text_encoder,
                                     text_encoder_2=text_encoder_2, tokenizer=tokenizer, tokenizer_2=tokenizer_2,
                                     unet=unet, scheduler=scheduler)
    pipe.save_pretrained(path)
    _build_ip_adapter(unet, path / "ip_adapter")  # h94/IP-Adapter's sdxl_models layout, only small


def build_sd3(path: Path) -> None:
    from diffusers import FlowMatchEulerDiscreteScheduler, SD3Transformer2DModel, StableDiffusion3Pipeline

    tokenizer, tokenizer_2, tokenizer_3 = _clip_tokenizer(), _clip_tokenizer(), _t5_tokenizer()
    text_encoder = _clip_text(tokenizer, 32, with_projection=True)  # CLIP-L
    text_encoder_2 = _clip_text(tokenizer_2, 48, with_projection=True)  # CLIP-G
    text_encoder_3 = _t5_encoder(tokenizer_3, 96)  # T5-XXL: CLIP features are zero-padded to its width
    transformer = SD3Transformer2DModel(  # the real sample/pos-embed sizes (the largest size is 96*2*8 = 1536 px)
        sample_size=128, patch_size=2, in_channels=16, out_channels=16, num_layers=2, attention_head_dim=8,
        num_attention_heads=4, joint_attention_dim=text_encoder_3.config.d_model, caption_projection_dim=32,
        pooled_projection_dim=text_encoder.config.projection_dim + text_encoder_2.config.projection_dim,
        pos_embed_max_size=96)
    pipe = StableDiffusion3Pipeline(
        transformer=transformer, scheduler=FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=3.0),
        vae=_vae(16, scaling_factor=1.5305, shift_factor=0.0609, use_quant_conv=False, use_post_quant_conv=False),
        text_encoder=text_encoder, tokenizer=tokenizer, text_encoder_2=text_encoder_2, tokenizer_2=tokenizer_2,
        text_encoder_3=text_encoder_3, tokenizer_3=tokenizer_3)
    pipe.save_pretrained(path)


def build_flux(path: Path) -> None:
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel

    tokenizer, tokenizer_2 = _clip_tokenizer(), _t5_tokenizer()
    text_encoder = _clip_text(tokenizer, 32)  # CLIP-L: its pooled output only
    text_encoder_2 = _t5_encoder(tokenizer_2, 64)  # T5-XXL: the token embeddings
    transformer = FluxTransformer2DModel(  # FLUX.1-dev: guidance-distilled (a guidance embedding, no CFG)
        patch_size=1, in_channels=64, num_layers=1, num_single_layers=1, attention_head_dim=16, num_attention_heads=2,
        joint_attention_dim=text_encoder_2.config.d_model, pooled_projection_dim=text_encoder.config.hidden_size,
        guidance_embeds=True, axes_dims_rope=(4, 6, 6))
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=True,
                                                base_shift=0.5, max_shift=1.15, base_image_seq_len=256,
                                                max_image_seq_len=4096)
    pipe = FluxPipeline(scheduler=scheduler, vae=_vae(16, scaling_factor=0.3611, shift_factor=0.1159,
                                                      use_quant_conv=False, use_post_quant_conv=False),
                        text_encoder=text_encoder, tokenizer=tokenizer, text_encoder_2=text_encoder_2,
                        tokenizer_2=tokenizer_2, transformer=transformer)
    pipe.save_pretrained(path)


def _qwen_tokenizer():
    """A byte-level BPE tokenizer shaped as Qwen's (one token a byte, no merges) with its chat markers."""
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import Qwen2Tokenizer

    vocab = {char: i for i, char in enumerate(sorted(ByteLevel.alphabet()))}
    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    vocab.update({token: len(vocab) + i for i, token in enumerate(special)})
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=[], unk_token=None, eos_token="<|im_end|>",
                               pad_token="<|endoftext|>")
    tokenizer.add_special_tokens({"additional_special_tokens": special[1:]})
    tokenizer.chat_template = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
                               "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    return tokenizer


def build_z_image(path: Path) -> None:
    from diffusers import FlowMatchEulerDiscreteScheduler, ZImagePipeline, ZImageTransformer2DModel
    from transformers import Qwen3Config, Qwen3Model

    tokenizer = _qwen_tokenizer()
    text_encoder = Qwen3Model(Qwen3Config(  # Qwen3-4B, only small; the pipeline reads hidden_states[-2]
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=2, head_dim=16, max_position_embeddings=1024, tie_word_embeddings=False,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id))
    transformer = ZImageTransformer2DModel(  # the real patching, RoPE axes and lengths; two layers of width 32
        all_patch_size=(2,), all_f_patch_size=(1,), in_channels=16, dim=32, n_layers=2, n_refiner_layers=1, n_heads=2,
        n_kv_heads=2, norm_eps=1e-5, qk_norm=True, cap_feat_dim=text_encoder.config.hidden_size, rope_theta=256.0,
        t_scale=1000.0, axes_dims=[8, 4, 4], axes_lens=[1536, 512, 512])
    with torch.no_grad():  # allocated with torch.empty: give them values, or a saved replica may hold NaNs
        transformer.x_pad_token.normal_(std=0.02)
        transformer.cap_pad_token.normal_(std=0.02)
    pipe = ZImagePipeline(scheduler=FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=3.0),
                          vae=_vae(16, scaling_factor=0.3611, shift_factor=0.1159, use_quant_conv=False,
                                   use_post_quant_conv=False),
                          text_encoder=text_encoder, tokenizer=tokenizer, transformer=transformer)
    pipe.save_pretrained(path)


BUILDERS: dict = {"sdxl": build_sdxl, "sd3": build_sd3, "flux": build_flux, "z-image": build_z_image}
