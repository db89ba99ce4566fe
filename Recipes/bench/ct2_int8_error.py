#!/usr/bin/env python3
"""CTranslate2 int8's effect on the output, on the metric of `pairgen bench fast`.

    python Recipes/bench/ct2_int8_error.py --model DIR --ct2-fp32 DIR --ct2-int8 DIR
        [--passages 10] [--steps 16]

For the first N Bosque passages (Data/pt-bosque, cut to 320 tokens) HF transformers' greedy
output of L new tokens is scored by both CTranslate2 conversions (teacher forcing); the table
gives the log-probability error of each token, int8 against fp32, and CTranslate2 fp32 against
HF (which should be near 0: if it is not, the conversion computes another model; see
--scale-head). Compare the int8 row with the "8-bit" row of
    pairgen bench fast --model DIR --input Data/pt-bosque/bosque_passages.jsonl --passages N
--scale-head writes nothing: it multiplies HF's lm_head by d_model**-0.5 in memory, which is
what ct2-transformers-converter 4.x does to an untied T5 head, so that HF and CTranslate2
compute the same model (make the PairGen copy with the same scaling to compare like for like).
Needs the dev venv (torch, transformers, ctranslate2).
"""

import argparse
import json
from pathlib import Path

import ctranslate2
import numpy as np
import torch
import transformers

ROOT = Path(__file__).resolve().parents[2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--ct2-fp32", required=True)
    parser.add_argument("--ct2-int8", required=True)
    parser.add_argument("--passages", type=int, default=10)
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--scale-head", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rows = [json.loads(line) for line in open(ROOT / "Data/pt-bosque/bosque_passages.jsonl")]
    texts = [((row.get("title") or "") + " " + row["text"]).strip() for row in rows[:args.passages]]
    tokenizer = transformers.AutoTokenizer.from_pretrained(args.model)
    model = transformers.AutoModelForSeq2SeqLM.from_pretrained(args.model).eval()
    if args.scale_head:
        with torch.no_grad():
            model.lm_head.weight.mul_(model.config.d_model ** -0.5)
    sources = [tokenizer(t, truncation=True, max_length=320).input_ids for t in texts]

    targets, reference = [], []
    with torch.no_grad():
        for source in sources:
            output = model.generate(torch.tensor([source]), max_new_tokens=args.steps,
                                    do_sample=False, num_beams=1)
            target = output[0, 1:].tolist()
            if target and target[-1] == model.config.eos_token_id:
                target = target[:-1]
            logits = model(input_ids=torch.tensor([source]),
                           labels=torch.tensor([target])).logits[0]
            log_probs = torch.log_softmax(logits, -1)[range(len(target)), target]
            targets.append(target)
            reference.append(log_probs.numpy())

    vocabulary = json.load(open(Path(args.ct2_fp32) / "shared_vocabulary.json"))

    def score(directory):
        translator = ctranslate2.Translator(directory, inter_threads=1,
                                            intra_threads=args.threads)
        results = translator.score_batch([[vocabulary[i] for i in s] for s in sources],
                                         [[vocabulary[i] for i in t] for t in targets])
        # The last score is the end-of-sequence token that CTranslate2 appends.
        return [np.array(r.log_probs[:len(t)]) for r, t in zip(results, targets)]

    fp32, int8 = score(args.ct2_fp32), score(args.ct2_int8)

    def errors(a, b):
        return np.concatenate([np.abs(x - y) for x, y in zip(a, b)])

    print(f"passages: {len(sources)}, tokens scored: {sum(map(len, targets))}")
    print(f"{'comparison':24} {'logp err mean':>13} {'max':>7}")
    for name, error in (("ct2 int8 vs ct2 fp32", errors(int8, fp32)),
                        ("ct2 fp32 vs hf", errors(fp32, reference))):
        print(f"{name:24} {error.mean():13.4f} {error.max():7.4f}")


if __name__ == "__main__":
    main()
