enum BM25Placeholder {}
