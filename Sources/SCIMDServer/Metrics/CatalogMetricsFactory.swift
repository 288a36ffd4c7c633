import CoreMetrics
import Prometheus

/// A swift-metrics `MetricsFactory` that creates swift-prometheus collectors in one
/// `PrometheusCollectorRegistry`, with the `# HELP` text and histogram buckets of
/// ``MetricsCatalog``.
///
/// swift-prometheus' own `PrometheusMetricsFactory` registers every metric without help text and
/// with one set of buckets per label; a metric created once with help and once without is a
/// fatal error in the registry, so all of scimd's metrics go through this one factory. A name
/// the catalog does not know is created as `PrometheusMetricsFactory` would (no help, default
/// buckets): nothing is refused, and the tests check that every name a scrape shows is in the catalog.
public struct CatalogMetricsFactory: MetricsFactory, Sendable {
    /// Where the collectors live; `emitToBuffer()` renders them.
    public let registry: PrometheusCollectorRegistry

    /// A factory over `registry`.
    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    private func help(_ label: String) -> String {
        MetricsCatalog.metric(named: label)?.help ?? ""
    }

    private func buckets(_ label: String) -> [Double] {
        let buckets = MetricsCatalog.metric(named: label)?.buckets ?? []
        return buckets.isEmpty ? MetricsCatalog.latencyBuckets : buckets
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(name: label, labels: dimensions, help: help(label))
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(name: label, labels: dimensions, help: help(label))
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(name: label, labels: dimensions, help: help(label))
    }

    /// A gauge when `aggregate` is false, else a histogram of values with the catalog's buckets.
    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(name: label, labels: dimensions, help: help(label)) }
        return registry.makeValueHistogram(name: label, labels: dimensions, buckets: buckets(label), help: help(label))
    }

    /// A histogram of durations, emitted in seconds, with the catalog's buckets.
    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let buckets = buckets(label).map { Duration.nanoseconds(Int64(($0 * 1e9).rounded())) }
        return registry.makeDurationHistogram(name: label, labels: dimensions, buckets: buckets, help: help(label))
    }

    public func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    public func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    public func destroyRecorder(_ handler: any RecorderHandler) {
        if let gauge = handler as? Prometheus.Gauge {
            registry.unregisterGauge(gauge)
        } else if let histogram = handler as? ValueHistogram {
            registry.unregisterValueHistogram(histogram)
        }
    }

    public func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? DurationHistogram { registry.unregisterDurationHistogram(histogram) }
    }
}
