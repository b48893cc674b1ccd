import BlksnapObjectStore
import Dispatch
import Foundation
import NIOConcurrencyHelpers

/// A seeded generator (SplitMix64): the same random content and offsets on every run of a seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` random bytes.
    mutating func bytes(_ count: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        var index = 0
        while index < count {
            var word = next()
            for _ in 0..<min(8, count - index) {
                result[index] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                index += 1
            }
        }
        return result
    }
}

/// Holds the tasks that arrive until `parties` of them are inside at once, then lets them all
/// go; after `timeout` it lets them go anyway and says they did not meet. Its timer is a
/// Dispatch timer, so it fires even when every thread of the cooperative pool is blocked.
final class Rendezvous: Sendable {
    let parties: Int
    private let state = NIOLockedValueBox((arrived: 0, met: false, waiting: [CheckedContinuation<Bool, Never>]()))

    init(parties: Int, timeout: Duration) {
        self.parties = parties
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        DispatchQueue(label: "rendezvous-timeout").asyncAfter(deadline: .now() + seconds) { [state] in
            let late = state.withLockedValue { state in
                defer { state.waiting = [] }
                return state.waiting
            }
            for continuation in late { continuation.resume(returning: false) }
        }
    }

    /// Whether all parties met.
    var met: Bool { state.withLockedValue { $0.met } }

    /// Waits for the other parties; true when they all arrived before the timeout.
    func arrive() async -> Bool {
        await withCheckedContinuation { continuation in
            let release: [CheckedContinuation<Bool, Never>]? = state.withLockedValue { state in
                state.arrived += 1
                if state.arrived == parties {
                    state.met = true
                    defer { state.waiting = [] }
                    return state.waiting + [continuation]
                }
                if state.met {
                    return [continuation]
                }
                state.waiting.append(continuation)
                return nil
            }
            for waiting in release ?? [] { waiting.resume(returning: true) }
        }
    }
}

/// Ends the test process with `message` unless disarmed within `timeout`: a deadlock of the
/// cooperative pool fails the run with its reason instead of hanging it. Its timer is a
/// Dispatch timer, which fires even when every pool thread is blocked. The timeouts are
/// generous (20 minutes): under ThreadSanitizer on 2 cores the gateway suite's tests, which
/// block pool threads by design, wait minutes for one another.
final class DeadlockWatchdog: Sendable {
    private let armed = NIOLockedValueBox(true)

    init(timeout: Duration, _ message: String) {
        let seconds = Double(timeout.components.seconds)
        DispatchQueue(label: "deadlock-watchdog").asyncAfter(deadline: .now() + seconds) { [armed] in
            if armed.withLockedValue({ $0 }) { fatalError("deadlock: \(message) (no progress in \(timeout))") }
        }
    }

    /// Stops the watchdog.
    func disarm() { armed.withLockedValue { $0 = false } }
}
