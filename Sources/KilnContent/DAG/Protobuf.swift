// Kiln — Apache-2.0. See LICENSE.

/// The bits of the protobuf wire format that dag-pb and UnixFS need: varint and length-delimited fields.
enum Protobuf {
    static func varintField(_ field: UInt64, _ value: UInt64, into out: inout [UInt8]) {
        Varint.encode(field << 3 | 0, into: &out)
        Varint.encode(value, into: &out)
    }

    static func bytesField(_ field: UInt64, _ value: some Collection<UInt8>, into out: inout [UInt8]) {
        Varint.encode(field << 3 | 2, into: &out)
        Varint.encode(UInt64(value.count), into: &out)
        out.append(contentsOf: value)
    }

    /// One decoded field: its number and either a varint or a byte range of `bytes`.
    enum Value {
        case varint(UInt64)
        case bytes(Range<Int>)
    }

    /// Decodes the fields of a message in `bytes[range]`, in order. Only wire types 0 and 2 are accepted.
    static func fields(_ bytes: [UInt8], _ range: Range<Int>, message: String) throws(ContentError) -> [(UInt64, Value)]
    {
        var out: [(UInt64, Value)] = []
        var offset = range.lowerBound
        func fail(_ detail: String) -> ContentError {
            ContentError(.invalidBlock, "Unable to decode \(message): \(detail) at byte \(offset)")
        }
        while offset < range.upperBound {
            let key: (value: UInt64, length: Int)
            do { key = try Varint.decode(bytes[..<range.upperBound], at: offset) } catch { throw fail("bad field key") }
            offset += key.length
            let field = key.value >> 3
            switch key.value & 7 {
            case 0:
                let value: (value: UInt64, length: Int)
                do { value = try Varint.decode(bytes[..<range.upperBound], at: offset) } catch {
                    throw fail("bad varint")
                }
                offset += value.length
                out.append((field, .varint(value.value)))
            case 2:
                let length: (value: UInt64, length: Int)
                do { length = try Varint.decode(bytes[..<range.upperBound], at: offset) } catch {
                    throw fail("bad length")
                }
                offset += length.length
                guard length.value <= UInt64(range.upperBound - offset) else {
                    throw fail("field \(field) runs past the end")
                }
                out.append((field, .bytes(offset..<offset + Int(length.value))))
                offset += Int(length.value)
            default:
                throw fail("unsupported wire type \(key.value & 7) for field \(field)")
            }
        }
        return out
    }
}
