"""The bm25s side of `bash Recipes/bench/bm25.sh` (a dev tool; PairGen never needs Python).

Indexes a corpus with bm25s (lucene, k1 1.2, b 0.75, float32 as bm25s defaults, no stemmer),
times the build (tokenizing included) and top-k retrieval on 1 and on all threads (query
tokenizing included), and writes the figures and the 1-thread results as JSON.

Tokens: bm25s.tokenize with token_pattern r"(?u)[^\\W_]+" (runs of letters and digits, one
letter words kept) and bm25s's stopword list, which is what PairGen's analyzer does without a
stemmer, so that both engines score the same tokens.
"""
import argparse
import json
import os
import resource
import time

import bm25s


def read_jsonl(path):
    records = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                record = json.loads(line)
                title = record.get("title") or ""
                text = record["text"]
                records.append(title + " " + text if title else text)
    return records


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--queries", required=True)
    parser.add_argument("--stopwords", required=True)
    parser.add_argument("-k", type=int, default=100)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--min-seconds", type=float, default=2.0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    pattern = r"(?u)[^\W_]+"

    corpus = read_jsonl(args.corpus)
    queries = read_jsonl(args.queries)

    started = time.perf_counter()
    tokens = bm25s.tokenize(corpus, token_pattern=pattern, stopwords=args.stopwords,
                            show_progress=False)
    model = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
    model.index(tokens, show_progress=False)
    build_seconds = time.perf_counter() - started
    vocabulary = tokens.vocab

    def run(threads):
        # Queries as a user would send them: tokenized with the corpus vocabulary, words the
        # corpus lacks dropped (bm25s refuses a query with none left; they are skipped).
        query_tokens = bm25s.tokenize(queries, token_pattern=pattern, stopwords=args.stopwords,
                                      return_ids=False, show_progress=False)
        kept = [q for q in query_tokens if any(t in vocabulary for t in q)]
        documents, scores = model.retrieve(kept, k=args.k, n_threads=threads,
                                           show_progress=False)
        return kept, documents, scores

    rates = {}
    for threads in (1, args.threads):
        rounds = 0
        started = time.perf_counter()
        while True:
            kept, documents, scores = run(threads)
            rounds += 1
            elapsed = time.perf_counter() - started
            if elapsed >= args.min_seconds:
                break
        rates[threads] = rounds * len(queries) / elapsed

    kept_set = [i for i, q in enumerate(bm25s.tokenize(
        queries, token_pattern=pattern, stopwords=args.stopwords, return_ids=False,
        show_progress=False)) if any(t in vocabulary for t in q)]
    results = [[] for _ in queries]
    for row, query in enumerate(kept_set):
        results[query] = [[int(d), float(s)] for d, s in zip(documents[row], scores[row])
                          if s > 0]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump({"engine": f"bm25s {bm25s.__version__}", "documents": len(corpus),
                   "queries": len(queries), "build_seconds": build_seconds,
                   "queries_per_second_1": rates[1], "threads": args.threads,
                   "queries_per_second_n": rates[args.threads], "peak_memory_mb": peak,
                   "results": results}, handle)


if __name__ == "__main__":
    main()
