// Kiln — Apache-2.0. See LICENSE.

public import Foundation

/// A new empty folder under the system's temporary directory, named `kiln-<label>-<UUID>`; the caller removes it.
public func temporaryFolder(_ label: String = "test") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
