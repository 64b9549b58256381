// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
internal import KilnCore
internal import KilnCrypto
internal import KilnYAML

/// An IPFS provider a batch is pushed to (kiln.yml `publish.ipfs`):
///
/// ```yaml
/// publish:
///   ipfs:
///     - {kubo: http://127.0.0.1:5001}                        # kubo's RPC: POST /api/v0/dag/import
///     - {kubo: https://rpc.filebase.io, bearer: env:FILEBASE_TOKEN}   # or basic: env:NAME (user:password)
///     - {pinning: https://api.pinata.cloud/psa, token: env:PINATA_JWT} # the IPFS Pinning Service API
/// ```
///
/// Secrets are named, never written: `env:NAME` (an environment variable) or `file:PATH` (a file only its owner
/// can read, mode 0600).
public enum IPFSTarget: Sendable, Hashable {
    /// kubo's RPC API (or one that speaks it, as Filebase's does), with optional `Authorization`.
    case kubo(url: String, authorization: Authorization?)
    /// A pinning service (the IPFS Pinning Service API), with its bearer token.
    case pinning(url: String, token: SecretReference)

    /// How a kubo RPC request is authorised.
    public enum Authorization: Sendable, Hashable {
        case bearer(SecretReference)
        /// `user:password`, sent as HTTP basic auth.
        case basic(SecretReference)
    }

    /// The target's name in the store and in reports: `kubo URL` or `pinning URL` (no secret).
    public var name: String {
        switch self {
        case .kubo(let url, _): "kubo \(url)"
        case .pinning(let url, _): "pinning \(url)"
        }
    }

    init(yaml node: YAMLNode, context: String) throws(YAMLError) {
        let fields = try node.fields(context, allowed: ["kubo", "bearer", "basic", "pinning", "token"])
        if let url = fields["kubo"] {
            guard fields["pinning"] == nil, fields["token"] == nil else {
                throw node.error("\(context): a kubo target takes bearer or basic, not pinning or token")
            }
            var authorization: Authorization?
            if let bearer = fields["bearer"] {
                authorization = .bearer(try SecretReference(yaml: bearer, context: "\(context).bearer"))
            }
            if let basic = fields["basic"] {
                guard authorization == nil else { throw basic.error("\(context): give bearer or basic, not both") }
                authorization = .basic(try SecretReference(yaml: basic, context: "\(context).basic"))
            }
            self = .kubo(url: try url.url("\(context).kubo (kubo's RPC URL)"), authorization: authorization)
        } else if let url = fields["pinning"] {
            guard fields["bearer"] == nil, fields["basic"] == nil else {
                throw node.error("\(context): a pinning target takes token, not bearer or basic")
            }
            let token = try fields.required("token", "the pinning service's access token (env:NAME or file:PATH)")
            self = .pinning(
                url: try url.url("\(context).pinning (the Pinning Service API URL)"),
                token: try SecretReference(yaml: token, context: "\(context).token")
            )
        } else {
            throw node.error("\(context) must be {kubo: URL} or {pinning: URL, token: env:NAME}")
        }
    }
}

/// Where a secret is read from when needed: an environment variable or a 0600 file; never from kiln.yml itself.
public enum SecretReference: Sendable, Hashable, CustomStringConvertible {
    case environment(String)
    case file(String)

    init(yaml node: YAMLNode, context: String) throws(YAMLError) {
        let text = try node.text(context)
        if text.hasPrefix("env:"), text.count > 4 {
            self = .environment(String(text.dropFirst(4)))
        } else if text.hasPrefix("file:"), text.count > 5 {
            self = .file(String(text.dropFirst(5)))
        } else {
            throw node.error(
                "\(context) must name where the secret is, env:NAME or file:PATH (0600): a secret is never written in kiln.yml"
            )
        }
    }

    /// `env:NAME` or `file:PATH` (for messages: never the secret).
    public var description: String {
        switch self {
        case .environment(let name): "env:\(name)"
        case .file(let path): "file:\(path)"
        }
    }

    /// The secret, trimmed.
    /// - Throws: ``PipelineError`` when the variable is unset or empty, or the file is missing or readable by others.
    func read(environment: [String: String] = ProcessInfo.processInfo.environment) throws(PipelineError) -> String {
        let value: String
        switch self {
        case .environment(let name):
            guard let text = environment[name] else {
                throw PipelineError(.configuration, "The environment variable \(name) is not set (named by \(self))")
            }
            value = text
        case .file(let path):
            do {
                var bytes = try SecretFile.read(path, what: "secret file", maxBytes: 64 * 1024)
                value = String(decoding: bytes, as: UTF8.self)
                for index in bytes.indices { bytes[index] = 0 }
            } catch {
                throw PipelineError(.configuration, "\(path): \(error)")
            }
        }
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw PipelineError(.configuration, "The secret named by \(self) is empty") }
        return trimmed
    }
}
