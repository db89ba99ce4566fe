import Foundation

/// The analyzer and parameters an index was built with, saved as JSON in its header.
struct IndexSettings: Codable, Equatable {
    var analyzer: Analyzer
    var parameters: BM25Parameters
}

/// A term as its exact UTF-8 bytes: Swift's String equality would merge canonically equivalent
/// spellings (composed and decomposed accents), which a byte-sorted term table cannot.
struct TermKey: Hashable {
    var text: String

    static func == (lhs: TermKey, rhs: TermKey) -> Bool {
        lhs.text.utf8.elementsEqual(rhs.text.utf8)
    }

    func hash(into hasher: inout Hasher) {
        var text = text
        text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

/// Builds an index from passages streamed in corpus order.
///
/// Memory while adding: 8 bytes per posting (term number and tf), about 20 bytes plus the id
/// per passage, the vocabulary, and one batch of 4,096 pending texts; `finish` adds the index
/// itself (8 bytes per posting, see IndexFile.swift) before the collected arrays are freed.
public final class BM25IndexBuilder {
    /// How passages and queries are analysed.
    public let analyzer: Analyzer
    /// The scoring parameters baked into the index.
    public let parameters: BM25Parameters

    /// Threads that analyse passages; they are analysed in batches, then added in order, so
    /// the index is the same for any count.
    public var analysisThreads = ProcessInfo.processInfo.activeProcessorCount

    private var state = BuildState()
    private var pending: [(id: String, text: String)] = []
    private var finished = false
    private static let batchSize = 4096

    /// A builder whose parameters have been validated.
    public init(analyzer: Analyzer, parameters: BM25Parameters = .init()) throws {
        try parameters.validate()
        self.analyzer = analyzer
        self.parameters = parameters
    }

    /// The number of passages added so far.
    public var documentCount: Int { state.documentLengths.count + pending.count }

    /// Adds a passage; passages are numbered 0, 1, 2... in the order they are added.
    public func add(id: String, text: String) {
        precondition(!finished, "add after finish: a builder makes one index")
        pending.append((id, text))
        if pending.count >= BM25IndexBuilder.batchSize { flushPending() }
    }

    /// Adds a passage already analysed into terms (as bm25s takes token lists).
    public func add(id: String, terms documentTerms: [String]) {
        precondition(!finished, "add after finish: a builder makes one index")
        flushPending()
        state.add(id: id, terms: documentTerms)
    }

    /// Analyses the pending passages on `analysisThreads` threads and adds them in order.
    private func flushPending() {
        guard !pending.isEmpty else { return }
        let batch = pending
        pending.removeAll(keepingCapacity: true)
        let analyzer = self.analyzer
        let workers = max(1, min(analysisThreads, batch.count / 64))
        let analysed = UnsafeMutableBufferPointer<[String]>.allocate(capacity: batch.count)
        analysed.initialize(repeating: [])
        defer {
            analysed.deinitialize()
            analysed.deallocate()
        }
        let output = UnsafeSendableBuffer(analysed)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            for number in stride(from: worker, to: batch.count, by: workers) {
                var terms: [String] = []
                analyzer.forEachTerm(batch[number].text) { terms.append($0) }
                output.buffer[number] = terms
            }
        }
        for number in batch.indices {
            state.add(id: batch[number].id, terms: analysed[number])
        }
    }

    /// The finished index, in memory with the exact bytes `save` writes; call it once.
    public func finish() -> BM25Index {
        precondition(!finished, "finish called twice: a builder makes one index")
        flushPending()
        finished = true
        state.termIDs = [:]
        state.lastDocumentOfTerm = []
        state.slotOfTerm = []
        let terms = state.terms
        state.terms = []
        let documentLengths = state.documentLengths
        let totalLength = state.totalLength

        // Terms sorted by their bytes, so that a query term is found by binary search.
        let termUTF8 = terms.map { Array($0.utf8) }
        let sortedTerms = termUTF8.indices.sorted {
            termUTF8[$0].lexicographicallyPrecedes(termUTF8[$1])
        }
        var rankOfTerm = [UInt32](repeating: 0, count: sortedTerms.count)
        for (rank, termID) in sortedTerms.enumerated() { rankOfTerm[termID] = UInt32(rank) }

        let settings = try! JSONEncoderForIndex.encode(
            IndexSettings(analyzer: analyzer, parameters: parameters))
        let counts = IndexCounts(
            documentCount: documentLengths.count, termCount: sortedTerms.count,
            postingCount: state.postingTerms.count,
            documentIDBytes: state.documentIDBytes.count,
            termBytes: termUTF8.reduce(0) { $0 + $1.count }, totalLength: totalLength,
            settingsLength: settings.count)
        let layout = IndexLayout(counts)
        let (storage, memory) = IndexStorage.allocate(length: layout.fileLength)
        let writer = IndexWriter(memory: memory)

        writer.writeHeader(counts, settings: settings)
        writer.write(documentLengths, at: layout.documentLengths)
        writer.write([UInt64(0)] + state.documentIDEnds.map(UInt64.init),
                     at: layout.documentIDOffsets)
        writer.write(state.documentIDBytes, at: layout.documentIDBytes)
        var termOffsets: [UInt64] = [0]
        var termBytes: [UInt8] = []
        termBytes.reserveCapacity(counts.termBytes)
        for termID in sortedTerms {
            termBytes.append(contentsOf: termUTF8[termID])
            termOffsets.append(UInt64(termBytes.count))
        }
        writer.write(termOffsets, at: layout.termOffsets)
        writer.write(termBytes, at: layout.termBytes)
        writePostings(writer, layout: layout, rankOfTerm: rankOfTerm)

        let checksum = indexChecksum(
            UnsafeRawBufferPointer(start: memory + 24, count: layout.fileLength - 24))
        writer.write([checksum], at: 16)
        state = BuildState()
        return BM25Index(storage: storage, settings: IndexSettings(
            analyzer: analyzer, parameters: parameters), counts: counts, layout: layout)
    }

    /// Counting sort of the postings by term rank; documents stay ascending in each list.
    private func writePostings(_ writer: IndexWriter, layout: IndexLayout, rankOfTerm: [UInt32]) {
        let postingTerms = state.postingTerms
        let postingFrequencies = state.postingFrequencies
        let documentPostingEnds = state.documentPostingEnds
        let documentLengths = state.documentLengths
        let totalLength = state.totalLength
        var starts = [UInt64](repeating: 0, count: rankOfTerm.count + 1)
        for term in postingTerms { starts[Int(rankOfTerm[Int(term)]) + 1] += 1 }
        for rank in rankOfTerm.indices { starts[rank + 1] += starts[rank] }
        writer.write(starts, at: layout.postingStarts)

        let averageLength = Double(totalLength) / Double(max(documentLengths.count, 1))
        var maxWeights = [Float](repeating: 0, count: rankOfTerm.count)
        var next = starts.map(Int.init)
        let documents = writer.pointer(UInt32.self, at: layout.postingDocuments)
        let weights = writer.pointer(UInt32.self, at: layout.postingWeights)
        var posting = 0
        for document in documentLengths.indices {
            let norm = parameters.lengthNorm(
                documentLength: documentLengths[document], averageLength: averageLength)
            while posting < documentPostingEnds[document] {
                let rank = Int(rankOfTerm[Int(postingTerms[posting])])
                let frequency = postingFrequencies[posting]
                let position = next[rank]
                next[rank] += 1
                documents[position] = UInt32(document).littleEndian
                let weight = Float(
                    parameters.termFrequencyPart(Double(frequency), lengthNorm: norm))
                weights[position] = weight.bitPattern.littleEndian
                maxWeights[rank] = max(maxWeights[rank], weight)
                posting += 1
            }
        }
        writer.write(maxWeights.map { $0.bitPattern }, at: layout.termMaxWeights)
    }
}

/// What the builder has collected: the vocabulary and, per passage, its (term, tf) postings.
///
/// A struct mutated in place, so appending a posting costs no dynamic exclusivity check.
struct BuildState {
    var termIDs: [TermKey: UInt32] = [:]
    var terms: [String] = []
    var postingTerms: [UInt32] = []
    var postingFrequencies: [UInt32] = []
    var documentPostingEnds: [Int] = []
    var documentLengths: [UInt32] = []
    var documentIDBytes: [UInt8] = []
    var documentIDEnds: [Int] = []
    var totalLength: UInt64 = 0
    /// For each term, the last passage that held it and its posting's place in that passage.
    var lastDocumentOfTerm: [Int32] = []
    var slotOfTerm: [Int32] = []

    mutating func add(id: String, terms documentTerms: [String]) {
        let document = Int32(truncatingIfNeeded: documentLengths.count)
        let firstPosting = postingTerms.count
        for term in documentTerms {
            let termID = Int(identifier(of: term))
            if lastDocumentOfTerm[termID] == document {
                postingFrequencies[firstPosting + Int(slotOfTerm[termID])] += 1
            } else {
                lastDocumentOfTerm[termID] = document
                slotOfTerm[termID] = Int32(postingTerms.count - firstPosting)
                postingTerms.append(UInt32(termID))
                postingFrequencies.append(1)
            }
        }
        documentPostingEnds.append(postingTerms.count)
        let length = UInt32(clamping: documentTerms.count)
        documentLengths.append(length)
        totalLength += UInt64(length)
        documentIDBytes.append(contentsOf: id.utf8)
        documentIDEnds.append(documentIDBytes.count)
    }

    private mutating func identifier(of term: String) -> UInt32 {
        let key = TermKey(text: term)
        if let known = termIDs[key] { return known }
        let termID = UInt32(terms.count)
        termIDs[key] = termID
        terms.append(term)
        lastDocumentOfTerm.append(-1)
        slotOfTerm.append(0)
        return termID
    }
}

/// JSON for the settings block: sorted keys, so the same settings give the same bytes.
enum JSONEncoderForIndex {
    static func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value))
    }
}

/// Little-endian stores into the builder's buffer.
struct IndexWriter {
    let memory: UnsafeMutableRawPointer

    func pointer<Element>(_ type: Element.Type, at offset: Int) -> UnsafeMutablePointer<Element> {
        (memory + offset).assumingMemoryBound(to: Element.self)
    }

    func write<Element: FixedWidthInteger>(_ values: [Element], at offset: Int) {
        let target = pointer(Element.self, at: offset)
        for (index, value) in values.enumerated() { target[index] = value.littleEndian }
    }

    func writeHeader(_ counts: IndexCounts, settings: [UInt8]) {
        write(IndexCounts.magic, at: 0)
        let fields: [Int] = [
            counts.documentCount, counts.termCount, counts.postingCount,
            0, counts.documentIDBytes, counts.termBytes,
        ]
        write([IndexCounts.formatVersion], at: 8)
        write([UInt64(IndexLayout(counts).fileLength)], at: 24)
        write(fields.map(UInt64.init) + [counts.totalLength, UInt64(settings.count)], at: 32)
        write(settings, at: IndexCounts.headerSize)
    }
}
