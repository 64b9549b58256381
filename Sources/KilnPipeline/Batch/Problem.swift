// Kiln — Apache-2.0. See LICENSE.

internal import KilnCore

/// Something wrong that did not stop a run: what kind, what it concerns, what was found, and the error behind it.
/// Any problem makes a batch's exit status 1. Reports print ``description``; code filters on ``kind`` and
/// ``subject``.
public struct Problem: Sendable, CustomStringConvertible {
    /// What a problem is about.
    public enum Kind: String, Hashable, Sendable {
        /// A recorded line or a log that does not decode, or logs of a contract kiln.yml does not watch.
        case input
        /// A contract's template does not load (its jobs wait until it does).
        case template
        /// A reorganisation deeper than the confirmations, or a token no event names after one.
        case reorg
        /// A token's state could not be folded or queued.
        case token
        /// The store failed while jobs were leased or leases renewed.
        case store
        /// Pushing a batch to IPFS providers.
        case ipfs
        /// Making `tokenURI` match on chain (`publish.mode onchain` / `onchain-base`).
        case onchain
    }

    /// What kind of problem it is.
    public var kind: Kind
    /// What it concerns, as people name it: `events.jsonl:12`, a token, a contract, `batch 2 → kubo URL`.
    public var subject: String?
    /// What was found.
    public var message: String
    /// The error behind it, if one.
    public var cause: (any Error)?

    /// A problem.
    public init(_ kind: Kind, _ subject: String?, _ message: String, cause: (any Error)? = nil) {
        self.kind = kind
        self.subject = subject
        self.message = message
        self.cause = cause
    }

    /// A problem whose message is `error`'s text (its causes included, ``ErrorChain``).
    public init(_ kind: Kind, _ subject: String?, error: any Error) {
        self.init(kind, subject, ErrorChain.human(error), cause: error)
    }

    /// `subject: message`, as reports print it.
    public var description: String { subject.map { "\($0): \(message)" } ?? message }
}
