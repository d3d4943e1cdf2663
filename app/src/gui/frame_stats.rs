//! UI-thread time per frame, recorded while a long job runs, so the app can
//! say (and the tests can check) that the window stayed responsive.

use std::time::Duration;

/// Frames kept (the most recent ones).
const KEEP: usize = 4096;

/// Recorded frame times.
#[derive(Debug, Default, Clone)]
pub struct FrameStats {
    times: Vec<Duration>,
}

impl FrameStats {
    /// Forgets what was recorded.
    pub fn clear(&mut self) {
        self.times.clear();
    }

    /// Records one frame's UI-thread time.
    pub fn record(&mut self, t: Duration) {
        if self.times.len() == KEEP {
            self.times.remove(0);
        }
        self.times.push(t);
    }

    /// Frames recorded.
    pub fn count(&self) -> usize {
        self.times.len()
    }

    /// Median and maximum in milliseconds (`None` when nothing was recorded).
    pub fn summary_ms(&self) -> Option<(f64, f64)> {
        if self.times.is_empty() {
            return None;
        }
        let mut ms: Vec<f64> = self.times.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        Some((ms[ms.len() / 2], ms[ms.len() - 1]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_max() {
        let mut s = FrameStats::default();
        assert_eq!(s.summary_ms(), None);
        for ms in [5, 1, 3, 100, 2] {
            s.record(Duration::from_millis(ms));
        }
        assert_eq!(s.summary_ms(), Some((3.0, 100.0)));
        assert_eq!(s.count(), 5);
    }
}
