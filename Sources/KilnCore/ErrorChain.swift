// Kiln — Apache-2.0. See LICENSE.

/// An error that keeps the error that caused it. Kiln's error structs conform: a wrapping site passes the
/// error it caught as `cause:` (a value a caller can match on and a JSON log can show), and its message says
/// what the outer operation was.
public protocol CausedError: Error, CustomStringConvertible {
    /// The error this one wraps, if any.
    var cause: (any Error)? { get }
}

/// The one rendering of an error and its causes: for people (``human(_:)``) and for JSON logs (``json(_:)``).
public enum ErrorChain {
    /// `error`, its cause, the cause's cause, … (at most 16: a chain is never that deep, a cycle cannot loop).
    public static func errors(_ error: any Error) -> [any Error] {
        var chain: [any Error] = [error]
        while chain.count < 16, let caused = chain.last as? any CausedError, let cause = caused.cause {
            chain.append(cause)
        }
        return chain
    }

    /// For people: the error's description, followed by each cause whose text the line does not hold yet
    /// (most wrapping messages already quote their cause, and then nothing is repeated).
    public static func human(_ error: any Error) -> String {
        var text = String(describing: error)
        for cause in errors(error).dropFirst() {
            let described = String(describing: cause)
            if !described.isEmpty && !text.contains(described) { text += " (cause: \(described))" }
        }
        return text
    }

    /// For JSON logs: `{"error": <human text>, "chain": [{"type", "code"?, "message"}, …]}`, outermost first.
    public static func json(_ error: any Error) -> JSONValue {
        let chain = errors(error).map { item -> JSONValue in
            var entry: [String: JSONValue] = [
                "type": .string(String(describing: type(of: item))),
                "message": .string(String(describing: item)),
            ]
            if let coded = item as? any CodedError { entry["code"] = .string(coded.codeName) }
            return .object(entry)
        }
        return .object(["error": .string(human(error)), "chain": .array(chain)])
    }
}

/// An error with a code to match on; ``ErrorChain/json(_:)`` writes its name.
public protocol CodedError: Error {
    /// The code's name (`io`, `invalidCID`, …).
    var codeName: String { get }
}
