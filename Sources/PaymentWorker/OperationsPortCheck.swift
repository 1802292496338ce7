#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Start-up checks the operations port before the worker joins its group (docs/contract.md §5): a
/// port in use found only after joining cost the group a rebalance for nothing.
enum OperationsPortCheck {
    struct PortInUse: Error, CustomStringConvertible {
        let host: String
        let port: Int
        let reason: String

        var description: String {
            "the operations endpoint cannot listen on \(host):\(port) (\(reason)); choose another port with --http-port (PAYMENT_WORKER_HTTP_PORT), or 0 for any free one"
        }
    }

    /// Binds `host:port` for a moment, as the endpoint will. A host that is not a numeric
    /// address is left to the endpoint itself; port 0 always binds.
    static func ensureAvailable(host: String, port: Int) throws {
        guard port != 0 else { return }
        var address = sockaddr_storage()
        let length: socklen_t
        let family: Int32
        if host.contains(":") {
            var ipv6 = sockaddr_in6()
            guard inet_pton(AF_INET6, host, &ipv6.sin6_addr) == 1 else { return }
            ipv6.sin6_family = sa_family_t(AF_INET6)
            ipv6.sin6_port = in_port_t(UInt16(port).bigEndian)
            withUnsafeBytes(of: ipv6) { bytes in withUnsafeMutableBytes(of: &address) { $0.copyMemory(from: bytes) } }
            (length, family) = (socklen_t(MemoryLayout<sockaddr_in6>.size), AF_INET6)
        } else {
            var ipv4 = sockaddr_in()
            guard inet_pton(AF_INET, host, &ipv4.sin_addr) == 1 else { return }
            ipv4.sin_family = sa_family_t(AF_INET)
            ipv4.sin_port = in_port_t(UInt16(port).bigEndian)
            withUnsafeBytes(of: ipv4) { bytes in withUnsafeMutableBytes(of: &address) { $0.copyMemory(from: bytes) } }
            (length, family) = (socklen_t(MemoryLayout<sockaddr_in>.size), AF_INET)
        }
        #if canImport(Glibc)
        let descriptor = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(family, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        // As the endpoint binds: a port left in TIME_WAIT is free to it.
        var on: Int32 = 1
        _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else {
            throw PortInUse(host: host, port: port, reason: String(cString: strerror(errno)))
        }
    }
}
