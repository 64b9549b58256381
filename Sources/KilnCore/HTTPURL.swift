// Kiln — Apache-2.0. See LICENSE.

/// The one check for the HTTP URLs Kiln is given (JSON-RPC nodes, inference nodes, model servers).
public enum HTTPURL {
    /// `text` without a trailing `/` when it is an `http://` or `https://` URL with a host; nil otherwise.
    public static func normalized(_ text: String) -> String? {
        let trimmed = text.trimmingPrefix(while: { $0 == " " })
        for scheme in ["http://", "https://"] where trimmed.hasPrefix(scheme) && trimmed.count > scheme.count {
            let url = String(trimmed)
            return url.hasSuffix("/") ? String(url.dropLast()) : url
        }
        return nil
    }
}

extension Duration {
    /// The duration in seconds, as a `Double` (for reports and timeouts read from files).
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
