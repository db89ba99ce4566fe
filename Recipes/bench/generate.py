#!/usr/bin/env python3
"""Query generation speed: PairGen beside HF transformers and CTranslate2, in one run.

    python Recipes/bench/generate.py --model /tmp/mt5-base-random [--passages 8] [--threads 2]

The model is a randomly initialised checkpoint of the mT5-base shape, made by
    python Tests/MT5Tests/Fixtures/make_mt5_fixtures.py --mt5-base /tmp/mt5-base-random
Every engine runs the same workloads on the same real passages (Data/pt-bosque), cut to 256
input tokens, generating exactly 16 new tokens per query: sampling (10 queries, top_k 10) and
beam search (5 beams, 5 returned). Each engine runs in its own process (for its peak memory),
with the same thread count, at batch sizes 1, 8, 16 and 32, and its fastest setting is
reported. Every engine first decodes its first batch once, untimed (--warmup), so that the
figures are those of a long job rather than of a cold start.
The table's last columns are PairGen's exact (fp32) and fast (--fast: 8-bit weights,
vocabulary trimmed to the corpus's tokens) speeds divided by each engine's.
Needs the dev venv (torch, transformers, ctranslate2) and a release build of pairgen.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKLOADS = ("sample", "beam")


def passages(count):
    rows = [json.loads(line) for line in open(ROOT / "Data/pt-bosque/bosque_passages.jsonl")]
    return [row["text"] for row in rows[:count]]


def peer_main(args):
    """Runs inside a child process: one engine, one workload, one batch size."""
    import torch
    torch.set_num_threads(args.threads)
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    texts = passages(args.passages)
    encoded = [tokenizer(t, truncation=True, max_length=256).input_ids for t in texts]
    new = args.new_tokens
    generated = 0
    if args.engine == "hf":
        from transformers import MT5ForConditionalGeneration
        model = MT5ForConditionalGeneration.from_pretrained(args.model).eval()
        settings = (dict(do_sample=True, top_k=10, num_return_sequences=10)
                    if args.workload == "sample" else
                    dict(num_beams=5, num_return_sequences=5))
        def run_hf(batch_ids):
            batch = tokenizer.pad({"input_ids": batch_ids}, return_tensors="pt")
            with torch.no_grad():
                return model.generate(**batch, max_new_tokens=new, min_new_tokens=new,
                                      **settings)
        for _ in range(args.warmup):
            run_hf(encoded[:args.batch])
        start = time.time()
        for i in range(0, len(encoded), args.batch):
            batch = tokenizer.pad({"input_ids": encoded[i:i + args.batch]}, return_tensors="pt")
            with torch.no_grad():
                out = model.generate(**batch, max_new_tokens=new, min_new_tokens=new,
                                     **settings)
            generated += (out.shape[1] - 1) * out.shape[0]
        seconds = time.time() - start
    else:
        import ctranslate2
        compute = "int8" if args.engine == "ct2-int8" else "float32"
        directory = args.model.rstrip("/") + f"-ct2-{compute}"
        translator = ctranslate2.Translator(directory, device="cpu", compute_type=compute,
                                            intra_threads=args.threads)
        pieces = [tokenizer.convert_ids_to_tokens(ids) for ids in encoded]
        settings = (dict(beam_size=1, sampling_topk=10, num_hypotheses=10)
                    if args.workload == "sample" else dict(beam_size=5, num_hypotheses=5))
        for _ in range(args.warmup):
            translator.translate_batch(pieces[:args.batch], max_decoding_length=new,
                                       min_decoding_length=new, **settings)
        start = time.time()
        for i in range(0, len(pieces), args.batch):
            results = translator.translate_batch(
                pieces[i:i + args.batch], max_decoding_length=new, min_decoding_length=new,
                **settings)
            generated += sum(len(h) for r in results for h in r.hypotheses)
        seconds = time.time() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"engine": args.engine, "workload": args.workload,
                      "batch_passages": args.batch, "passages": len(encoded),
                      "seconds": seconds, "passages_per_second": len(encoded) / seconds,
                      "tokens_per_second": generated / seconds, "peak_mb": peak}))


def convert(model):
    for compute in ("float32", "int8"):
        target = model.rstrip("/") + f"-ct2-{compute}"
        if not Path(target).exists():
            converter = Path(sys.executable).parent / "ct2-transformers-converter"
            subprocess.run([str(converter), "--model", model, "--output_dir", target,
                            "--quantization", compute], check=True, stdout=subprocess.DEVNULL)


def run_child(command):
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--passages", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--new-tokens", type=int, default=16)
    parser.add_argument("--engines", default="pairgen,pairgen-fast,hf,ct2-fp32,ct2-int8")
    parser.add_argument("--batches", default="1,8,16,32")
    parser.add_argument("--warmup", type=int, default=1,
                        help="untimed batches each engine decodes first")
    parser.add_argument("--pairgen", default=str(ROOT / ".build/release/pairgen"))
    parser.add_argument("--peer", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--workload", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        return peer_main(args)

    engines = args.engines.split(",")
    if any(e.startswith("ct2") for e in engines):
        convert(args.model)
    corpus = ROOT / "Data/pt-bosque/bosque_passages.jsonl"
    best = {}
    for workload in WORKLOADS:
        for engine in engines:
            for batch in [int(b) for b in args.batches.split(",")]:
                if engine.startswith("pairgen"):
                    command = [args.pairgen, "bench", "generate", "--model", args.model,
                               "--input", str(corpus), "--workload", workload,
                               "--passages", str(args.passages),
                               "--new-tokens", str(args.new_tokens),
                               "--batch-passages", str(batch), "--threads", str(args.threads),
                               "--warmup", str(args.warmup)]
                    if engine == "pairgen-fast":
                        command.append("--fast")
                else:
                    command = [sys.executable, __file__, "--peer", "--model", args.model,
                               "--engine", engine, "--workload", workload,
                               "--batch", str(batch), "--passages", str(args.passages),
                               "--threads", str(args.threads),
                               "--new-tokens", str(args.new_tokens),
                               "--warmup", str(args.warmup)]
                figures = run_child(command)
                print(json.dumps(figures), file=sys.stderr)
                key = (workload, engine)
                if key not in best or (figures["passages_per_second"]
                                       > best[key]["passages_per_second"]):
                    best[key] = figures

    print(f"{'workload':9} {'engine':14} {'batch':>5} {'passages/s':>11} {'tokens/s':>9} "
          f"{'peak MB':>8} {'fp32 x':>7} {'fast x':>7}")
    for workload in WORKLOADS:
        exact = best.get((workload, "pairgen"))
        fast = best.get((workload, "pairgen-fast"))
        for engine in engines:
            figures = best[(workload, engine)]
            rate = figures["passages_per_second"]
            ratios = [ours["passages_per_second"] / rate if ours else float("nan")
                      for ours in (exact, fast)]
            print(f"{workload:9} {figures['engine']:14} {figures['batch_passages']:>5} "
                  f"{rate:>11.3f} {figures['tokens_per_second']:>9.1f} "
                  f"{figures['peak_mb']:>8.0f} {ratios[0]:>7.2f} {ratios[1]:>7.2f}")


if __name__ == "__main__":
    main()
