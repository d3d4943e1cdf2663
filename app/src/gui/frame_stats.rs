//! UI-thread time per frame, and the gaps between frames, recorded while a
//! long job runs, so the app can say (and the tests can check) that the
//! window stayed responsive.

use std::time::{Duration, Instant};

/// Frames kept (the most recent ones).
const KEEP: usize = 4096;

/// Recorded frame times.
#[derive(Debug, Default, Clone)]
pub struct FrameStats {
    times: Vec<Duration>,
    gaps: Vec<Duration>,
    last_start: Option<Instant>,
}

/// What [`FrameStats::summary`] reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameSummary {
    /// Frames recorded.
    pub frames: usize,
    /// Median UI-thread work per frame (ms).
    pub median_ms: f64,
    /// Longest UI-thread work in one frame (ms).
    pub max_ms: f64,
    /// Longest time between the starts of two frames (ms): how long the
    /// window went without drawing.
    pub max_gap_ms: f64,
}

impl FrameStats {
    /// Forgets what was recorded.
    pub fn clear(&mut self) {
        *self = FrameStats::default();
    }

    /// Records one frame that started at `start` and took `work` on the UI thread.
    pub fn record(&mut self, work: Duration, start: Instant) {
        if self.times.len() == KEEP {
            self.times.remove(0);
        }
        self.times.push(work);
        if let Some(last) = self.last_start.replace(start) {
            if self.gaps.len() == KEEP {
                self.gaps.remove(0);
            }
            self.gaps.push(start.saturating_duration_since(last));
        }
    }

    /// Frames recorded.
    pub fn count(&self) -> usize {
        self.times.len()
    }

    /// Median and maximum work and the longest gap (`None` when nothing was recorded).
    pub fn summary(&self) -> Option<FrameSummary> {
        if self.times.is_empty() {
            return None;
        }
        let mut ms: Vec<f64> = self.times.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        let max_gap_ms = self.gaps.iter().max().map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        Some(FrameSummary { frames: ms.len(), median_ms: ms[ms.len() / 2], max_ms: ms[ms.len() - 1], max_gap_ms })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_max_and_longest_gap() {
        let mut s = FrameStats::default();
        assert_eq!(s.summary(), None);
        let t0 = Instant::now();
        for (i, ms) in [5u64, 1, 3, 100, 2].into_iter().enumerate() {
            let gap = if i == 3 { 400 } else { 20 };
            s.record(Duration::from_millis(ms), t0 + Duration::from_millis(gap * i as u64));
        }
        let f = s.summary().unwrap();
        assert_eq!((f.frames, f.median_ms, f.max_ms), (5, 3.0, 100.0));
        assert!((f.max_gap_ms - (1200.0 - 40.0)).abs() < 1e-6, "{}", f.max_gap_ms);
        assert_eq!(s.count(), 5);
    }
}
