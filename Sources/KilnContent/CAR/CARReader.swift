// Kiln — Apache-2.0. See LICENSE.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads CAR v1 files section by section, verifying every block against its CID.
///
/// ```swift
/// let reader = try CARReader(path: "batch-7.car")
/// while let section = try reader.next() { print(section.cid, section.block.count) }
/// ```
public final class CARReader {
    /// One block and where its section starts in the file.
    public struct Section: Sendable {
        /// The block's CID as the section states it.
        public var cid: CID
        /// The block's bytes.
        public var block: [UInt8]
        /// The section's byte offset in the file.
        public var offset: Int
    }

    /// The largest section accepted (a CID plus a block); kubo's blocks are at most 2 MiB.
    public static let maxSectionLength = 8 << 20

    /// The CAR file.
    public let path: String
    /// Its header.
    public let header: CARHeader
    private let file: UnsafeMutablePointer<FILE>
    private var offset = 0

    /// Opens `path` and reads its header.
    /// - Throws: ``ContentError/Code/io`` or ``ContentError/Code/invalidCAR`` (offset 0).
    public init(path: String) throws(ContentError) {
        guard let file = fopen(path, "rb") else { throw ioError("Unable to read '\(path)'") }
        self.path = path
        self.file = file
        // Until `header` is set, a failure must close the file here (deinit runs only for a whole object).
        let length: UInt64
        do throws(ContentError) {
            guard let value = try Self.readVarint(file, offset: 0) else {
                throw ContentError(.invalidCAR, "Unable to read CAR '\(path)': the file is empty", offset: 0)
            }
            length = value.value
            offset = value.length
        } catch {
            fclose(file)
            if error.code == .invalidCAR { throw error }
            throw ContentError(
                .invalidCAR,
                "Unable to read CAR '\(path)': header length: \(error.message)",
                offset: 0,
                cause: error
            )
        }
        guard length > 0, length <= 1 << 20, let bytes = Self.read(file, Int(length)) else {
            fclose(file)
            throw ContentError(
                .invalidCAR,
                "Unable to read CAR '\(path)': header length \(length) is invalid or runs past the end",
                offset: 0
            )
        }
        offset += Int(length)
        do {
            header = try CARHeader(decoding: bytes)
        } catch {
            fclose(file)
            throw ContentError(.invalidCAR, "Unable to read CAR '\(path)': \(error.message)", offset: 0, cause: error)
        }
    }

    deinit { fclose(file) }

    /// The next section, or `nil` at the end of the file.
    /// - Throws: ``ContentError/Code/invalidCAR`` with the section's offset: truncated, an oversized length, a
    ///   bad CID, or a block that does not match its CID.
    public func next() throws(ContentError) -> Section? {
        let start = offset
        func fail(_ message: String) -> ContentError {
            ContentError(.invalidCAR, "Unable to read CAR '\(path)' at byte \(start): \(message)", offset: start)
        }
        let prefix: (value: UInt64, length: Int)
        do {
            guard let value = try Self.readVarint(file, offset: start) else { return nil }
            prefix = value
        } catch {
            throw fail(error.message)
        }
        guard prefix.value <= UInt64(Self.maxSectionLength) else {
            throw fail("section length \(prefix.value) exceeds the limit of \(Self.maxSectionLength) bytes")
        }
        guard let section = Self.read(file, Int(prefix.value)) else {
            throw fail("truncated section (\(prefix.value) bytes announced)")
        }
        offset += prefix.length + Int(prefix.value)
        let cid: CID
        let cidLength: Int
        do {
            (cid, cidLength) = try CID.decode(section, at: 0)
        } catch {
            throw fail(error.message)
        }
        let block = Array(section[cidLength...])
        let matches: Bool
        do { matches = try cid.multihash.matches(block) } catch { throw fail(error.message) }
        guard matches else { throw fail("block does not match its CID \(cid)") }
        return Section(cid: cid, block: block, offset: start)
    }

    private static func read(_ file: UnsafeMutablePointer<FILE>, _ count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        let read = bytes.withUnsafeMutableBytes { fread($0.baseAddress, 1, count, file) }
        return read == count ? bytes : nil
    }

    /// A varint from the file, or `nil` at a clean end of file.
    private static func readVarint(_ file: UnsafeMutablePointer<FILE>, offset: Int) throws(ContentError) -> (
        value: UInt64, length: Int
    )? {
        var bytes: [UInt8] = []
        while true {
            let byte = fgetc(file)
            if byte == EOF {
                if bytes.isEmpty { return nil }
                throw ContentError(.invalidVarint, "truncated varint")
            }
            bytes.append(UInt8(byte))
            if byte & 0x80 == 0 || bytes.count > 9 { break }
        }
        return try Varint.decode(bytes)
    }
}
