import Foundation
import XCTest
@testable import PairGenJob

final class RecipeTests: XCTestCase {
    func testDefaultsFillEverythingButCorpus() throws {
        let recipe = try Recipe.decode(Data(#"{"corpus": ["a.jsonl"], "model": "m"}"#.utf8),
            source: "r.json")
        XCTAssertEqual(recipe.corpus, ["a.jsonl"])
        XCTAssertNil(recipe.sample.size)
        XCTAssertEqual(recipe.generation.decoding, .sample)
        XCTAssertEqual(recipe.generation.topK, 10)
        XCTAssertEqual(recipe.mining.strategy, .random)
        XCTAssertNoThrow(try recipe.validate())
    }

    func testUnknownKeysAreNamedWithTheirPath() {
        let cases = [
            (#"{"corpus": ["a"], "sedd": 1}"#, "sedd"),
            (#"{"corpus": ["a"], "mining": {"num_negative": 2}}"#, "mining.num_negative"),
            (#"{"corpus": ["a"], "sample": {"size": 3, "minchars": 2}}"#, "sample.minchars"),
        ]
        for (json, key) in cases {
            XCTAssertThrowsError(try Recipe.decode(Data(json.utf8), source: "r.json")) { error in
                XCTAssertEqual(error as? JobError, .unknownRecipeKey(key: key, path: "r.json"))
                XCTAssertTrue("\(error)".contains("r.json"))
            }
        }
    }

    func testWrongTypesAndRangesNameTheKey() throws {
        // The message names the file and the key, and says in JSON's words what fits.
        let cases = [
            (#"{"corpus": ["a"], "seed": "x"}"#, "key 'seed' must be a whole number"),
            (#"{"corpus": ["a"], "sample": {"size": "most"}}"#,
                #"key 'sample.size' is "most"; allowed: a positive integer or "all""#),
            (#"{"corpus": ["a"], "generation": {"top_p": "high"}}"#,
                "key 'generation.top_p' must be a number"),
            (#"{"corpus": ["a"], "filters": {"dedup_across_job": 1}}"#,
                "key 'filters.dedup_across_job' must be true or false"),
            (#"{"corpus": "a.jsonl"}"#, "key 'corpus' must be a list"),
            (#"{"corpus": ["a"], "mining": 3}"#, "key 'mining' must be an object"),
            (#"{"seed": 1}"#, "key 'corpus' is missing"),
            (#"{"corpus": ["a"], "generation": {"num_queries": 2.5}}"#,
                "key 'generation.num_queries' is 2.5; allowed: a whole number"),
            (#"{"corpus": ["a"], "generation": {"top_k": 1e30}}"#,
                "key 'generation.top_k' is 1e+30; allowed: a whole number"),
            (#"{"corpus": ["a"], "seed": -1}"#, "key 'seed' is -1; allowed: a whole number from 0"),
            (#"{"corpus": ["a"], "generation": null}"#, "key 'generation' is null"),
            (#"{"corpus": ["a"], "mining": {"k1": null}}"#, "key 'mining.k1' is null"),
        ]
        for (json, message) in cases {
            XCTAssertThrowsError(try Recipe.decode(Data(json.utf8), source: "r.json"), json) {
                error in
                XCTAssertTrue("\(error)".hasPrefix("r.json: "), "\(error)")
                XCTAssertTrue("\(error)".contains(message), "\(error)")
            }
        }
        var recipe = Recipe(corpus: ["a"], model: "m")
        recipe.mining.rangeMax = 2
        XCTAssertThrowsError(try recipe.validate()) { error in
            XCTAssertTrue("\(error)".contains("mining.range_max"), "\(error)")
        }
    }

    func testOverridesChangeAnyFieldAndRejectUnknownOnes() throws {
        let recipe = Recipe(corpus: ["a"], model: "m")
        let changed = try recipe.applying([
            ("sample.size", "50"), ("mining.strategy", "top"), ("model", "org/name"),
            ("filters.round_trip_top_k", "10"), ("corpus", #"["b", "c"]"#),
        ])
        XCTAssertEqual(changed.sample.size, 50)
        XCTAssertEqual(changed.mining.strategy, .top)
        XCTAssertEqual(changed.model, "org/name")
        XCTAssertEqual(changed.filters.roundTripTopK, 10)
        XCTAssertEqual(changed.corpus, ["b", "c"])
        XCTAssertNil(try changed.applying([("sample.size", "all")]).sample.size)
        XCTAssertThrowsError(try recipe.applying([("mining.rang_max", "3")])) { error in
            XCTAssertEqual(error as? JobError,
                .unknownRecipeKey(key: "mining.rang_max", path: "command-line overrides"))
        }
    }

    func testIdentityHashIgnoresOutputModelAndCorpusPaths() throws {
        let recipe = Recipe(corpus: ["a"], output: "x", model: "m")
        var moved = recipe
        moved.output = "y"
        moved.model = "other"
        moved.corpus = ["/elsewhere/a"]
        XCTAssertEqual(recipe.identityHash, moved.identityHash)
        moved.seed += 1
        XCTAssertNotEqual(recipe.identityHash, moved.identityHash)
        // Fast mode changes the queries, so a run cannot be resumed across it.
        var fast = recipe
        fast.generation.fast = true
        XCTAssertNotEqual(recipe.identityHash, fast.identityHash)
        let decoded = try Recipe.decode(
            Data(#"{"corpus": ["a"], "generation": {"fast": true}}"#.utf8), source: "r")
        XCTAssertTrue(decoded.generation.fast)
    }

    func testRecipeRoundTripsThroughJSON() throws {
        var recipe = Recipe(corpus: ["a"], model: "m")
        recipe.sample.size = 12
        recipe.mining.margin = 0.1
        let again = try Recipe.decode(recipe.canonicalJSON(), source: "r")
        XCTAssertEqual(again, recipe)
    }
}
