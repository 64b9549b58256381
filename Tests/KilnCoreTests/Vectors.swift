import Foundation
import KilnCore
import Testing

/// Loads a known-answer file from `Vectors/` (a test resource).
enum Vectors {
    static func load(_ name: String) throws -> JSONValue {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Vectors"))
        return try JSONValue.parse(bytes: Array(try Data(contentsOf: url)))
    }
}
