#!/usr/bin/env bash
# Benchmarks PairGen's BM25 against bm25s (lucene, k1 1.2, b 0.75, no stemmer, same stopwords
# and tokens) on SciFact and on Machado de Assis sentences queried with Bosque titles.
#
# usage: bash Recipes/bench/bm25.sh [SHARED_DATA_DIR]   (default ../shared/data)
# needs: a Python with bm25s (PYTHON, default /work/venv/bin/python) and zstd; builds pairgen
# in release mode (SCRATCH, default .build).
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA="${1:-../shared/data}"
PYTHON="${PYTHON:-/work/venv/bin/python}"
SCRATCH="${SCRATCH:-.build}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

swift build -c release --product pairgen --scratch-path "$SCRATCH" >&2
PAIRGEN="$SCRATCH/release/pairgen"

# SciFact: the test fixture (corpus with titles, 300 test queries).
zstd -dqc Tests/BM25Tests/Fixtures/scifact/corpus.jsonl.zst > "$WORK/scifact.jsonl"
cp Tests/BM25Tests/Fixtures/scifact/queries.jsonl "$WORK/scifact-queries.jsonl"

# Machado: paragraphs split after . ! ? ; and kept when 20+ characters; Bosque titles as queries.
"$PYTHON" - "$DATA" "$WORK" <<'PY'
import json, re, sys
data, work = sys.argv[1], sys.argv[2]
with open(f"{work}/machado.jsonl", "w", encoding="utf-8") as out:
    count = 0
    for part in ("00", "01"):
        path = f"{data}/pt-machado/machado_paragraphs.part{part}.jsonl"
        for line in open(path, encoding="utf-8"):
            paragraph = json.loads(line)
            for number, sentence in enumerate(re.split(r"(?<=[.!?;])\s+", paragraph["text"])):
                if len(sentence.strip()) >= 20:
                    out.write(json.dumps({"id": f"{paragraph['id']}-{number}",
                                          "text": sentence.strip()}, ensure_ascii=False) + "\n")
                    count += 1
with open(f"{work}/bosque-titles.jsonl", "w", encoding="utf-8") as out:
    for line in open(f"{data}/pt-bosque/bosque_passages.jsonl", encoding="utf-8"):
        passage = json.loads(line)
        if passage.get("title"):
            out.write(json.dumps({"id": passage["id"], "text": passage["title"]},
                                 ensure_ascii=False) + "\n")
print(f"machado sentences: {count}", file=sys.stderr)
PY

run() {
    local name=$1 corpus=$2 queries=$3 language=$4 stopwords=$5
    "$PYTHON" Recipes/bench/bm25_bm25s.py --corpus "$corpus" --queries "$queries" \
        --stopwords "$stopwords" --out "$WORK/$name-bm25s.json"
    "$PAIRGEN" bench bm25 --name "$name" --corpus "$corpus" --queries "$queries" \
        --language "$language" --bm25s "$WORK/$name-bm25s.json"
    echo
}
run SciFact "$WORK/scifact.jsonl" "$WORK/scifact-queries.jsonl" en en
run Machado "$WORK/machado.jsonl" "$WORK/bosque-titles.jsonl" pt pt
