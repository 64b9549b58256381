import Foundation
import KilnCore
import KilnCrypto
import Testing

struct KeyFileTests {
    private func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("kiln-key-\(UUID().uuidString)").path
    }

    @Test func writesWithMode0600AndReadsBack() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let key = PrivateKey.random()
        try key.write(toFile: path)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as! Int
        #expect(mode == 0o600)
        #expect(try PrivateKey(contentsOfFile: path).address == key.address)
        // Never overwrites.
        #expect { try PrivateKey.random().write(toFile: path) } throws: { ($0 as! CryptoError).code == .keyFile }
        #expect(try PrivateKey(contentsOfFile: path).address == key.address)
    }

    @Test func refusesKeysOthersCanRead() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try PrivateKey.random().write(toFile: path)
        chmod(path, 0o644)
        #expect(
            throws: CryptoError(
                .keyFile,
                "Refusing key file '\(path)': mode 644 lets others read it; run 'chmod 600 \(path)'"
            )
        ) {
            try PrivateKey(contentsOfFile: path)
        }
    }

    @Test func explainsMissingAndMalformedFiles() throws {
        let path = temporaryPath()
        #expect(throws: CryptoError(.keyFile, "Unable to read key file '\(path)': No such file or directory")) {
            try PrivateKey(contentsOfFile: path)
        }
        _ = FileManager.default.createFile(
            atPath: path,
            contents: Data("not-a-key!\n".utf8),
            attributes: [.posixPermissions: 0o600]
        )
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(
            throws: CryptoError(
                .keyFile,
                "Unable to read key file '\(path)': Unable to parse private key: not hex (invalidDigit)"
            )
        ) {
            try PrivateKey(contentsOfFile: path)
        }
    }

    @Test func acceptsBareHexWithWhitespace() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = FileManager.default.createFile(
            atPath: path,
            contents: Data("  \(String(repeating: "0", count: 63))1\n\n".utf8),
            attributes: [.posixPermissions: 0o400]
        )
        #expect(
            try PrivateKey(contentsOfFile: path).address.checksummed == "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"
        )
    }
}
