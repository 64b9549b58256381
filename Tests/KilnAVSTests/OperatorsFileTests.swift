import Foundation
import KilnAVS
import KilnInference
import Testing

struct OperatorsFileTests {
    static func yaml(token: String) -> String {
        """
        chainId: 31337
        verifyingContract: "0x000000000000000000000000000000000000ab1e"
        operators:
          - {address: "0x1000000000000000000000000000000000000001", endpoint: "http://127.0.0.1:8101", stake: "40"}
          - {address: "0x2000000000000000000000000000000000000002", endpoint: "http://127.0.0.1:8102", stake: "60", token: \(token)}
        """
    }

    @Test func aNodesTokenIsReadFromWhereTheFileSays() throws {
        let name = "KILN_TEST_NODE_TOKEN_\(UUID().uuidString.prefix(8))"
        setenv(name, "node-two-token", 1)
        defer { unsetenv(name) }
        let registry = try FileOperatorRegistry(yaml: Self.yaml(token: "env:\(name)"))
        #expect(registry.bearers == [.kiln("http://127.0.0.1:8102"): "node-two-token"])
        #expect(registry.table.operators.count == 2)
    }

    @Test func aTokenWrittenInTheFileIsRefusedWithoutBeingEchoed() {
        do {
            _ = try FileOperatorRegistry(yaml: Self.yaml(token: "plain-node-token"))
            Issue.record("an inline token was accepted")
        } catch {
            #expect(error.message.hasPrefix("operators.yml:5:"), "\(error.message)")
            #expect(error.message.contains("env:NAME or file:PATH") && !error.message.contains("plain-node-token"))
        }
        do {
            _ = try FileOperatorRegistry(yaml: Self.yaml(token: "env:KILN_TEST_UNSET_\(UUID().uuidString.prefix(8))"))
            Issue.record("an unset variable was accepted")
        } catch {
            #expect(error.message.contains("is not set"), "\(error.message)")
        }
    }
}
