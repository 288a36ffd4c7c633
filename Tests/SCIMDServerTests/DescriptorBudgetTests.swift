import Testing

@testable import SCIMDServer

/// How ``DescriptorBudget`` fits the connection caps into the descriptor limit.
struct DescriptorBudgetTests {
    @Test func enoughDescriptorsKeepTheCapsAndTheLimit() throws {
        let budget = try DescriptorBudget.plan(soft: 4096, hard: 4096, maxConnections: 512, httpMaxConnections: 1024, httpListeners: 1)
        #expect(budget == DescriptorBudget(limit: 4096, maxConnections: 512, httpMaxConnections: 1024, lowered: false))
    }

    @Test func theSoftLimitIsRaisedTowardsTheHardOneAsFarAsTheCapsNeed() throws {
        // systemd's default: soft 1024, hard 524288. Needed: 64 reserved + 2 × 16 + 512 + 1024.
        let budget = try DescriptorBudget.plan(soft: 1024, hard: 524_288, maxConnections: 512, httpMaxConnections: 1024, httpListeners: 1)
        #expect(budget == DescriptorBudget(limit: 1632, maxConnections: 512, httpMaxConnections: 1024, lowered: false))
    }

    @Test func capsThatDoNotFitAreLoweredInProportion() throws {
        let rpcOnly = try DescriptorBudget.plan(soft: 96, hard: 96, maxConnections: 512, httpMaxConnections: 1024, httpListeners: 0)
        #expect(rpcOnly == DescriptorBudget(limit: 96, maxConnections: 16, httpMaxConnections: 1024, lowered: true))

        // 1024 − 64 − 2 × 16 = 928 available, asked 512 + 1024: a third and two thirds.
        let overhead = DescriptorBudget.perListenerOverhead
        let both = try DescriptorBudget.plan(soft: 1024, hard: 1024, maxConnections: 512, httpMaxConnections: 1024, httpListeners: 1)
        #expect(both.lowered)
        #expect(both.maxConnections == 309)
        #expect(both.httpMaxConnections == 619)
        #expect(both.maxConnections + both.httpMaxConnections + 2 * overhead + DescriptorBudget.reserve <= 1024)

        // Two HTTP listeners share what remains.
        let two = try DescriptorBudget.plan(soft: 1024, hard: 1024, maxConnections: 512, httpMaxConnections: 1024, httpListeners: 2)
        #expect(two.maxConnections + 2 * two.httpMaxConnections + 3 * overhead + DescriptorBudget.reserve <= 1024)
        #expect(two.maxConnections >= 1 && two.httpMaxConnections >= 1)
    }

    @Test func aLimitWithoutRoomForOneClientPerListenerIsRefused() throws {
        #expect(throws: TooFewDescriptors.self) {
            try DescriptorBudget.plan(soft: 80, hard: 80, maxConnections: 512, httpMaxConnections: 1024, httpListeners: 0)
        }
        let error = #expect(throws: TooFewDescriptors.self) {
            try DescriptorBudget.plan(soft: 97, hard: 97, maxConnections: 4, httpMaxConnections: 4, httpListeners: 1)
        }
        #expect(error?.description.contains("LimitNOFILE=") == true)
        // The smallest limit that works serves one client per listener.
        let smallest = try DescriptorBudget.plan(soft: 81, hard: 81, maxConnections: 512, httpMaxConnections: 1024, httpListeners: 0)
        #expect(smallest.maxConnections == 1)
    }

    @Test func applyingRaisesThisProcessesSoftLimitOnlyAsFarAsNeeded() throws {
        let budget = try DescriptorBudget.apply(maxConnections: 4, httpMaxConnections: 4, httpListeners: 1)
        #expect(!budget.lowered)
        #expect(budget.limit >= DescriptorBudget.reserve + 10)
    }
}
