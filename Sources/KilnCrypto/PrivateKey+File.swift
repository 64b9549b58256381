// Kiln — Apache-2.0. See LICENSE.

#if canImport(Glibc)
    import Glibc
    private let systemWrite = Glibc.write
#elseif canImport(Darwin)
    import Darwin
    private let systemWrite = Darwin.write
#endif

extension PrivateKey {
    /// Reads a key file: hex (with or without `0x`), whitespace ignored.
    ///
    /// The file must be a regular file that only its owner can read or write (mode `0600` or `0400`); a
    /// key that others can read is refused, as ssh does.
    /// - Throws: ``CryptoError/Code/keyFile`` naming the path and the reason (never the key).
    public init(contentsOfFile path: String) throws(CryptoError) {
        var buffer = try SecretFile.read(path, what: "key file", maxBytes: 255)
        defer { buffer.withUnsafeMutableBytes { explicitZero($0) } }
        var text = String(decoding: buffer, as: UTF8.self)
        defer { text.removeAll() }
        do {
            try self.init(hex: text)
        } catch {
            throw CryptoError(.keyFile, "Unable to read key file '\(path)': \(error.message)", cause: error)
        }
    }

    /// Writes this key as `0x`-hex to a new file created with mode `0600`; never overwrites.
    /// - Throws: ``CryptoError/Code/keyFile`` when the file exists or can't be written.
    public func write(toFile path: String) throws(CryptoError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            throw CryptoError(.keyFile, "Unable to create key file '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var text = Array(withUnsafeSecretBytes { hexEncodeSecret($0) })
        defer { text.withUnsafeMutableBytes { explicitZero($0) } }
        let written = text.withUnsafeBytes { systemWrite(fd, $0.baseAddress, $0.count) }
        guard written == text.count, fsync(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(path)
            throw CryptoError(.keyFile, "Unable to write key file '\(path)': \(reason)")
        }
    }
}

/// `0x…\n` for a secret, built in a byte array the caller zeroes (no intermediate `String`).
private func hexEncodeSecret(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = [0x30, 0x78]
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0f)])
    }
    out.append(0x0A)
    return out
}

/// Files that hold secrets (keys, bearer tokens): readable only by their owner.
public enum SecretFile {
    /// Reads `path`, which must be a regular file that only its owner can read or write (mode `0600` or `0400`;
    /// a secret others can read is refused, as ssh does) of at most `maxBytes` bytes. The caller zeroes the bytes.
    /// - Throws: ``CryptoError/Code/keyFile`` naming the path and the reason (never the contents).
    public static func read(_ path: String, what: String, maxBytes: Int) throws(CryptoError) -> [UInt8] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw CryptoError(.keyFile, "Unable to read \(what) '\(path)': \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw CryptoError(.keyFile, "Unable to read \(what) '\(path)': not a regular file")
        }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw CryptoError(
                .keyFile,
                "Refusing \(what) '\(path)': mode \(String(mode, radix: 8)) lets others read it; run 'chmod 600 \(path)'"
            )
        }
        guard let handle = fopen(path, "rb") else {
            throw CryptoError(.keyFile, "Unable to read \(what) '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { fclose(handle) }
        var buffer = [UInt8](repeating: 0, count: maxBytes + 1)
        let count = fread(&buffer, 1, buffer.count, handle)
        guard count <= maxBytes else {
            buffer.withUnsafeMutableBytes { explicitZero($0) }
            throw CryptoError(.keyFile, "Unable to read \(what) '\(path)': larger than \(maxBytes) bytes")
        }
        let contents = Array(buffer[..<count])
        buffer.withUnsafeMutableBytes { explicitZero($0) }
        return contents
    }
}
