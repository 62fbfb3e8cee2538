//! Background simulation for the app: two worker threads fed through channels, results sent back
//! with a wake-up for the UI (`ctx.request_repaint()`), after rerun's background jobs.
//!
//! - The *line* thread runs the scene the engineer is looking at: a quick preview
//!   ([`PREVIEW_CELLS`] cells) first, then the full count. The newest request wins: the UI sets the
//!   previous run's cancel flag ([`RunOptions::cancel`]) and the thread skips every queued request
//!   but the last.
//! - The *background* thread computes the headline sweep (pack life against one parameter, at a
//!   reduced cell count), the attribution waterfall and pinned runs, so none ever holds up the
//!   live picture.
//!
//! No simulation and no readback happen on the UI thread: it only polls [`Worker::poll`].

use crate::attribution::{Attribution, AttributionError, Method, attribute};
use crate::backend::{BackendChoice, select};
use crate::engine::{self, Backend, EngineError, Progress, RunOptions};
use crate::scene::{PREVIEW_CELLS, Scene};
use crate::summary::Summary;
use crate::sweep::SweepRow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Cells per chunk in the app on the CPU engine. A cancel is read between chunks and between
/// batches of pack life, so it waits for at most a chunk's line or a batch's packs: measured
/// ≤ 8.2 ms over 20 cancels of a 10⁶-cell run on two cores (median 3.8). A slider's new preview
/// waits for that cancel, so the chunk stays small: at 2¹⁸ the full run's path was 4 % faster
/// (criterion `app_path`, 348 → 334 ms) but a cancel took up to 22 ms.
pub const APP_CHUNK: u64 = 1 << 16;
/// On a GPU a chunk is a dispatch and a read-back: larger chunks keep it busy, and at ≥ 10⁸
/// cells/s a 2²² chunk still cancels within tens of milliseconds.
pub const APP_CHUNK_GPU: u64 = 1 << 22;

/// Makes a backend on a worker thread.
pub type BackendFactory = Arc<dyn Fn() -> Result<Box<dyn Backend>, EngineError> + Send + Sync>;
/// Wakes the UI (`ctx.request_repaint()`), set once the UI has a context.
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// The CPU/auto backend. The GPU hook is in [`super::launch`]: a factory built from eframe's device.
pub fn default_factory() -> BackendFactory {
    // The app's status bar names the backend and device, so `auto`'s note is not repeated.
    Arc::new(|| select(BackendChoice::Auto, None).map(|s| s.backend))
}

/// The scene field the sweep varies (a knob's accessor).
pub type Setter = fn(&mut Scene) -> &mut f64;

/// What the UI asks for.
pub enum Job {
    /// Run a scene: a quick preview, then the full size.
    Run {
        /// Request id (newest wins).
        id: u64,
        /// The scene to run.
        scene: Scene,
        /// Set to stop the run between chunks.
        cancel: Arc<AtomicBool>,
    },
    /// The headline sweep: the scene at each value of one knob.
    Sweep {
        /// Request id (newest wins).
        id: u64,
        /// The scene at reduced size.
        scene: Scene,
        /// The swept scene key.
        key: String,
        /// Where the value goes in the scene.
        set: Setter,
        /// The values to run.
        values: Vec<f64>,
        /// Set to stop the sweep between points.
        cancel: Arc<AtomicBool>,
    },
    /// Run a story scene into a pin slot.
    Pin {
        /// Pin slot, 0 or 1.
        slot: usize,
        /// The pin's label.
        label: String,
        /// The story scene.
        scene: Scene,
    },
    /// Share the scene's lost pack life out to its sources (the waterfall).
    Attribute {
        /// Request id (newest wins).
        id: u64,
        /// The scene at reduced size.
        scene: Scene,
        /// Set to stop between runs.
        cancel: Arc<AtomicBool>,
    },
}

/// One point of the headline chart.
#[derive(Clone, Debug)]
pub struct SweepPoint {
    /// The swept knob's value.
    pub value: f64,
    /// The run's headline figures at that value.
    pub row: SweepRow,
}

/// What comes back.
pub enum Msg {
    /// A run's progress.
    Progress {
        /// Request id.
        id: u64,
        /// The preview (not the full run) is running.
        preview: bool,
        /// Cells and packs done.
        p: Progress,
    },
    /// A run's result (the preview, then the full run).
    Run {
        /// Request id.
        id: u64,
        /// This is the preview.
        preview: bool,
        /// The run's summary.
        summary: Arc<Summary>,
    },
    /// A sweep's progress.
    SweepProgress {
        /// Request id.
        id: u64,
        /// Points done.
        done: usize,
        /// Points asked for.
        total: usize,
    },
    /// A finished sweep.
    Sweep {
        /// Request id.
        id: u64,
        /// The swept key.
        key: String,
        /// One point per value, in order.
        points: Vec<SweepPoint>,
    },
    /// A story pin's result.
    Pinned {
        /// Pin slot.
        slot: usize,
        /// The pin's label.
        label: String,
        /// The scene it ran.
        scene: Box<Scene>,
        /// Its summary.
        summary: Arc<Summary>,
    },
    /// An attribution's progress.
    AttributionProgress {
        /// Request id.
        id: u64,
        /// Runs done.
        done: usize,
        /// Runs asked for.
        total: usize,
    },
    /// A finished attribution.
    Attribution {
        /// Request id.
        id: u64,
        /// The shares of lost life.
        result: Arc<Attribution>,
    },
    /// A job failed.
    Failed {
        /// Its request id (None for a pin).
        id: Option<u64>,
        /// What failed (run, sweep, attribution, pin).
        what: String,
        /// The error's message.
        err: String,
    },
}

/// The handle the UI holds.
pub struct Worker {
    line_tx: Sender<Job>,
    bg_tx: Sender<Job>,
    rx: Receiver<Msg>,
    run_cancel: Option<Arc<AtomicBool>>,
    sweep_cancel: Option<Arc<AtomicBool>>,
    attribution_cancel: Option<Arc<AtomicBool>>,
    wake: Arc<Mutex<Option<Wake>>>,
}

struct Ctx {
    tx: Sender<Msg>,
    wake: Arc<Mutex<Option<Wake>>>,
    factory: BackendFactory,
    backend: Option<Box<dyn Backend>>,
}

impl Ctx {
    fn send(&self, m: Msg) {
        // The UI may be gone (window closed): then nobody listens and that is fine.
        let _ = self.tx.send(m);
        if let Some(w) = self.wake.lock().ok().and_then(|w| w.clone()) {
            w();
        }
    }
    fn backend(&mut self) -> Result<&mut dyn Backend, EngineError> {
        if self.backend.is_none() {
            self.backend = Some((self.factory)()?);
        }
        Ok(self.backend.as_deref_mut().expect("just made"))
    }
    /// Lend this thread's backend (made on first use) to `f` with the app's run options: the
    /// chunk size for its kind, so a cancel lands within tens of milliseconds, and `cancel`.
    /// `f` may still send messages through the `Ctx` it gets.
    fn with_backend<T>(
        &mut self,
        cancel: &Arc<AtomicBool>,
        f: impl FnOnce(&Ctx, &mut dyn Backend, &RunOptions) -> T,
    ) -> Result<T, EngineError> {
        let chunk = if self.backend()?.kind() == "gpu" {
            APP_CHUNK_GPU
        } else {
            APP_CHUNK
        };
        let opts = RunOptions {
            chunk,
            cancel: Some(cancel.clone()),
        };
        let mut backend = self.backend.take().expect("made above");
        let out = f(self, backend.as_mut(), &opts);
        self.backend = Some(backend);
        Ok(out)
    }
    fn run(
        &mut self,
        scene: &Scene,
        cancel: &Arc<AtomicBool>,
        report: &mut dyn FnMut(&Ctx, Progress),
    ) -> Result<Summary, EngineError> {
        self.with_backend(cancel, |cx, backend, opts| {
            let mut last = std::time::Instant::now();
            engine::run(scene, backend, opts, &mut |p| {
                if last.elapsed() > Duration::from_millis(100) {
                    last = std::time::Instant::now();
                    report(cx, p);
                }
            })
        })?
    }
}

/// The scene of the quick first picture, or None when the run is small enough to show at once.
pub fn preview_of(scene: &Scene) -> Option<Scene> {
    if scene.cells <= 2 * PREVIEW_CELLS || scene.cells_per_pack() > PREVIEW_CELLS {
        return None;
    }
    Some(scene.preview())
}

fn line_thread(rx: Receiver<Job>, mut cx: Ctx) {
    while let Ok(mut job) = rx.recv() {
        // Newest request wins: skip everything queued but the last.
        while let Ok(j) = rx.try_recv() {
            job = j;
        }
        let Job::Run { id, scene, cancel } = job else {
            continue;
        };
        let mut stages = Vec::new();
        if let Some(p) = preview_of(&scene) {
            stages.push((true, p));
        }
        stages.push((false, scene));
        for (preview, s) in stages {
            if cancel.load(Ordering::Relaxed) {
                break;
            }
            let res = cx.run(&s, &cancel, &mut |cx, p| {
                cx.send(Msg::Progress { id, preview, p })
            });
            match res {
                Ok(summary) => cx.send(Msg::Run {
                    id,
                    preview,
                    summary: Arc::new(summary),
                }),
                Err(EngineError::Cancelled) => break,
                Err(e) => {
                    cx.send(Msg::Failed {
                        id: Some(id),
                        what: "run".into(),
                        err: e.to_string(),
                    });
                    break;
                }
            }
        }
    }
}

fn bg_thread(rx: Receiver<Job>, mut cx: Ctx) {
    let mut queue: Vec<Job> = Vec::new();
    loop {
        if queue.is_empty() {
            match rx.recv() {
                Ok(j) => queue.push(j),
                Err(_) => return,
            }
        }
        queue.extend(rx.try_iter());
        // Only the newest sweep and the newest attribution matter; pins all run, in order.
        newest_only(&mut queue, |j| matches!(j, Job::Sweep { .. }));
        newest_only(&mut queue, |j| matches!(j, Job::Attribute { .. }));
        let job = queue.remove(0);
        match job {
            Job::Sweep {
                id,
                scene,
                key,
                set,
                values,
                cancel,
            } => sweep_job(&mut cx, id, &scene, key, set, &values, &cancel),
            Job::Pin { slot, label, scene } => {
                let never = Arc::new(AtomicBool::new(false));
                match cx.run(&scene, &never, &mut |_, _| {}) {
                    Ok(sum) => cx.send(Msg::Pinned {
                        slot,
                        label,
                        scene: Box::new(scene),
                        summary: Arc::new(sum),
                    }),
                    Err(e) => cx.send(Msg::Failed {
                        id: None,
                        what: format!("pin {label}"),
                        err: e.to_string(),
                    }),
                }
            }
            Job::Attribute { id, scene, cancel } => attribute_job(&mut cx, id, &scene, &cancel),
            Job::Run { .. } => {}
        }
    }
}

/// The headline sweep through [`crate::sweep::run`], on the background thread's backend; a bad
/// value fails with its message, a cancel stops quietly.
fn sweep_job(
    cx: &mut Ctx,
    id: u64,
    scene: &Scene,
    key: String,
    set: Setter,
    values: &[f64],
    cancel: &Arc<AtomicBool>,
) {
    let points: Vec<(String, Scene)> = values
        .iter()
        .map(|&v| {
            let mut s = scene.clone();
            *set(&mut s) = v;
            (format!("{v}"), s)
        })
        .collect();
    let res = cx
        .with_backend(cancel, |cx, backend, opts| {
            crate::sweep::run(&points, backend, opts, &mut |done, total| {
                cx.send(Msg::SweepProgress { id, done, total })
            })
        })
        .map_err(crate::sweep::SweepError::from)
        .and_then(|r| r);
    match res {
        Ok(rows) => {
            let points = values
                .iter()
                .zip(rows)
                .map(|(&value, row)| SweepPoint { value, row })
                .collect();
            cx.send(Msg::Sweep { id, key, points });
        }
        Err(crate::sweep::SweepError::Engine(EngineError::Cancelled)) => {}
        Err(e) => cx.send(Msg::Failed {
            id: Some(id),
            what: "sweep".into(),
            err: e.to_string(),
        }),
    }
}

/// Drop every job `is` matches but the last.
fn newest_only(queue: &mut Vec<Job>, is: impl Fn(&Job) -> bool) {
    if let Some(last) = queue.iter().rposition(&is) {
        let mut i = 0;
        queue.retain(|j| {
            let keep = !is(j) || i == last;
            i += 1;
            keep
        });
    }
}

/// The waterfall's runs, on the background thread's backend; quiet when cancelled.
fn attribute_job(cx: &mut Ctx, id: u64, scene: &Scene, cancel: &Arc<AtomicBool>) {
    let res = cx
        .with_backend(cancel, |cx, backend, opts| {
            attribute(
                scene,
                backend,
                Method::Orders(2),
                opts,
                &mut |done, total| cx.send(Msg::AttributionProgress { id, done, total }),
            )
        })
        .map_err(AttributionError::from)
        .and_then(|r| r);
    match res {
        Ok(a) => cx.send(Msg::Attribution {
            id,
            result: Arc::new(a),
        }),
        Err(AttributionError::Engine(EngineError::Cancelled)) => {}
        Err(e) => cx.send(Msg::Failed {
            id: Some(id),
            what: "attribution".into(),
            err: e.to_string(),
        }),
    }
}

impl Worker {
    /// Start both threads. Backends are made on the threads, on first use.
    pub fn spawn(factory: BackendFactory) -> Worker {
        let (tx, rx) = mpsc::channel();
        let wake: Arc<Mutex<Option<Wake>>> = Arc::new(Mutex::new(None));
        let (line_tx, line_rx) = mpsc::channel();
        let (bg_tx, bg_rx) = mpsc::channel();
        let cx = |tx: &Sender<Msg>| Ctx {
            tx: tx.clone(),
            wake: wake.clone(),
            factory: factory.clone(),
            backend: None,
        };
        let lc = cx(&tx);
        std::thread::Builder::new()
            .name("celltwin-line".into())
            .spawn(move || line_thread(line_rx, lc))
            .expect("spawn the line worker");
        let bc = cx(&tx);
        std::thread::Builder::new()
            .name("celltwin-sweep".into())
            .spawn(move || bg_thread(bg_rx, bc))
            .expect("spawn the sweep worker");
        Worker {
            line_tx,
            bg_tx,
            rx,
            run_cancel: None,
            sweep_cancel: None,
            attribution_cancel: None,
            wake,
        }
    }

    /// Set how the workers wake the UI.
    pub fn set_wake(&self, w: Wake) {
        if let Ok(mut slot) = self.wake.lock() {
            *slot = Some(w);
        }
    }

    /// Start a run; cancels the one before.
    pub fn run(&mut self, id: u64, scene: Scene) {
        if let Some(c) = self.run_cancel.take() {
            c.store(true, Ordering::Relaxed);
        }
        let cancel = Arc::new(AtomicBool::new(false));
        self.run_cancel = Some(cancel.clone());
        let _ = self.line_tx.send(Job::Run { id, scene, cancel });
    }

    /// Start a sweep; cancels the one before.
    pub fn sweep(&mut self, id: u64, scene: Scene, key: String, set: Setter, values: Vec<f64>) {
        self.cancel_sweep();
        let cancel = Arc::new(AtomicBool::new(false));
        self.sweep_cancel = Some(cancel.clone());
        let _ = self.bg_tx.send(Job::Sweep {
            id,
            scene,
            key,
            set,
            values,
            cancel,
        });
    }

    /// Start an attribution; cancels the one before.
    pub fn attribute(&mut self, id: u64, scene: Scene) {
        self.cancel_attribution();
        let cancel = Arc::new(AtomicBool::new(false));
        self.attribution_cancel = Some(cancel.clone());
        let _ = self.bg_tx.send(Job::Attribute { id, scene, cancel });
    }

    /// Stop the attribution in flight, if any (a newer scene asks again).
    pub fn cancel_attribution(&mut self) {
        if let Some(c) = self.attribution_cancel.take() {
            c.store(true, Ordering::Relaxed);
        }
    }

    /// Stop the sweep in flight, if any.
    pub fn cancel_sweep(&mut self) {
        if let Some(c) = self.sweep_cancel.take() {
            c.store(true, Ordering::Relaxed);
        }
    }

    /// Run a scene in the background and pin it into `slot`.
    pub fn pin(&self, slot: usize, label: String, scene: Scene) {
        let _ = self.bg_tx.send(Job::Pin { slot, label, scene });
    }

    /// Every message waiting, without blocking.
    pub fn poll(&self) -> Vec<Msg> {
        self.rx.try_iter().collect()
    }

    /// Wait up to `timeout` for one message (tests and the blocking mode only).
    pub fn wait(&self, timeout: Duration) -> Option<Msg> {
        self.rx.recv_timeout(timeout).ok()
    }
}
