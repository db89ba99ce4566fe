"""Makes the BM25 reference fixtures with bm25s (a dev tool; no test runs Python).

Usage: /work/venv/bin/python Tests/BM25Tests/Fixtures/make_bm25_reference.py /work/shared/data

Writes, beside this script:
  bm25s_scores.json   300 Machado de Assis paragraphs (public domain) and 40 Bosque titles
                      (CC BY-SA 4.0) as bm25s tokens (Portuguese stopwords, no stemmer), with
                      bm25s's float64 top-50 scores for the lucene, robertson and atire variants.
  scifact_reference.json  bm25s's nDCG@10 and Recall@100 on SciFact (title + " " + text, as
                      bm25s's BEIR benchmark script joins them; English stopwords, no stemmer,
                      lucene, k1 1.2, b 0.75).
  scifact/            the SciFact test split compressed with zstd (CC BY-NC 2.0), when missing.
  analyzer_tokens.json  texts (40 Machado paragraphs, 30 Bosque passages, 30 SciFact abstracts)
                      with bm25s's tokens for token_pattern r"(?u)[^\W_]+" (letters and digits,
                      one-letter words kept) and its stopwords: what PairGen's analyzer gives
                      without a stemmer.
"""
import json
import math
import os
import subprocess
import sys

import bm25s
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def read_jsonl(path):
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def tokens_of(texts, stopwords):
    return bm25s.tokenize(texts, stopwords=stopwords, return_ids=False, show_progress=False)


def reference_scores(data):
    paragraphs = read_jsonl(f"{data}/pt-machado/machado_paragraphs.part00.jsonl")[:300]
    titles = [p["title"] for p in read_jsonl(f"{data}/pt-bosque/bosque_passages.jsonl")
              if p.get("title")]
    documents = tokens_of([p["text"] for p in paragraphs], "pt")
    vocabulary = {token for document in documents for token in document}
    queries = []
    for query in tokens_of(titles, "pt"):
        if any(token in vocabulary for token in query) and query not in queries:
            queries.append(query)
        if len(queries) == 40:
            break
    fixture = {"documents": documents, "queries": queries, "k1": 1.2, "b": 0.75}
    for variant in ("lucene", "robertson", "atire"):
        model = bm25s.BM25(method=variant, k1=1.2, b=0.75, dtype="float64")
        model.index(documents, show_progress=False)
        results = []
        for query in queries:
            scores = model.get_scores(query)
            order = sorted(range(len(scores)), key=lambda d: (-scores[d], d))[:50]
            results.append([[d, float(scores[d])] for d in order if scores[d] > 0])
        fixture[variant] = results
    with open(f"{HERE}/bm25s_scores.json", "w", encoding="utf-8") as handle:
        json.dump(fixture, handle, ensure_ascii=False, separators=(",", ":"))


def ndcg_at_10(ranked, relevant):
    gains = sum(relevant.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:10]))
    ideal = sorted(relevant.values(), reverse=True)[:10]
    best = sum(gain / math.log2(rank + 2) for rank, gain in enumerate(ideal))
    return gains / best if best > 0 else 0.0


def scifact(data):
    corpus = []
    for part in (1, 2, 3):
        corpus += read_jsonl(f"{data}/en-scifact/corpus.part{part}.jsonl")
    queries = read_jsonl(f"{data}/en-scifact/queries.test.jsonl")
    qrels = {}
    with open(f"{data}/en-scifact/qrels/test.tsv", encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            query, document, score = line.rstrip("\n").split("\t")
            qrels.setdefault(query, {})[document] = int(score)
    queries = [q for q in queries if q["_id"] in qrels]
    ids = [d["_id"] for d in corpus]

    def evaluate(**options):
        def tokenize(texts):
            return bm25s.tokenize(texts, stopwords="en", return_ids=False, show_progress=False,
                                  **options)
        model = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
        model.index(tokenize([d["title"] + " " + d["text"] for d in corpus]),
                    show_progress=False)
        hits, _ = model.retrieve(tokenize([q["text"] for q in queries]), k=100,
                                 show_progress=False)
        ndcg = np.mean([ndcg_at_10([ids[d] for d in hits[i]], qrels[q["_id"]])
                        for i, q in enumerate(queries)])
        recall = np.mean([len(set(ids[d] for d in hits[i]) & set(qrels[q["_id"]]))
                          / len(qrels[q["_id"]]) for i, q in enumerate(queries)])
        return {"ndcg@10": round(float(ndcg), 4), "recall@100": round(float(recall), 4)}

    # bm25s's default tokens (two or more word characters), then PairGen's (letters and
    # digits, one-letter words kept); with the English Snowball stemmer when PyStemmer is there.
    result = {"bm25s": bm25s.__version__, "queries": len(queries), "documents": len(corpus)}
    result.update(evaluate())
    letters_digits = r"(?u)[^\W_]+"
    result["letters_digits"] = evaluate(token_pattern=letters_digits)
    try:
        import Stemmer
        result["letters_digits_stemmed"] = evaluate(
            token_pattern=letters_digits, stemmer=Stemmer.Stemmer("english"))
        from importlib.metadata import version
        result["pystemmer"] = version("PyStemmer")
    except ImportError:
        pass
    with open(f"{HERE}/scifact_reference.json", "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)
    print("SciFact, bm25s lucene, English stopwords:", result)

    folder = f"{HERE}/scifact"
    os.makedirs(folder, exist_ok=True)
    if not os.path.exists(f"{folder}/corpus.jsonl.zst"):
        with open(f"{folder}/corpus.jsonl", "w", encoding="utf-8") as handle:
            for document in corpus:
                handle.write(json.dumps(document, ensure_ascii=False) + "\n")
        subprocess.run(["zstd", "-19", "-q", "--rm", f"{folder}/corpus.jsonl"], check=True)
    with open(f"{folder}/queries.jsonl", "w", encoding="utf-8") as handle:
        for query in queries:
            handle.write(json.dumps(query, ensure_ascii=False) + "\n")
    with open(f"{folder}/test.tsv", "w", encoding="utf-8") as handle:
        handle.write("query-id\tcorpus-id\tscore\n")
        for query in queries:
            for document, score in qrels[query["_id"]].items():
                handle.write(f"{query['_id']}\t{document}\t{score}\n")


def analyzer_tokens(data):
    machado = read_jsonl(f"{data}/pt-machado/machado_paragraphs.part01.jsonl")[:40]
    bosque = read_jsonl(f"{data}/pt-bosque/bosque_passages.jsonl")[::60][:30]
    scifact = read_jsonl(f"{data}/en-scifact/corpus.part2.jsonl")[:30]
    cases = [("pt", p["text"]) for p in machado + bosque]
    cases += [("en", d["title"] + " " + d["text"]) for d in scifact]
    fixture = []
    for language, text in cases:
        tokens = bm25s.tokenize([text], token_pattern=r"(?u)[^\W_]+", stopwords=language,
                                return_ids=False, show_progress=False)[0]
        fixture.append({"language": language, "text": text, "tokens": tokens})
    with open(f"{HERE}/analyzer_tokens.json", "w", encoding="utf-8") as handle:
        json.dump(fixture, handle, ensure_ascii=False, separators=(",", ":"))


if __name__ == "__main__":
    analyzer_tokens(sys.argv[1])
    reference_scores(sys.argv[1])
    scifact(sys.argv[1])
