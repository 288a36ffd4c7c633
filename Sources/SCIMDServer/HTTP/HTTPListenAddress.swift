/// Where the SCIM HTTP listener listens.
public enum HTTPListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// A TCP address: `host` is an IPv4 or IPv6 literal or a name; port 0 picks a free port.
    case tcp(host: String, port: Int)
    /// A Unix stream socket at this path (mode 0660), for a reverse proxy on the same machine.
    case unix(path: String)
    /// A descriptor systemd passed (already bound and listening), named `http`.
    case inherited(descriptor: Int32)

    /// Parses the value of `--http`: `HOST:PORT` (`127.0.0.1:8080`, `[::1]:8080`, `localhost:8080`)
    /// or `unix:/path/to/socket`. Throws a message fit for the command line.
    public init(parsing text: String) throws(HTTPListenAddressError) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst("unix:".count))
            guard path.hasPrefix("/") || path.hasPrefix(".") else {
                throw HTTPListenAddressError(message: "unix: needs a socket path, e.g. unix:/run/scimd/http.sock")
            }
            // sockaddr_un holds 108 bytes including the terminating NUL.
            guard path.utf8.count < 108 else { throw HTTPListenAddressError(message: "unix socket path is longer than 107 bytes") }
            self = .unix(path: path)
            return
        }
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            // [IPv6]:port
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw HTTPListenAddressError(message: "expected [IPv6]:PORT, got '\(text)'")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else {
                throw HTTPListenAddressError(
                    message: "expected HOST:PORT (e.g. 127.0.0.1:8080, [::1]:8080) or unix:/path, got '\(text)'")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty else {
            throw HTTPListenAddressError(message: "'\(text)' names no host: give one, e.g. 127.0.0.1:8080 (0.0.0.0 for every interface)")
        }
        guard let port = Int(portText), (0...65_535).contains(port) else {
            throw HTTPListenAddressError(message: "'\(portText)' is not a port (0…65535)")
        }
        self = .tcp(host: String(host), port: port)
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): "unix:\(path)"
        case .inherited(let descriptor): "fd:\(descriptor)"
        }
    }
}

/// An unusable `--http` value.
public struct HTTPListenAddressError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
