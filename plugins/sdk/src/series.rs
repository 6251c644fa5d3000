//! The usual series maths, on a [`Series`](crate::Series) as of a moment.

use crate::{DAY, Point, Series, Snapshot, Timestamp};

/// The series with this key in the snapshot, if the host loaded it.
pub fn find<'a>(snapshot: &'a Snapshot, key: &str) -> Option<&'a Series> {
    snapshot.metrics.iter().find(|s| s.key == key)
}

/// Points with `from < at <= to`.
pub fn window(series: &Series, from: Timestamp, to: Timestamp) -> impl Iterator<Item = &Point> {
    series.points.iter().filter(move |p| p.at > from && p.at <= to)
}

/// Mean of the values in the `days` before `as_of`; `None` without points.
pub fn mean_over(series: &Series, as_of: Timestamp, days: i64) -> Option<f64> {
    mean(window(series, as_of - days * DAY, as_of).map(|p| p.value))
}

/// The latest value at or before `as_of`.
pub fn latest(series: &Series, as_of: Timestamp) -> Option<f64> {
    series.points.iter().filter(|p| p.at <= as_of).max_by_key(|p| p.at).map(|p| p.value)
}

/// Relative change of the mean over the last `window_days` against the mean over the
/// `baseline_days` before that window: -0.2 is a 20% drop. `None` without data on either side
/// or with a zero baseline.
pub fn change(series: &Series, as_of: Timestamp, window_days: i64, baseline_days: i64) -> Option<f64> {
    let split = as_of - window_days * DAY;
    let current = mean(window(series, split, as_of).map(|p| p.value))?;
    let baseline = mean(window(series, split - baseline_days * DAY, split).map(|p| p.value))?;
    (baseline != 0.0).then(|| (current - baseline) / baseline.abs())
}

/// Mean of values; `None` if empty.
pub fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (n, sum) = values.fold((0usize, 0.0), |(n, s), v| (n + 1, s + v));
    (n > 0).then(|| sum / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(points: &[(i64, f64)]) -> Series {
        Series { key: "m".into(), points: points.iter().map(|&(d, value)| Point { at: d * DAY, value }).collect() }
    }

    #[test]
    fn change_compares_the_window_with_the_baseline_before_it() {
        let s = series(&[(1, 10.0), (2, 10.0), (9, 5.0), (10, 7.0)]);
        assert_eq!(change(&s, 10 * DAY, 5, 5), Some(-0.4));
        assert_eq!(change(&s, 10 * DAY, 5, 1), None, "no baseline points");
        assert_eq!(latest(&s, 9 * DAY), Some(5.0));
        assert_eq!(mean_over(&s, 10 * DAY, 2), Some(6.0));
    }
}
