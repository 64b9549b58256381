// Kiln — Apache-2.0. See LICENSE.

internal import Foundation

/// A PostgreSQL connection URL read the way libpq reads it (`postgres[ql]://user[:password]@host[:port]/db?…`),
/// with the query parameters a managed service hands out. A parameter libpq knows but Kiln's driver (postgres-nio)
/// cannot honour, and any parameter libpq does not know, is an error that names it: a URL is never half-used.
///
/// Values, not a connection: ``PostgresStore`` turns one into postgres-nio's configuration, and `kiln config show`
/// prints it (the password redacted).
public struct PostgresURL: Sendable, Equatable {
    /// libpq's `sslmode` (its default, `prefer`, is Kiln's too).
    public enum SSLMode: String, Sendable, CaseIterable {
        /// Plain TCP only.
        case disable
        /// TLS when the server offers it, no certificate checks (libpq's default).
        case prefer
        /// TLS or no connection; the certificate is checked against `sslrootcert` only when one is given (as libpq
        /// does when a root certificate file exists).
        case require
        /// TLS with a certificate chain that leads to a trusted root (`sslrootcert`, else the system's roots).
        case verifyCA = "verify-ca"
        /// As `verify-ca`, and the certificate names the host the URL names (DNS name or IP address).
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode
    /// `sslrootcert`: a PEM file of the certificate authorities to trust; `system` (or none) for the system's roots.
    public var rootCertificate: String?
    /// `sslcert` and `sslkey`: the client certificate (PEM) and its key (PEM, a file only its owner can read).
    public var clientCertificate: String?
    public var clientKey: String?
    /// `connect_timeout`, in seconds (libpq: 0 or absent waits indefinitely; Kiln then uses 10 s).
    public var connectTimeout: Int?
    /// `application_name`, shown in `pg_stat_activity`.
    public var applicationName: String?
    /// Server settings from `options=-c name=value …` (libpq's way to set `statement_timeout` and the like).
    public var settings: [String: String]

    /// Whether `text` is a PostgreSQL URL (`postgres://` or `postgresql://`).
    public static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// The parameters Kiln reads, and those libpq knows that Kiln refuses with a reason.
    public static let parameters = [
        "sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "application_name", "options",
        "channel_binding", "target_session_attrs", "user", "password", "dbname", "port",
    ]
    static let unsupported: [String: String] = [
        "host": "give the host in the URL's authority (postgres://USER@HOST:PORT/DB); several hosts are not supported",
        "hostaddr": "give the address as the URL's host",
        "sslpassword": "encrypted client keys are not supported: decrypt the key into a 0600 file",
        "sslcrl": "certificate revocation lists are not supported",
        "sslcrldir":
            "certificate revocation lists are not supported",
        "sslcertmode": "give sslcert and sslkey to send a client certificate",
        "passfile": "give the password in the URL or PGPASSWORD", "service": "service files are not read",
        "gssencmode": "GSSAPI is not supported", "krbsrvname": "GSSAPI is not supported",
        "requirepeer": "Unix-domain sockets are not supported", "load_balance_hosts": "several hosts are not supported",
    ]

    /// Reads `url`.
    /// - Parameter password: the password when the URL has none (`PGPASSWORD`).
    /// - Throws: ``StoreError`` (`open`) naming the part of the URL that is wrong.
    public init(parsing url: String, password fallback: String? = nil) throws(StoreError) {
        guard Self.isURL(url), let parts = URLComponents(string: url), let host = parts.host, !host.isEmpty,
            let user = parts.user, !user.isEmpty
        else {
            throw StoreError(
                .open,
                "'\(Self.redacted(url))' is not a PostgreSQL URL: expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=…]"
            )
        }
        let shown = Self.redacted(url)
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.user = parts.user.flatMap { $0.removingPercentEncoding } ?? user
        password = parts.password.map { $0.removingPercentEncoding ?? $0 } ?? fallback
        port = parts.port ?? 5432
        database = String(parts.path.drop { $0 == "/" }).removingPercentEncoding ?? ""
        sslMode = .prefer
        settings = [:]
        var seen: Set<String> = []
        for item in parts.queryItems ?? [] {
            let value = item.value ?? ""
            func refuse(_ why: String) -> StoreError {
                StoreError(.open, "'\(shown)': \(item.name)=\(value): \(why)")
            }
            guard seen.insert(item.name).inserted else { throw refuse("the parameter is given twice") }
            switch item.name {
            case "sslmode":
                if value == "allow" {
                    throw refuse("'allow' (plain first, TLS if refused) is not supported: use prefer or disable")
                }
                guard let mode = SSLMode(rawValue: value) else {
                    throw refuse(
                        "expected one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                sslMode = mode
            case "sslrootcert": rootCertificate = value == "system" ? nil : value
            case "sslcert": clientCertificate = value
            case "sslkey": clientKey = value
            case "connect_timeout":
                guard let seconds = Int(value), seconds >= 0 else { throw refuse("expected whole seconds") }
                connectTimeout = seconds == 0 ? nil : max(seconds, 2)  // libpq: below 2 s counts as 2 s
            case "application_name": applicationName = value
            case "options": settings.merge(try Self.options(value, refuse: refuse), uniquingKeysWith: { $1 })
            case "channel_binding":
                // postgres-nio speaks SCRAM-SHA-256 without channel binding (no SCRAM-SHA-256-PLUS).
                guard value == "prefer" || value == "disable" else {
                    throw refuse(
                        value == "require"
                            ? "channel binding is not supported by Kiln's driver (postgres-nio): use channel_binding=prefer"
                            : "expected require, prefer or disable"
                    )
                }
            case "target_session_attrs":
                // One host, so any server is the one: libpq's 'any' (its default) is the only meaningful value.
                guard value == "any" else {
                    throw refuse("only 'any' is supported (one host per URL)")
                }
            case "user":
                guard !value.isEmpty else { throw refuse("expected a user name") }
                self.user = value
            case "password": password = value
            case "dbname": database = value
            case "port":
                guard let number = Int(value), (1...65535).contains(number) else { throw refuse("expected a port") }
                port = number
            default:
                if let why = Self.unsupported[item.name] { throw refuse(why) }
                throw StoreError(
                    .open,
                    "'\(shown)': unknown parameter '\(item.name)' (Kiln reads "
                        + Self.parameters.joined(separator: ", ") + ")"
                )
            }
        }
        guard !database.isEmpty else { throw StoreError(.open, "'\(shown)': the URL names no database (…/DATABASE)") }
        if (clientCertificate == nil) != (clientKey == nil) {
            throw StoreError(.open, "'\(shown)': give both sslcert and sslkey, or neither")
        }
        if sslMode == .disable, rootCertificate != nil || clientCertificate != nil {
            throw StoreError(.open, "'\(shown)': sslmode=disable with certificates: remove them or choose a TLS mode")
        }
    }

    /// libpq's `options`: `-c name=value` (or `--name=value`) separated by spaces.
    private static func options(_ text: String, refuse: (String) -> StoreError) throws(StoreError) -> [String: String] {
        var settings: [String: String] = [:]
        var words = text.split(separator: " ").map(String.init)[...]
        while let word = words.popFirst() {
            let pair: String
            if word == "-c", let next = words.popFirst() {
                pair = next
            } else if word.hasPrefix("-c") {
                pair = String(word.dropFirst(2))
            } else if word.hasPrefix("--") {
                pair = String(word.dropFirst(2))
            } else {
                throw refuse("expected -c name=value pairs, found '\(word)'")
            }
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else { throw refuse("expected -c name=value, found '\(pair)'") }
            settings[parts[0].replacingOccurrences(of: "-", with: "_")] = parts[1]
        }
        return settings
    }

    /// `url` with its password (in the authority or a `password` parameter) replaced by `***`.
    public static func redacted(_ url: String) -> String {
        guard var parts = URLComponents(string: url) else { return "postgres://…" }
        if parts.password != nil { parts.password = "***" }
        if let items = parts.queryItems, items.contains(where: { $0.name == "password" }) {
            parts.queryItems = items.map { $0.name == "password" ? URLQueryItem(name: "password", value: "***") : $0 }
        }
        return parts.string ?? "postgres://…"
    }
}
