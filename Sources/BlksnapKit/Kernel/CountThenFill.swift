import SystemPackage

/// The modules' two-call listing (v5 and VAL-7.0 SNAPSHOT_COLLECT, VAL-6.x
/// SNAPSHOT_COLLECT and TRACKER_COLLECT): ask with no array for the count, then with an
/// array of that many elements. None of them reports the needed size when the list grew
/// between the two calls; they fail with one errno instead (`ENODATA` or `ENOBUFS`), and
/// the protocol restarts.
package enum CountThenFill {
    /// Runs the protocol, up to `attempts` times (at least once).
    ///
    /// - Parameters:
    ///   - restartOn: the errno that means "the array was too small".
    ///   - blank: the value the array is filled with before the second call.
    ///   - call: sends the request with `buffer` (nil: the count query, count 0 and no
    ///     array) and returns the count the module wrote back.
    /// - Returns: the elements written (the smaller of the two counts), or the errno of the
    ///   call that failed (`restartOn` once the attempts are used up).
    package static func collect<Element>(attempts: Int, restartOn: Errno, blank: Element,
                                         _ call: (UnsafeMutableBufferPointer<Element>?) -> Result<UInt32, Errno>)
        -> Result<[Element], Errno> {
        for _ in 0..<max(1, attempts) {
            let expected: Int
            switch call(nil) {
            case .success(let count): expected = Int(count)
            case .failure(let error): return .failure(error)
            }
            if expected == 0 { return .success([]) }
            var elements = [Element](repeating: blank, count: expected)
            switch elements.withUnsafeMutableBufferPointer({ call($0) }) {
            case .success(let written): return .success(Array(elements.prefix(min(Int(written), expected))))
            case .failure(let error) where error == restartOn: continue
            case .failure(let error): return .failure(error)
            }
        }
        return .failure(restartOn)
    }
}
