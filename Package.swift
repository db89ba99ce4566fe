// swift-tools-version:6.0
import PackageDescription

// One target per subsystem (shared/STYLE.md): the C libraries come from Debian and are wrapped
// thinly; MT5, BM25, Corpus and PairGenJob are ours; `pairgen` is the command line.
let package = Package(
    name: "PairGen",
    products: [
        .executable(name: "pairgen", targets: ["pairgen"]),
        .library(name: "MT5", targets: ["MT5"]),
        .library(name: "BM25", targets: ["BM25"]),
        .library(name: "Corpus", targets: ["Corpus"]),
        .library(name: "PairGenJob", targets: ["PairGenJob"]),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS", path: "Sources/CBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CStemmer", path: "Sources/CStemmer", providers: [.apt(["libstemmer-dev"])]),
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto", providers: [.apt(["libssl-dev"])]),
        .target(
            name: "SentencePieceShim",
            path: "Sources/SentencePieceShim",
            cxxSettings: [.unsafeFlags(["-std=c++17"])],
            linkerSettings: [.linkedLibrary("sentencepiece"), .linkedLibrary("stdc++")]
        ),
        // The kernels are optimised in debug builds too: the tests run them on every model.
        .target(name: "MT5Kernels", path: "Sources/MT5Kernels", cSettings: [.unsafeFlags(["-O3"])]),
        .target(
            name: "MT5", dependencies: ["CBLAS", "MT5Kernels", "SentencePieceShim", "Corpus"]),
        .target(name: "BM25", dependencies: ["CStemmer"]),
        .target(name: "Corpus", dependencies: ["CZstd", "CZlib", "CCrypto"]),
        .target(name: "PairGenJob", dependencies: ["MT5", "BM25", "Corpus", "CZstd"]),
        .executableTarget(name: "pairgen", dependencies: ["MT5", "BM25", "Corpus", "PairGenJob"]),
        .testTarget(name: "MT5Tests", dependencies: ["MT5"], exclude: ["Fixtures"]),
        .testTarget(
            name: "BM25Tests", dependencies: ["BM25", "Corpus"], resources: [.copy("Fixtures")]),
        .testTarget(name: "CorpusTests", dependencies: ["Corpus"]),
        .testTarget(name: "PairGenJobTests", dependencies: ["PairGenJob"]),
        .testTarget(name: "PairGenCLITests", dependencies: ["pairgen"]),
    ]
)
