// Kiln — Apache-2.0. See LICENSE.

/// What an output file written from the store holds, so the next batch can bring it up to date instead of writing
/// it again from the whole history: every publication up to row `publication` is in it, and `stamp` is the file's
/// identity as written (device, inode, size, modification and change times). A file whose stamp differs — edited,
/// replaced, restored, or written for another store — is written again from the start.
public struct OutputMark: Hashable, Sendable {
    /// The last publication row the file includes.
    public var publication: Int64
    /// The file's identity right after it was written (``OutputMark/stamp(of:)`` in KilnPipeline).
    public var stamp: String

    public init(publication: Int64, stamp: String) {
        self.publication = publication
        self.stamp = stamp
    }
}
