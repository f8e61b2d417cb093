//! Latency samples and their summary: percentiles by the nearest-rank method over all samples
//! (a run keeps at most a few million, so sorting them is cheaper than any approximation).

use std::time::Duration;

/// The latencies of one measurement, in microseconds.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    micros: Vec<u64>,
}

impl Samples {
    /// An empty set with room for `n` samples.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            micros: Vec::with_capacity(n),
        }
    }

    /// Adds one latency.
    pub fn push(&mut self, latency: Duration) {
        self.micros
            .push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }

    /// Adds one latency given in microseconds.
    pub fn push_micros(&mut self, micros: u64) {
        self.micros.push(micros);
    }

    /// Takes every sample of `other`.
    pub fn merge(&mut self, other: Samples) {
        self.micros.extend(other.micros);
    }

    /// How many samples there are.
    pub fn len(&self) -> usize {
        self.micros.len()
    }

    /// Sorts the samples and summarises them.
    pub fn summary(mut self) -> Summary {
        self.micros.sort_unstable();
        let total: u128 = self.micros.iter().map(|&m| u128::from(m)).sum();
        let count = self.micros.len();
        Summary {
            count,
            mean_us: if count == 0 {
                0
            } else {
                u64::try_from(total / count as u128).unwrap_or(u64::MAX)
            },
            p50_us: percentile(&self.micros, 50.0),
            p95_us: percentile(&self.micros, 95.0),
            p99_us: percentile(&self.micros, 99.0),
            p999_us: percentile(&self.micros, 99.9),
            max_us: self.micros.last().copied().unwrap_or(0),
        }
    }
}

/// The nearest-rank percentile `p` (0-100, to a tenth) of sorted samples; 0 for none.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    // In thousandths, in integers: 99.9% of 1000 must be rank 999, not 1000.
    let permille = (p * 10.0).round().max(0.0) as u128;
    let rank =
        usize::try_from((permille * sorted.len() as u128).div_ceil(1000)).unwrap_or(usize::MAX);
    let index = rank.clamp(1, sorted.len()) - 1;
    sorted.get(index).copied().unwrap_or(0)
}

/// Percentiles of one measurement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Samples.
    pub count: usize,
    /// Mean, microseconds.
    pub mean_us: u64,
    /// Median, microseconds.
    pub p50_us: u64,
    /// 95th percentile, microseconds.
    pub p95_us: u64,
    /// 99th percentile, microseconds.
    pub p99_us: u64,
    /// 99.9th percentile, microseconds.
    pub p999_us: u64,
    /// Largest, microseconds.
    pub max_us: u64,
}

/// `1234` µs as `1.23 ms`; under a millisecond as `0.456 ms`; over ten seconds in seconds.
pub fn ms(micros: u64) -> String {
    let ms = micros as f64 / 1000.0;
    if ms < 1.0 {
        format!("{ms:.3} ms")
    } else if ms < 100.0 {
        format!("{ms:.2} ms")
    } else if ms < 10_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

/// A rate: whole numbers, one decimal under 100.
pub fn rate(per_sec: f64) -> String {
    if per_sec < 100.0 {
        format!("{per_sec:.1}")
    } else {
        format!("{per_sec:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let sorted: Vec<u64> = (1..=1000).collect();
        assert_eq!(percentile(&sorted, 50.0), 500);
        assert_eq!(percentile(&sorted, 99.0), 990);
        assert_eq!(percentile(&sorted, 99.9), 999);
        assert_eq!(percentile(&sorted, 100.0), 1000);
        assert_eq!(percentile(&[7], 99.9), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn summary_sorts_and_averages() {
        let mut s = Samples::default();
        for m in [30, 10, 20] {
            s.push_micros(m);
        }
        s.push(Duration::from_micros(40));
        let sum = s.summary();
        assert_eq!(sum.count, 4);
        assert_eq!(sum.mean_us, 25);
        assert_eq!(sum.p50_us, 20);
        assert_eq!(sum.max_us, 40);
        assert_eq!(sum.p99_us, 40);
    }

    #[test]
    fn formats_milliseconds() {
        assert_eq!(ms(456), "0.456 ms");
        assert_eq!(ms(1234), "1.23 ms");
        assert_eq!(ms(250_000), "250 ms");
        assert_eq!(ms(12_500_000), "12.5 s");
    }
}
