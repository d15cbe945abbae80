"""Tiny replicas of the image-to-video families (LTX-Video, CogVideoX, Wan, HunyuanVideo-1.5), each
built from a config that mirrors the real checkpoint's parts (pipeline class, text encoders, scheduler,
VAE), only small; see `tiny.py` for how they are saved and loaded.

What each keeps of its real checkpoint is what the family's rules (`motion_families.py`) read: the
VAE's spatial and temporal compression (so the frame rule and size multiple are the real ones), the
transformer's patch sizes, and for CogVideoX the learned positional embeddings that fix its size and
length. Widths, depths and vocabularies are tiny; tokenizers are built in memory.
"""

import string
from pathlib import Path


def _t5_tokenizer():
    """A T5 (sentencepiece unigram) tokenizer with a few pieces, built in memory, as T5/UMT5 checkpoints ship."""
    from transformers import T5Tokenizer

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -1.0)]
    pieces += [(c, -2.0) for c in string.ascii_lowercase + string.digits + ",.!?'-"]
    return T5Tokenizer(vocab=pieces, extra_ids=0)


def _t5_encoder(vocab_size: int, d_model: int = 32):
    from transformers import T5Config, T5EncoderModel

    return T5EncoderModel(T5Config(vocab_size=vocab_size, d_model=d_model, d_ff=37, num_layers=2, num_heads=4,
                                   d_kv=8, pad_token_id=0, eos_token_id=1)).eval()


def build_ltx_video(path: Path) -> None:
    """Lightricks/LTX-Video (0.9.x): LTXImageToVideoPipeline = LTXVideoTransformer3DModel + T5 v1.1 +
    AutoencoderKLLTXVideo (patch 4 and three spatio-temporal downsamples: 32x spatial, 8x temporal, so
    sizes are multiples of 32 and frame counts 8k+1) + FlowMatchEulerDiscreteScheduler with the real
    dynamic shifting. The same components load as LTXConditionPipeline (first-and-last-frame)."""
    from diffusers import (AutoencoderKLLTXVideo, FlowMatchEulerDiscreteScheduler, LTXImageToVideoPipeline,
                           LTXVideoTransformer3DModel)

    tokenizer = _t5_tokenizer()
    text_encoder = _t5_encoder(len(tokenizer))
    transformer = LTXVideoTransformer3DModel(
        in_channels=8, out_channels=8, patch_size=1, patch_size_t=1, num_attention_heads=2, attention_head_dim=8,
        cross_attention_dim=16, num_layers=1, caption_channels=32)
    vae = AutoencoderKLLTXVideo(
        in_channels=3, out_channels=3, latent_channels=8, block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8), layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1), spatio_temporal_scaling=(True, True, True, False),
        decoder_spatio_temporal_scaling=(True, True, True, False), decoder_inject_noise=(False,) * 5,
        upsample_residual=(False, False, False, False), upsample_factor=(1, 1, 1, 1), timestep_conditioning=False,
        patch_size=4, patch_size_t=1, encoder_causal=True, decoder_causal=False)
    scheduler = FlowMatchEulerDiscreteScheduler(  # Lightricks/LTX-Video's scheduler_config
        base_image_seq_len=1024, base_shift=0.95, max_image_seq_len=4096, max_shift=2.05, shift=1.0,
        shift_terminal=0.1, use_dynamic_shifting=True, num_train_timesteps=1000)
    LTXImageToVideoPipeline(scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                            transformer=transformer).save_pretrained(path)


def build_cogvideox_i2v(path: Path) -> None:
    """THUDM/CogVideoX-5b-I2V: CogVideoXImageToVideoPipeline = CogVideoXTransformer3DModel with learned
    positional embeddings (so one size and one length: sample_width x sample_height latents, sample_frames
    frames) + T5 v1.1 (226 tokens) + AutoencoderKLCogVideoX (8x spatial, 4x temporal) +
    CogVideoXDDIMScheduler (v-prediction, zero-terminal-SNR, trailing). The tiny one's fixed clip is
    9 frames of 96x64 (the real one: 49 frames of 720x480)."""
    from diffusers import (AutoencoderKLCogVideoX, CogVideoXDDIMScheduler, CogVideoXImageToVideoPipeline,
                           CogVideoXTransformer3DModel)

    tokenizer = _t5_tokenizer()
    text_encoder = _t5_encoder(len(tokenizer))
    transformer = CogVideoXTransformer3DModel(
        num_attention_heads=2, attention_head_dim=16, in_channels=8, out_channels=4, time_embed_dim=2,
        text_embed_dim=32, num_layers=1, sample_width=12, sample_height=8, sample_frames=9, patch_size=2,
        temporal_compression_ratio=4, max_text_seq_length=226, use_rotary_positional_embeddings=True,
        use_learned_positional_embeddings=True)
    vae = AutoencoderKLCogVideoX(
        in_channels=3, out_channels=3, down_block_types=("CogVideoXDownBlock3D",) * 4,
        up_block_types=("CogVideoXUpBlock3D",) * 4, block_out_channels=(8, 8, 8, 8), latent_channels=4,
        layers_per_block=1, norm_num_groups=2, temporal_compression_ratio=4)
    scheduler = CogVideoXDDIMScheduler(  # THUDM/CogVideoX-5b-I2V's scheduler_config
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
        prediction_type="v_prediction", rescale_betas_zero_snr=True, set_alpha_to_one=True, snr_shift_scale=1.0,
        steps_offset=0, timestep_spacing="trailing")
    CogVideoXImageToVideoPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer,
                                  scheduler=scheduler).save_pretrained(path)


def build_wan_i2v(path: Path) -> None:
    """Wan 2.1 image-to-video (Wan-AI/Wan2.1-I2V-14B-*-Diffusers and its first-last-frame sibling
    Wan2.1-FLF2V-14B-720P-Diffusers): WanImageToVideoPipeline = WanTransformer3DModel with image
    conditioning (36 input channels: noise, the conditioning video and its mask; `image_dim` for the CLIP
    image tokens) + UMT5EncoderModel + a CLIPVisionModel image encoder with its CLIPImageProcessor +
    AutoencoderKLWan (8x spatial, 4x temporal: frame counts 4k+1, sizes multiples of 16 with the 2x2
    patch) + UniPCMultistepScheduler with flow sigmas (flow_shift 3.0, as the 480P checkpoint). The
    transformer has the image position embedding for two images (`pos_embed_seq_len`, as FLF2V), so
    `last_image` works: the clip ends on the shot's last keyframe."""
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanImageToVideoPipeline, WanTransformer3DModel
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel, UMT5Config, UMT5EncoderModel

    tokenizer = _t5_tokenizer()
    text_encoder = UMT5EncoderModel(UMT5Config(
        vocab_size=len(tokenizer), d_model=32, d_ff=37, num_layers=1, num_heads=4, d_kv=8, pad_token_id=0,
        eos_token_id=1)).eval()  # one layer: UMT5 computes a position bias per layer over 512 tokens
    image_size, patch = 32, 8  # (32 / 8)^2 + 1 = 17 image tokens (the real one: 257, from 224 / 14)
    image_encoder = CLIPVisionModel(CLIPVisionConfig(
        hidden_size=16, intermediate_size=37, num_hidden_layers=2, num_attention_heads=2, image_size=image_size,
        patch_size=patch, projection_dim=16))
    image_processor = CLIPImageProcessor(crop_size=image_size, size=image_size)
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=36, out_channels=16,
        text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32, image_dim=16, pos_embed_seq_len=2 * ((image_size // patch) ** 2 + 1))
    vae = AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                           temperal_downsample=[False, True, True])
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0,
                                        num_train_timesteps=1000)
    WanImageToVideoPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, scheduler=scheduler,
                            image_processor=image_processor, image_encoder=image_encoder,
                            transformer=transformer).save_pretrained(path)


def _qwen_tokenizer():
    """A byte-level BPE tokenizer with Qwen's chat markers and template, built in memory (no merges)."""
    from tokenizers import pre_tokenizers
    from transformers import Qwen2Tokenizer

    vocab = {char: index for index, char in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    for special in ("<|endoftext|>", "<|im_start|>", "<|im_end|>"):
        vocab[special] = len(vocab)
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=[])
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    tokenizer.chat_template = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
                               "{% if m['content'] is string %}{{ m['content'] }}{% else %}"
                               "{% for part in m['content'] %}{{ part['text'] }}{% endfor %}{% endif %}"
                               "<|im_end|>\n{% endfor %}"
                               "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    return tokenizer


def build_hunyuanvideo15_i2v(path: Path) -> None:
    """HunyuanVideo-1.5 480p image-to-video (hunyuanvideo-community/HunyuanVideo-1.5-480p_i2v):
    HunyuanVideo15ImageToVideoPipeline = HunyuanVideo15Transformer3DModel (task i2v, a size bucket of
    `target_size`) + Qwen2.5-VL text model with its Qwen2 tokenizer + ByT5 (a T5 encoder, for glyphs) +
    a SigLIP vision encoder + AutoencoderKLHunyuanVideo15 (16x spatial, 4x temporal) +
    FlowMatchEulerDiscreteScheduler (shift 5) + a ClassifierFreeGuidance guider (6.0). The tiny one's
    bucket is 64 (real: 640)."""
    from diffusers import (AutoencoderKLHunyuanVideo15, FlowMatchEulerDiscreteScheduler,
                           HunyuanVideo15ImageToVideoPipeline, HunyuanVideo15Transformer3DModel)
    from diffusers.guiders import ClassifierFreeGuidance
    from transformers import (ByT5Tokenizer, Qwen2_5_VLTextConfig, Qwen2_5_VLTextModel, SiglipImageProcessor,
                              SiglipVisionConfig, SiglipVisionModel, T5Config, T5EncoderModel)

    tokenizer = _qwen_tokenizer()
    text_encoder = Qwen2_5_VLTextModel(Qwen2_5_VLTextConfig(
        vocab_size=len(tokenizer), hidden_size=16, intermediate_size=16, num_hidden_layers=3, num_attention_heads=2,
        num_key_value_heads=2, rope_theta=1000000.0, bos_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"), pad_token_id=tokenizer.pad_token_id,
        rope_scaling={"mrope_section": [1, 1, 2], "rope_type": "default", "type": "default"})).eval()
    tokenizer_2 = ByT5Tokenizer()
    text_encoder_2 = T5EncoderModel(T5Config(vocab_size=len(tokenizer_2), d_model=32, d_ff=37, num_layers=2,
                                             num_heads=4, d_kv=8)).eval()
    image_encoder = SiglipVisionModel(SiglipVisionConfig(
        hidden_size=12, intermediate_size=16, num_hidden_layers=2, num_attention_heads=2, image_size=32,
        patch_size=8)).eval()
    feature_extractor = SiglipImageProcessor(size={"height": 32, "width": 32})
    transformer = HunyuanVideo15Transformer3DModel(
        in_channels=9, out_channels=4, num_attention_heads=2, attention_head_dim=8, num_layers=1,
        num_refiner_layers=1, mlp_ratio=2.0, patch_size=1, patch_size_t=1, text_embed_dim=16, text_embed_2_dim=32,
        image_embed_dim=12, rope_axes_dim=(2, 2, 4), target_size=64, task_type="i2v")
    vae = AutoencoderKLHunyuanVideo15(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 8, 8, 8, 8), layers_per_block=1,
        spatial_compression_ratio=16, temporal_compression_ratio=4, downsample_match_channel=False,
        upsample_match_channel=False)
    HunyuanVideo15ImageToVideoPipeline(
        text_encoder=text_encoder, tokenizer=tokenizer, transformer=transformer.eval(), vae=vae.eval(),
        scheduler=FlowMatchEulerDiscreteScheduler(shift=5.0), text_encoder_2=text_encoder_2,
        tokenizer_2=tokenizer_2, guider=ClassifierFreeGuidance(guidance_scale=6.0), image_encoder=image_encoder,
        feature_extractor=feature_extractor).save_pretrained(path)


BUILDERS: dict = {
    "ltx-video": build_ltx_video,
    "cogvideox-i2v": build_cogvideox_i2v,
    "wan-i2v": build_wan_i2v,
    "hunyuanvideo15-i2v": build_hunyuanvideo15_i2v,
}
