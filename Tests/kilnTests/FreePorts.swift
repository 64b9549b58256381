import Foundation
import Synchronization

/// The ports ``freeLoopbackPort()`` handed out in this test process (never twice).
private let handedOut = Mutex<Set<Int>>([])

/// A free TCP port on 127.0.0.1 for a process the test starts next, which binds it itself.
///
/// Chosen below the kernel's ephemeral range (`/proc/sys/net/ipv4/ip_local_port_range`, 32768–60999 by default)
/// and checked free by binding it: a port there is one no connection takes on its own. A port the kernel picked
/// for a bind to port 0 is in that range, and between its release and the child's bind any outgoing connection of
/// the parallel suite could take it as its local port (seen in CI: a node that could not bind, another test's node
/// answering in its place).
func freeLoopbackPort() throws -> Int {
    let range = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))?
        .split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
    let ephemeralLow = range?.first ?? 32_768
    let low = 10_000
    if ephemeralLow - low >= 1_000 {
        for _ in 0..<200 {
            let port = Int.random(in: low..<ephemeralLow)
            let fresh = handedOut.withLock { $0.insert(port).inserted }
            if fresh, try boundLoopbackPort(port) != nil { return port }
        }
    }
    // Else one the kernel chooses: a machine whose ephemeral range leaves no room below it.
    guard let port = try boundLoopbackPort(0) else { throw CocoaError(.fileWriteUnknown) }
    return port
}

/// Binds a TCP socket to 127.0.0.1:`port` (0: one the kernel chooses) and releases it at once: the port bound, or
/// nil when the bind failed.
private func boundLoopbackPort(_ port: Int) throws -> Int? {
    let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { throw CocoaError(.fileWriteUnknown) }
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0
        }
    }
    return bound ? Int(UInt16(bigEndian: address.sin_port)) : nil
}
