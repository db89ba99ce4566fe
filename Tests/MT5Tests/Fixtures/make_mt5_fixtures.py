#!/usr/bin/env python3
"""Makes the mT5 test checkpoints and the HF transformers reference outputs the Swift tests read.

Run with the dev venv (torch, transformers 5, sentencepiece, safetensors):
    python Tests/MT5Tests/Fixtures/make_mt5_fixtures.py [--shared ../shared/data]
    python Tests/MT5Tests/Fixtures/make_mt5_fixtures.py --mt5-base /tmp/mt5-base-random

The checkpoints are randomly initialised with fixed seeds and use the real Portuguese
SentencePiece model of PTT5 (32,000 pieces; vocab rows 32,128 as in T5). Weights are rounded to
their stored dtype before the references are computed, so that Swift, which widens the stored
values to fp32, computes with exactly the weights HF used.
"""

import argparse
import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import AutoTokenizer, MT5Config, MT5ForConditionalGeneration
from transformers import T5Config, T5ForConditionalGeneration
from transformers.generation.logits_process import (
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

HERE = Path(__file__).resolve().parent
VOCAB_ROWS = 32128

# name: (model_type, config overrides, stored dtype, writes a pytorch_model.bin copy too)
SHAPES = {
    # num_heads * d_kv == d_model, equal depths, BF16 storage, untied lm_head (like mT5).
    "tiny": ("mt5", dict(d_model=16, d_kv=8, num_heads=2, d_ff=32, num_layers=2,
                         num_decoder_layers=2), torch.bfloat16, False),
    # num_heads * d_kv != d_model, 3 encoder and 2 decoder layers, other bucket settings,
    # F16 storage, untied; also saved as pytorch_model.bin.
    "odd": ("mt5", dict(d_model=12, d_kv=8, num_heads=2, d_ff=20, num_layers=3,
                        num_decoder_layers=2, relative_attention_num_buckets=16,
                        relative_attention_max_distance=64), torch.float16, True),
    # Original-T5 style: tied embeddings, decoder output scaled by d_model ** -0.5, ReLU FF.
    "tied": ("t5", dict(d_model=12, d_kv=6, num_heads=2, d_ff=24, num_layers=2,
                        num_decoder_layers=1, feed_forward_proj="relu"), torch.bfloat16, False),
}

MAX_INPUT_TOKENS = 320
GREEDY = dict(max_length=20)
BEAM_RECIPES = {
    "card": dict(max_length=20, num_beams=5, no_repeat_ngram_size=2, num_return_sequences=5,
                 early_stopping=True),
    "penalised": dict(max_new_tokens=12, num_beams=4, num_return_sequences=2,
                      length_penalty=0.6, min_new_tokens=5, early_stopping=False),
}
SAMPLING_RECIPES = {
    "card": dict(temperature=1.0, top_k=10, top_p=0.95),
    "warm": dict(temperature=0.5, top_k=50, top_p=0.8),
}
SAMPLING_STEPS = 4
FIRST_STEP_IDS = list(range(0, 32128, 1009)) + [1, 32099, 32100, 32127]


def build_model(name, model_type, overrides, dtype):
    torch.manual_seed({"tiny": 1, "odd": 2, "tied": 3}[name])
    common = dict(vocab_size=VOCAB_ROWS, dropout_rate=0.0, decoder_start_token_id=0,
                  eos_token_id=1, pad_token_id=0)
    if model_type == "mt5":
        config = MT5Config(**common, **overrides)
        model = MT5ForConditionalGeneration(config)
        # transformers 5 ties mT5's lm_head to the embedding; the real mT5 has its own.
        model.lm_head.weight = torch.nn.Parameter(torch.randn(VOCAB_ROWS, config.d_model))
        model.config.tie_word_embeddings = False
    else:
        config = T5Config(**common, **overrides)
        model = T5ForConditionalGeneration(config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(parameter.to(dtype).to(torch.float32))
    model.eval()
    return model


def eos_lift(model, tokenizer, passages):
    """Random models almost never end a sequence. Give eos's lm_head row a larger norm (a random
    direction, so its logit rises and falls from step to step), the smallest that makes greedy
    outputs end at varied lengths, so that the stopping rules of greedy and beam search are
    exercised."""
    generator = torch.Generator().manual_seed(7)
    with torch.no_grad():
        original = model.lm_head.weight[1].clone()
        direction = torch.randn(original.shape, generator=generator)
        for factor in [1.0 + 0.25 * step for step in range(0, 40)]:
            model.lm_head.weight[1] = (direction * factor).to(model.stored_dtype).float()
            lengths = []
            for text in passages:
                ids = tokenizer(text, return_tensors="pt", truncation=True,
                                max_length=MAX_INPUT_TOKENS).input_ids
                lengths.append(len(model.generate(ids, do_sample=False, **GREEDY)[0]))
            if sum(lengths) / len(lengths) <= 14:
                return factor, lengths
        return factor, lengths


def state_dict_for_saving(model, dtype, tied):
    state = {}
    for key, value in model.state_dict().items():
        if key in ("encoder.embed_tokens.weight", "decoder.embed_tokens.weight"):
            continue
        if tied and key == "lm_head.weight":
            continue
        state[key] = value.to(dtype).contiguous()
    return state


def save_checkpoint(model, name, model_type, dtype, write_bin, directory):
    directory.mkdir(parents=True, exist_ok=True)
    config = model.config.to_dict()
    keep = ["model_type", "architectures", "d_model", "d_kv", "d_ff", "num_heads", "num_layers",
            "num_decoder_layers", "vocab_size", "relative_attention_num_buckets",
            "relative_attention_max_distance", "feed_forward_proj", "layer_norm_epsilon",
            "decoder_start_token_id", "eos_token_id", "pad_token_id", "dropout_rate",
            "initializer_factor"]
    out = {key: config[key] for key in keep if key in config}
    out["tie_word_embeddings"] = model_type == "t5"
    out["architectures"] = ["T5ForConditionalGeneration" if model_type == "t5"
                            else "MT5ForConditionalGeneration"]
    (directory / "config.json").write_text(json.dumps(out, indent=2) + "\n")
    tied = model_type == "t5"
    state = state_dict_for_saving(model, dtype, tied)
    save_file(state, str(directory / "model.safetensors"), metadata={"format": "pt"})
    if write_bin:
        bin_dir = directory.parent / f"{name}-bin"
        bin_dir.mkdir(exist_ok=True)
        shutil.copy(directory / "config.json", bin_dir / "config.json")
        # torch.save keeps the three embedding names on one storage, as HF checkpoints do.
        full = {k: v.to(dtype) for k, v in model.state_dict().items()}
        full["encoder.embed_tokens.weight"] = full["shared.weight"]
        full["decoder.embed_tokens.weight"] = full["shared.weight"]
        torch.save(full, bin_dir / "pytorch_model.bin")
        link = bin_dir / "spiece.model"
        if not link.exists():
            link.symlink_to("../spiece.model")
    link = directory / "spiece.model"
    if not link.exists():
        link.symlink_to("../spiece.model")


def warp(logits, recipe):
    scores = logits.clone()
    if recipe["temperature"] != 1.0:
        scores = TemperatureLogitsWarper(recipe["temperature"])(None, scores)
    scores = TopKLogitsWarper(top_k=recipe["top_k"])(None, scores)
    scores = TopPLogitsWarper(top_p=recipe["top_p"])(None, scores)
    return torch.softmax(scores, dim=-1)


def references(model, tokenizer, passages):
    cases = []
    for passage_index, text in enumerate(passages):
        encoded = tokenizer(text, return_tensors="pt", truncation=True,
                            max_length=MAX_INPUT_TOKENS)
        ids = encoded.input_ids
        case = {"passage": passage_index, "input_ids": ids[0].tolist()}
        with torch.no_grad():
            greedy = model.generate(ids, do_sample=False, num_beams=1, **GREEDY)
            case["greedy"] = greedy[0].tolist()
            first = model(input_ids=ids, decoder_input_ids=torch.zeros((1, 1), dtype=torch.long))
            log_probs = torch.log_softmax(first.logits[0, -1].float(), dim=-1)
            top = torch.topk(log_probs, 16)
            case["first_step"] = {
                "top_ids": top.indices.tolist(), "top_log_probs": top.values.tolist(),
                "ids": FIRST_STEP_IDS, "log_probs": log_probs[FIRST_STEP_IDS].tolist()}
            case["beam"] = {}
            for recipe_name, recipe in BEAM_RECIPES.items():
                out = model.generate(ids, do_sample=False, return_dict_in_generate=True,
                                     output_scores=True, **recipe)
                sequences = [trim(row.tolist()) for row in out.sequences]
                case["beam"][recipe_name] = {
                    "sequences": sequences,
                    "scores": out.sequences_scores.tolist(),
                    "texts": [tokenizer.decode(s, skip_special_tokens=True) for s in sequences]}
            case["sampling"] = {}
            prefix = greedy[0][: SAMPLING_STEPS].tolist()
            for recipe_name, recipe in SAMPLING_RECIPES.items():
                steps = []
                for step in range(SAMPLING_STEPS):
                    decoder_ids = torch.tensor([prefix[: step + 1]])
                    logits = model(input_ids=ids, decoder_input_ids=decoder_ids).logits[0, -1]
                    probs = warp(logits.float().unsqueeze(0), recipe)[0]
                    kept = torch.nonzero(probs > 0).flatten()
                    steps.append({"prefix": prefix[: step + 1], "ids": kept.tolist(),
                                  "probs": probs[kept].tolist()})
                case["sampling"][recipe_name] = steps
        cases.append(case)
    return cases


def trim(sequence):
    """Drops the padding HF adds after a sequence's end so rows of a batch line up."""
    if 1 in sequence[1:]:
        return sequence[: sequence.index(1, 1) + 1]
    while len(sequence) > 1 and sequence[-1] == 0:
        sequence = sequence[:-1]
    return sequence


def load_passages(shared):
    bosque = [json.loads(line) for line in open(shared / "pt-bosque/bosque_passages.jsonl")]
    machado = [json.loads(line)
               for line in open(shared / "pt-machado/machado_paragraphs.part00.jsonl")]
    chosen = [bosque[i]["text"] for i in (0, 7, 100, 1500)]
    chosen.append(bosque[42]["title"])
    long_one = next(p["text"] for p in machado if 2600 < len(p["text"]) < 3400)
    chosen.append(long_one)
    return chosen


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(HERE.parents[2].parent / "shared" / "data"))
    parser.add_argument("--mt5-base", help="write a random mT5-base-shaped checkpoint here")
    args = parser.parse_args()
    shared = Path(args.shared)
    spm_source = shared / "ptt5-spm/spm_32000_pt.model"

    if args.mt5_base:
        write_mt5_base(Path(args.mt5_base), spm_source)
        return

    shutil.copy(spm_source, HERE / "spiece.model")
    tokenizer = AutoTokenizer.from_pretrained(str(prepare_tokenizer_dir(spm_source)))
    passages = load_passages(shared)
    (HERE / "passages.json").write_text(json.dumps(passages, ensure_ascii=False, indent=1))

    for name, (model_type, overrides, dtype, write_bin) in SHAPES.items():
        model = build_model(name, model_type, overrides, dtype)
        model.stored_dtype = dtype
        factor, lengths = eos_lift(model, tokenizer, passages)
        print(name, "eos factor", round(factor, 1), "greedy lengths", lengths)
        save_checkpoint(model, name, model_type, dtype, write_bin, HERE / name)
        cases = references(model, tokenizer, passages)
        (HERE / name / "reference.json").write_text(json.dumps(
            {"beam_recipes": BEAM_RECIPES, "sampling_recipes": SAMPLING_RECIPES,
             "greedy": GREEDY, "max_input_tokens": MAX_INPUT_TOKENS, "cases": cases}) + "\n")
        ended = sum(1 for c in cases for s in c["beam"]["card"]["sequences"] if s[-1] == 1)
        print(name, "beam sequences ending in eos:", ended, "of", 5 * len(cases))


def prepare_tokenizer_dir(spm_source):
    directory = Path("/tmp/pairgen-spm-tokenizer")
    directory.mkdir(exist_ok=True)
    shutil.copy(spm_source, directory / "spiece.model")
    (directory / "config.json").write_text('{"model_type": "mt5"}\n')
    return directory


def write_mt5_base(directory, spm_source):
    """A randomly initialised checkpoint of doc2query/msmarco-portuguese-mt5-base-v1's shape."""
    torch.manual_seed(0)
    config = MT5Config(vocab_size=250112, d_model=768, d_kv=64, d_ff=2048, num_heads=12,
                       num_layers=12, num_decoder_layers=12, feed_forward_proj="gated-gelu",
                       dropout_rate=0.0, decoder_start_token_id=0, eos_token_id=1,
                       pad_token_id=0)
    model = MT5ForConditionalGeneration(config)
    model.lm_head.weight = torch.nn.Parameter(torch.randn(250112, 768))
    directory.mkdir(parents=True, exist_ok=True)
    state = state_dict_for_saving(model, torch.float32, tied=False)
    save_file(state, str(directory / "model.safetensors"), metadata={"format": "pt"})
    out = model.config.to_dict()
    out["tie_word_embeddings"] = False
    keep = {k: out[k] for k in ("model_type", "d_model", "d_kv", "d_ff", "num_heads",
            "num_layers", "num_decoder_layers", "vocab_size", "relative_attention_num_buckets",
            "relative_attention_max_distance", "feed_forward_proj", "layer_norm_epsilon",
            "decoder_start_token_id", "eos_token_id", "pad_token_id", "tie_word_embeddings")}
    (directory / "config.json").write_text(json.dumps(keep, indent=2) + "\n")
    shutil.copy(spm_source, directory / "spiece.model")
    print("wrote", directory, sum(p.numel() for p in state.values()), "parameters")


if __name__ == "__main__":
    main()
