"""Tiny replicas of the music and speech families beyond MusicGen and VITS (Stable Audio Open, ...), each built from a
config that mirrors the real checkpoint's parts (pipeline class, text encoders, scheduler, VAE),
only small; see `tiny.py` for how they are saved and loaded."""

import string
from pathlib import Path


def _t5_tokenizer(max_length: int):
    """A T5 (SentencePiece-style unigram) tokenizer built in memory: letters and the word piece `▁`."""
    from transformers import T5Tokenizer

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -1.0)]
    pieces += [(c, -2.0) for c in string.ascii_lowercase + string.digits]
    return T5Tokenizer(vocab=pieces, extra_ids=0, model_max_length=max_length)


def build_stable_audio(path: Path) -> None:
    """stabilityai/stable-audio-open-1.0, small: the same classes, the same rates, fewer channels.

    Like the real checkpoint: stereo 44.1 kHz through an Oobleck VAE with a hop of 2048 samples
    (downsampling 2·4·4·8·8), a T5 encoder with a 128-token tokenizer, the projection model for
    text and start/end seconds, a DiT with grouped-query attention, and the cosine DPM-Solver
    (v-prediction, exponential sigmas 0.3..500) that diffusers' conversion script sets up. The DiT's
    `sample_size` is 64 latent frames instead of 1024, so the longest clip it makes is
    64·2048/44100 = 2.97 s (the real one's is 47.55 s); longer cues are made in pieces.
    """
    from diffusers import (AutoencoderOobleck, CosineDPMSolverMultistepScheduler, StableAudioDiTModel,
                           StableAudioPipeline, StableAudioProjectionModel)
    from transformers import T5Config, T5EncoderModel

    tokenizer = _t5_tokenizer(max_length=128)
    text_encoder = T5EncoderModel(T5Config(vocab_size=len(tokenizer), d_model=32, d_ff=37, num_layers=2, num_heads=4,
                                           d_kv=8))
    latent_channels, conditioning = 8, 32
    vae = AutoencoderOobleck(encoder_hidden_size=8, downsampling_ratios=[2, 4, 4, 8, 8],
                             channel_multiples=[1, 2, 4, 8, 16], decoder_channels=8,
                             decoder_input_channels=latent_channels, audio_channels=2, sampling_rate=44100)
    # seconds start/end each project to `conditioning` features: the global input is both side by side
    transformer = StableAudioDiTModel(
        sample_size=64, in_channels=latent_channels, out_channels=latent_channels, num_layers=2, attention_head_dim=8,
        num_attention_heads=4, num_key_value_attention_heads=2, cross_attention_dim=conditioning, time_proj_dim=16,
        global_states_input_dim=2 * conditioning, cross_attention_input_dim=conditioning)
    projection_model = StableAudioProjectionModel(text_encoder_dim=text_encoder.config.d_model,
                                                  conditioning_dim=conditioning, min_value=0, max_value=512)
    scheduler = CosineDPMSolverMultistepScheduler(sigma_min=0.3, sigma_max=500, solver_order=2,
                                                  prediction_type="v_prediction", sigma_data=1.0,
                                                  sigma_schedule="exponential")
    StableAudioPipeline(vae=vae, text_encoder=text_encoder, projection_model=projection_model, tokenizer=tokenizer,
                        transformer=transformer, scheduler=scheduler).save_pretrained(path)


BUILDERS: dict = {
    "stable-audio": build_stable_audio,
}
