//! The arithmetic of service reports: duration figures with nearest-rank percentiles, and the
//! met/breached tally, so every backend and every test computes a figure the same way.

/// `{count, mean, p50, p90, p95, max}` of a set of durations in seconds; every figure but
/// `count` is `None` for an empty set.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DurationFigures {
    /// How many durations.
    pub count: u64,
    /// Their arithmetic mean.
    pub mean: Option<f64>,
    /// Median (nearest rank).
    pub p50: Option<i64>,
    /// 90th percentile (nearest rank).
    pub p90: Option<i64>,
    /// 95th percentile (nearest rank).
    pub p95: Option<i64>,
    /// The longest.
    pub max: Option<i64>,
}

impl DurationFigures {
    /// The figures of `durations` (in any order).
    pub fn of(mut durations: Vec<i64>) -> Self {
        durations.sort_unstable();
        let count = durations.len() as u64;
        let sum: i128 = durations.iter().map(|d| i128::from(*d)).sum();
        DurationFigures {
            count,
            mean: (count > 0).then(|| sum as f64 / count as f64),
            p50: nearest_rank(&durations, 50),
            p90: nearest_rank(&durations, 90),
            p95: nearest_rank(&durations, 95),
            max: durations.last().copied(),
        }
    }
}

/// The nearest-rank `percent`-th percentile of `sorted` (ascending): the value at rank
/// `ceil(percent / 100 * n)`, at least the first; `None` when empty.
pub fn nearest_rank(sorted: &[i64], percent: u32) -> Option<i64> {
    let n = sorted.len();
    let rank = (usize::try_from(percent).ok()? * n).div_ceil(100).max(1);
    sorted.get(rank.min(n).checked_sub(1)?).copied()
}

/// How many clocks of a group were met in time and how many breached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlaTally {
    /// Met in time.
    pub met: u64,
    /// Breached.
    pub breached: u64,
}

impl SlaTally {
    /// `met / (met + breached)`; `None` when both are 0.
    pub fn met_rate(&self) -> Option<f64> {
        let settled = self.met + self.breached;
        (settled > 0).then(|| self.met as f64 / settled as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let figures = DurationFigures::of((1..=10).rev().collect());
        assert_eq!(
            figures,
            DurationFigures {
                count: 10,
                mean: Some(5.5),
                p50: Some(5),
                p90: Some(9),
                p95: Some(10),
                max: Some(10),
            }
        );
        // 20 values: the 95th percentile is the 19th, the median the 10th.
        let twenty: Vec<i64> = (1..=20).map(|v| v * 10).collect();
        assert_eq!(nearest_rank(&twenty, 95), Some(190));
        assert_eq!(nearest_rank(&twenty, 50), Some(100));
        assert_eq!(nearest_rank(&[7], 95), Some(7));
        assert_eq!(nearest_rank(&[3, 9], 50), Some(3));
        assert_eq!(nearest_rank(&[3, 9], 0), Some(3));
    }

    #[test]
    fn empty_sets_have_a_count_and_nothing_else() {
        assert_eq!(
            DurationFigures::of(vec![]),
            DurationFigures {
                count: 0,
                ..DurationFigures::default()
            }
        );
        assert_eq!(SlaTally::default().met_rate(), None);
        assert_eq!(
            SlaTally {
                met: 3,
                breached: 1
            }
            .met_rate(),
            Some(0.75)
        );
    }
}
