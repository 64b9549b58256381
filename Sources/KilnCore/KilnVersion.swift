// Kiln — Apache-2.0. See LICENSE.

/// Kiln's version, written into every manifest and metadata file Kiln produces.
public enum KilnVersion {
    /// Kiln's version, written into every metadata `kiln` block and batch manifest.
    public static let current = "0.1.0"
}
