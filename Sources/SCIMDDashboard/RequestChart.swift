import SCIMDService

/// The connections page's small chart: requests and errors per hour over 7 days, as inline SVG.
///
/// Server-rendered so it needs no script; built only from integers (counts and coordinates),
/// which is why the template may insert it unescaped — nothing an IdP sent reaches it.
enum RequestChart {
    /// An SVG of one bar per hour (oldest left): the bar's height is the hour's requests, its red
    /// part the errors, scaled to the busiest hour. Described for screen readers by its label.
    static func svg(_ hours: [RequestsInHour]) -> String {
        let total = hours.reduce(0) { $0 + $1.requests }, errors = hours.reduce(0) { $0 + $1.errors }
        let peak = max(hours.map(\.requests).max() ?? 0, 1)
        let height = 32
        var bars = ""
        for (x, hour) in hours.enumerated() where hour.requests > 0 {
            let h = max(1, hour.requests * height / peak)
            bars += "<rect x=\"\(x)\" y=\"\(height - h)\" width=\"1\" height=\"\(h)\" fill=\"#7c9cc9\"/>"
            if hour.errors > 0 {
                let e = max(1, hour.errors * height / peak)
                bars += "<rect x=\"\(x)\" y=\"\(height - e)\" width=\"1\" height=\"\(e)\" fill=\"#b3261e\"/>"
            }
        }
        let label = "Requests per hour over the last \(hours.count / 24) days: \(total) in all, \(errors) with errors"
        return "<svg class=\"chart\" viewBox=\"0 0 \(hours.count) \(height)\" width=\"\(hours.count)\" height=\"\(height)\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"\(label)\"><title>\(label)</title><rect x=\"0\" y=\"\(height - 1)\" width=\"\(hours.count)\" height=\"1\" fill=\"#d9dee6\"/>\(bars)</svg>"
    }
}
