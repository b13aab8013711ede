//! Median and range of repeated measurements.

/// Summary of one subject's rates over the rounds.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Summary {
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
    pub(crate) n: usize,
}

/// The median (mean of the middle two for an even count), min and max; `None` when empty.
pub(crate) fn summarize(values: &[f64]) -> Option<Summary> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some(Summary {
        median,
        min: v[0],
        max: v[n - 1],
        n,
    })
}

/// Latencies of one kind of operation in one measurement, in microseconds.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Latency {
    /// What was timed ("fast point selects", "transactions").
    pub(crate) what: String,
    pub(crate) n: usize,
    pub(crate) p50_us: f64,
    pub(crate) p99_us: f64,
    pub(crate) max_us: f64,
}

impl Latency {
    /// The percentiles of `micros` (nearest rank); `None` when empty.
    pub(crate) fn of(what: &str, mut micros: Vec<u32>) -> Option<Latency> {
        if micros.is_empty() {
            return None;
        }
        micros.sort_unstable();
        let n = micros.len();
        let rank = |p: f64| -> f64 {
            // Nearest rank: the smallest value with at least p of them at or below it.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let k = ((p * n as f64).ceil() as usize).clamp(1, n);
            f64::from(micros[k - 1])
        };
        Some(Latency {
            what: what.to_owned(),
            n,
            p50_us: rank(0.50),
            p99_us: rank(0.99),
            max_us: f64::from(micros[n - 1]),
        })
    }
}

/// Microseconds of `d`, saturating.
pub(crate) fn micros(d: std::time::Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_even_and_empty() {
        let s = summarize(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.n), (2.0, 1.0, 3.0, 3));
        let s = summarize(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!(s.median, 2.5);
        assert!(summarize(&[]).is_none());
        assert!(summarize(&[f64::NAN]).is_none());
    }

    #[test]
    fn latency_percentiles_by_nearest_rank() {
        let l = Latency::of("x", (1..=100).rev().collect()).unwrap();
        assert_eq!(
            (l.n, l.p50_us, l.p99_us, l.max_us),
            (100, 50.0, 99.0, 100.0)
        );
        let l = Latency::of("x", vec![7]).unwrap();
        assert_eq!((l.p50_us, l.p99_us, l.max_us), (7.0, 7.0, 7.0));
        assert!(Latency::of("x", Vec::new()).is_none());
    }
}
