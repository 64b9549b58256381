// Kiln — Apache-2.0. See LICENSE.

public import KilnCore

/// One problem in a template, where it is and what is wrong.
public struct Diagnostic: Hashable, Sendable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String

    public init(_ location: SourceLocation, _ message: String) {
        self.location = location
        self.message = message
    }

    /// `template.yml:12:9: message`.
    public var description: String { "\(location): \(message)" }
}

/// Every problem found in a template (all at once, in file order), or one problem found while rendering.
public struct TemplateError: CausedError, Hashable, Sendable {
    public var diagnostics: [Diagnostic]
    /// The error a single diagnostic wraps (an image that did not decode, …), if any.
    public var cause: (any Error)?

    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics.sorted { $0.location < $1.location } }
    public init(_ location: SourceLocation, _ message: String, cause: (any Error)? = nil) {
        self.init([Diagnostic(location, message)])
        self.cause = cause
    }

    /// Equal when the diagnostics are (the cause is context).
    public static func == (lhs: TemplateError, rhs: TemplateError) -> Bool { lhs.diagnostics == rhs.diagnostics }
    /// Hashes the diagnostics.
    public func hash(into hasher: inout Hasher) { hasher.combine(diagnostics) }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }

    /// The errors with the offending line and a caret under the column, for a terminal.
    public func rendered(source: [String: String]) -> String {
        diagnostics.map { diagnostic in
            var text = diagnostic.description
            if let file = source[diagnostic.location.file] {
                let lines = file.split(separator: "\n", omittingEmptySubsequences: false)
                if diagnostic.location.line >= 1 && diagnostic.location.line <= lines.count {
                    let line = lines[diagnostic.location.line - 1]
                    text +=
                        "\n    " + line + "\n    "
                        + String(repeating: " ", count: max(0, diagnostic.location.column - 1)) + "^"
                }
            }
            return text
        }.joined(separator: "\n")
    }
}

/// The closest of `candidates` to `word` (edit distance ≤ 2, or a case-insensitive match), for "did you mean".
func suggestion(for word: String, among candidates: some Sequence<String>) -> String? {
    func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(1, a.count) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in 1...max(1, b.count) where !b.isEmpty {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                let next = min(row[j] + 1, row[j - 1] + 1, previous + cost)
                previous = row[j]
                row[j] = next
            }
        }
        return a.isEmpty ? b.count : row[b.count]
    }
    let scored = candidates.map { ($0, $0.lowercased() == word.lowercased() ? 0 : distance(word, $0)) }
    guard let best = scored.min(by: { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }), best.1 <= 2 else { return nil }
    return best.0
}

/// ` (did you mean 'x'?)` or nothing.
func didYouMean(_ word: String, _ candidates: some Sequence<String>) -> String {
    suggestion(for: word, among: candidates).map { " (did you mean '\($0)'?)" } ?? ""
}
