"""Writes the tiny pipeline folders shipped here (configs and tokenizers, no weights); run once by hand.

The component shapes follow diffusers' own fast tests (tests/pipelines/wan/test_wan.py and
tests/pipelines/ltx2/testing_utils.py); the text encoders and tokenizers are built offline instead
of downloading hf-internal-testing checkpoints. `generators.diffusers_gen` builds random weights from
these configs (seeded) and caches the result under MTAVG_HOME.

    .venv/bin/python generators/configs/make_tiny_configs.py
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent

# A small word list so prompts tokenize into a handful of real ids (characters cover the rest).
WORDS = ["a", "an", "the", "and", "to", "of", "in", "on", "with", "while", "says", "whispers", "shouts", "man", "woman", "red", "blue", "green", "grey", "black", "white", "coat", "sweater", "beard", "hair", "short", "long", "tall", "stocky", "kitchen", "room", "street", "office", "night", "day", "morning", "evening", "dawn", "dusk", "interior", "exterior", "wide", "medium", "close-up", "shot", "camera", "static", "pan", "push-in", "pull-out", "angry", "sad", "happy", "tense", "calm", "warm", "cool", "lighting", "mood", "music", "rain"]


def _strip_weights(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.suffix in {".safetensors", ".bin"} or path.name.endswith(".index.json"):
            path.unlink()


def tiny_wan(out: Path) -> None:
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanPipeline, WanTransformer3DModel
    from transformers import T5Tokenizer, UMT5Config, UMT5EncoderModel

    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [("▁" + w, -1.0 - i * 0.01) for i, w in enumerate(WORDS)]
    vocab += [(c, -20.0) for c in "abcdefghijklmnopqrstuvwxyz0123456789.,:;!?'\"-()▁"]
    tokenizer = T5Tokenizer(vocab=vocab, extra_ids=0)
    text_encoder = UMT5EncoderModel(
        UMT5Config(vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
                   relative_attention_num_buckets=8)
    )
    vae = AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                           temperal_downsample=[False, True, True])
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16, out_channels=16,
        text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True,
        qk_norm="rms_norm_across_heads", rope_max_seq_len=32,
    )
    pipe = WanPipeline(transformer=transformer, vae=vae, scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
                       text_encoder=text_encoder, tokenizer=tokenizer)
    pipe.save_pretrained(out)


def tiny_ltx2(out: Path) -> None:
    from diffusers import (
        AutoencoderKLLTX2Audio,
        AutoencoderKLLTX2Video,
        FlowMatchEulerDiscreteScheduler,
        LTX2Pipeline,
        LTX2VideoTransformer3DModel,
    )
    from diffusers.pipelines.ltx2 import LTX2TextConnectors
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder
    from transformers import (
        Gemma3Config,
        Gemma3ForConditionalGeneration,
        Gemma3TextConfig,
        GemmaTokenizer,
        SiglipVisionConfig,
    )

    vocab = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3, "<mask>": 4}
    for w in WORDS:
        vocab.setdefault("▁" + w, len(vocab))
    for c in "abcdefghijklmnopqrstuvwxyz0123456789.,:;!?'\"-()▁":
        vocab.setdefault(c, len(vocab))
    tokenizer = GemmaTokenizer(vocab=vocab, merges=[])
    n = len(tokenizer)
    text_config = Gemma3TextConfig(vocab_size=n + 8, hidden_size=32, intermediate_size=32, num_hidden_layers=2,
                                   num_attention_heads=2, num_key_value_heads=1, head_dim=8,
                                   max_position_embeddings=256, sliding_window=16)
    vision_config = SiglipVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                       num_attention_heads=2, image_size=28, patch_size=14)
    text_encoder = Gemma3ForConditionalGeneration(Gemma3Config(
        text_config=text_config, vision_config=vision_config, mm_tokens_per_image=4,
        image_token_index=n + 1, boi_token_index=n + 2, eoi_token_index=n + 3,
    ))
    transformer = LTX2VideoTransformer3DModel(
        in_channels=4, out_channels=4, patch_size=1, patch_size_t=1, num_attention_heads=2, attention_head_dim=8,
        cross_attention_dim=16, audio_in_channels=4, audio_out_channels=4, audio_num_attention_heads=2,
        audio_attention_head_dim=4, audio_cross_attention_dim=8, num_layers=2, qk_norm="rms_norm_across_heads",
        caption_channels=32, rope_double_precision=False, rope_type="split",
    )
    connectors = LTX2TextConnectors(
        caption_channels=32, text_proj_in_factor=3, video_connector_num_attention_heads=4,
        video_connector_attention_head_dim=8, video_connector_num_layers=1,
        video_connector_num_learnable_registers=None, audio_connector_num_attention_heads=4,
        audio_connector_attention_head_dim=8, audio_connector_num_layers=1,
        audio_connector_num_learnable_registers=None, connector_rope_base_seq_len=32, rope_theta=10000.0,
        rope_double_precision=False, causal_temporal_positioning=False, rope_type="split",
    )
    vae = AutoencoderKLLTX2Video(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8,), decoder_block_out_channels=(8,),
        layers_per_block=(1,), decoder_layers_per_block=(1, 1), spatio_temporal_scaling=(True,),
        decoder_spatio_temporal_scaling=(True,), decoder_inject_noise=(False, False), downsample_type=("spatial",),
        upsample_residual=(False,), upsample_factor=(1,), timestep_conditioning=False, patch_size=1,
        patch_size_t=1, encoder_causal=True, decoder_causal=False,
    )
    audio_vae = AutoencoderKLLTX2Audio(
        base_channels=4, output_channels=2, ch_mult=(1,), num_res_blocks=1, attn_resolutions=None, in_channels=2,
        resolution=32, latent_channels=2, norm_type="pixel", causality_axis="height", dropout=0.0,
        mid_block_add_attention=False, sample_rate=16000, mel_hop_length=160, is_causal=True, mel_bins=8,
    )
    # Upsampling by 4*4*10 = 160 = the mel hop, so the waveform lasts as long as the video (diffusers'
    # test vocoder upsamples by 4 only, which gives audio 40x too short for a muxed clip).
    vocoder = LTX2Vocoder(
        in_channels=16, hidden_channels=32, out_channels=2, upsample_kernel_sizes=[8, 8, 20],
        upsample_factors=[4, 4, 10], resnet_kernel_sizes=[3], resnet_dilations=[[1, 3, 5]],
        leaky_relu_negative_slope=0.1, output_sampling_rate=16000,
    )
    pipe = LTX2Pipeline(transformer=transformer, vae=vae, audio_vae=audio_vae,
                        scheduler=FlowMatchEulerDiscreteScheduler(), text_encoder=text_encoder, tokenizer=tokenizer,
                        connectors=connectors, vocoder=vocoder)
    pipe.save_pretrained(out)


def main() -> None:
    torch.manual_seed(0)
    for name, make in {"tiny-wan": tiny_wan, "tiny-ltx2": tiny_ltx2}.items():
        out = HERE / name
        shutil.rmtree(out, ignore_errors=True)
        make(out)
        _strip_weights(out)
        print("wrote", out)


if __name__ == "__main__":
    main()
