// Kiln — Apache-2.0. See LICENSE.

public import KilnContent
public import KilnCore
public import KilnTemplates

/// One contract kiln.yml watches, with the template that draws its tokens, loaded for this run.
public struct WatchedContract: Sendable {
    /// The contract's address.
    public var contract: Address
    /// The loaded, checked template.
    public var template: Template
    /// The template's content hash (a job is for one template version).
    public var templateHash: Bytes32
    /// The template folder, imported into the blockstore (published with every batch).
    public var templateEntry: FileDAGBuilder.Entry
}
