//! What comes back from the worker: results, progress and failures taken in, each only while it
//! is still the newest of its kind, and the waits of blocking mode (tests). Apart from the app's
//! state and requests because it is the one way the worker's messages reach the app.

use super::worker::Msg;
use super::{CellTwinApp, Pin};
use crate::summary::Summary;
use std::sync::Arc;
use std::time::{Duration, Instant};

impl CellTwinApp {
    fn apply(&mut self, m: Msg) {
        match m {
            Msg::Progress { id, preview, p } => {
                if id == self.id {
                    self.progress = Some((preview, p));
                }
            }
            Msg::Run {
                id,
                preview,
                summary,
            } => self.take_run(id, preview, summary),
            Msg::SweepProgress { id, done, total } => {
                if id == self.sweep.id {
                    self.sweep.progress = (done, total);
                }
            }
            Msg::Sweep { id, key, points } => {
                if id == self.sweep.id {
                    self.sweep.points = points;
                    self.sweep.points_key = key;
                    self.sweep.running = false;
                    self.sweep.error = None;
                    self.result_gen += 1;
                    if self
                        .note
                        .as_ref()
                        .is_some_and(|n| n.text.starts_with("sweep failed"))
                    {
                        self.note = None;
                    }
                }
            }
            Msg::AttributionProgress { id, done, total } => {
                if id == self.attribution.id {
                    self.attribution.progress = (done, total);
                }
            }
            Msg::Attribution { id, result } => {
                if id == self.attribution.id {
                    self.attribution.result = Some(result);
                    self.attribution.running = false;
                    self.attribution.error = None;
                }
            }
            Msg::Pinned {
                slot,
                label,
                scene,
                summary,
            } => {
                self.pins_pending[slot] = None;
                self.pins[slot] = Some(Pin {
                    label,
                    scene: *scene,
                    summary,
                });
            }
            Msg::Failed { id, what, err } => self.take_failure(id, &what, err),
        }
    }

    /// A run's result: the newest run's only (an older one was superseded). After a full run,
    /// a stale sweep or waterfall is asked for again.
    fn take_run(&mut self, id: u64, preview: bool, summary: Arc<Summary>) {
        if id != self.id {
            return;
        }
        self.current = Some(summary);
        self.current_preview = preview;
        self.answered_s[usize::from(!preview)] = Some(self.run_elapsed());
        self.result_gen += 1;
        if preview {
            return;
        }
        self.running = false;
        self.progress = None;
        let stale = self.sweep.basis.as_ref() != Some(&self.scene)
            || self.sweep.points_key != self.sweepable[self.sweep.knob].key;
        if self.sweep.auto && stale {
            self.request_sweep();
        }
        if self.attribution.basis.as_ref() != Some(&self.scene) {
            self.request_attribution();
        }
    }

    /// A failure of the run, the sweep, the waterfall or a pin (`id` None): stop what failed,
    /// keep its message where its view shows it, and say it in the status bar.
    fn take_failure(&mut self, id: Option<u64>, what: &str, err: String) {
        let ours = [self.id, self.sweep.id, self.attribution.id];
        if id.is_some_and(|i| !ours.contains(&i)) {
            return;
        }
        if id == Some(self.id) {
            self.running = false;
        }
        if id == Some(self.sweep.id) {
            self.sweep.running = false;
            self.sweep.error = Some(err.clone());
        }
        if id == Some(self.attribution.id) {
            self.attribution.running = false;
            self.attribution.error = Some(err.clone());
        }
        if id.is_none() {
            self.pins_pending = [None, None];
        }
        self.note(format!("{what} failed: {err}"), true);
    }

    /// Take in what the worker sent; in blocking mode wait until it is idle.
    pub(super) fn pump(&mut self) {
        for m in self.worker.poll() {
            self.apply(m);
        }
        if self.blocking {
            self.wait_idle(Duration::from_secs(120));
        }
    }

    /// Block until no run, sweep or pin is in flight (tests), or `timeout` passes.
    pub fn wait_idle(&mut self, timeout: Duration) -> bool {
        let t0 = Instant::now();
        while self.busy() {
            let left = timeout.saturating_sub(t0.elapsed());
            if left.is_zero() {
                return false;
            }
            if let Some(m) = self.worker.wait(left) {
                self.apply(m);
            }
        }
        true
    }
}
