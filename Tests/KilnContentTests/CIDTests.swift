import KilnContent
import Testing

struct CIDTests {
    @Test(arguments: [
        "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o",
        "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4",
        "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354",
    ])
    func roundTrips(_ text: String) throws {
        let cid = try CID(text)
        #expect(cid.description == text)
        #expect(try CID(bytes: cid.bytes) == cid)
    }

    @Test func knownValuesOfTheBuildingBlocks() throws {
        let v0 = try CID("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o")
        #expect(v0.version == 0 && v0.codec == CID.dagPB)
        #expect(
            v0.v1.description == "bafybeicg2rebjoofv4kbyovkw7af3rpiitvnl6i7ckcywaq6xjcxnc2mby",
            "ipfs_cid's CIDv1 of the same DAG"
        )
        let raw = try CID("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku")
        #expect(raw.codec == CID.raw && raw == CID.of([], codec: CID.raw))
        // The same CID in base58btc multibase.
        #expect(try CID("z" + Multibase.base58(raw.bytes)) == raw)
        #expect(try CID(raw.description.uppercased()) == raw, "base32 is case-insensitive (B prefix)")
        #expect(Multibase.base32(Array("foobar".utf8)) == "mzxw6ytboi")  // RFC 4648 test vector, lower case
        #expect(try Multibase.decodeBase32("MZXW6YTBOI") == Array("foobar".utf8))
        #expect(Multibase.base58(Array("hello world".utf8)) == "StV1DL6CwTryKyV")
        #expect(try Multibase.decodeBase58("1112") == [0, 0, 0, 1])
    }

    @Test func varints() throws {
        for value: UInt64 in [0, 1, 127, 128, 300, 16_383, 16_384, 1 << 40, (1 << 63) - 1] {
            let encoded = Varint.encode(value)
            #expect(try Varint.decode(encoded) == (value, encoded.count))
        }
        #expect(Varint.encode(300) == [0xAC, 0x02])
        #expect(throws: ContentError.self) { try Varint.decode([0x80]) }
        #expect { try Varint.decode([0x80]) } throws: {
            ($0 as! ContentError).message == "Unable to read varint at byte 0: truncated"
        }
        #expect { try Varint.decode([0x81, 0x00]) } throws: {
            ($0 as! ContentError).message == "Unable to read varint at byte 0: not minimally encoded"
        }
        #expect { try Varint.decode([UInt8](repeating: 0xFF, count: 10)) } throws: {
            ($0 as! ContentError).message == "Unable to read varint at byte 0: longer than 9 bytes"
        }
    }

    @Test(
        arguments: [
            ("", ContentError.Code.invalidCID, "Unable to parse CID '': empty"),
            (
                "xyz", .invalidMultibase,
                "Unable to parse CID 'xyz': unknown multibase prefix 'x' (Kiln reads 'b' base32 and 'z' base58btc)"
            ),
            (
                "bafkrei!", .invalidMultibase,
                "Unable to parse CID 'bafkrei!': Unable to decode base32: character 7 is not in the alphabet"
            ),
            (
                "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff50", .invalidMultibase,
                "Unable to parse CID 'QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff50': Unable to decode base58btc: character 46 is not in the alphabet"
            ),
            (
                "bajkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", .invalidCID,
                "Unable to parse CID 'bajkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa': version 2 (only 0 and 1 exist)"
            ),
            (
                "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2deve", .invalidCID,
                "Unable to parse CID 'bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2deve': Unable to read multihash: digest of 32 bytes runs past the end"
            ),
            (
                "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4aa", .invalidCID,
                "Unable to parse CID 'bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4aa': 1 bytes after the multihash"
            ),
        ] as [(String, ContentError.Code, String)]
    )
    func malformedCIDs(_ text: String, _ code: ContentError.Code, _ message: String) {
        #expect { try CID(text) } throws: { error in
            let error = error as! ContentError
            return error.code == code && error.message == message
        }
    }
}
