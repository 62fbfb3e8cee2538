//! Backend selection: which engine runs a scene (`--backend`, the app's default). It sits above
//! the engine and the GPU module, which know nothing of each other's choice, and below the CLI and
//! the app, which ask for one. It prints nothing: a note on what `auto` chose is returned for the
//! caller to show.

use crate::engine::{Backend, EngineError, cpu::CpuBackend};
use crate::gpu::{AdapterPolicy, GpuBackend};

/// Which engine runs the cells (`--backend`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum BackendChoice {
    /// A hardware GPU if there is one, else the CPU (a software GPU is slower than the CPU here).
    Auto,
    /// The rayon engine; never touches wgpu.
    Cpu,
    /// Any compute-capable adapter, software ones included; an error rather than a fallback.
    Gpu,
}

/// A backend and, for `auto`, a sentence saying which engine it chose and why.
pub struct Selected {
    /// The engine to run on.
    pub backend: Box<dyn Backend>,
    /// For `auto`: which engine it took and why, for the CLI or the app to show (the library
    /// prints nothing).
    pub note: Option<String>,
}

/// Make the backend for a choice. `gpu` takes any adapter (a hardware GPU first, else a software
/// one such as lavapipe) and fails with a message naming what was tried when there is none; `auto`
/// takes a hardware GPU if one exists (or the adapter `WGPU_ADAPTER_NAME` names), else the CPU
/// engine, and says which in the note. A software GPU is slower than the CPU engine on the machines
/// celltwin targets, so `auto` does not pick one unasked. `WGPU_BACKEND` limits the APIs tried.
pub fn select(choice: BackendChoice, threads: Option<usize>) -> Result<Selected, EngineError> {
    let plain = |backend: Box<dyn Backend>| Selected {
        backend,
        note: None,
    };
    match choice {
        BackendChoice::Cpu => Ok(plain(Box::new(CpuBackend::new(threads)))),
        BackendChoice::Gpu => Ok(plain(Box::new(GpuBackend::new(AdapterPolicy::Any)?))),
        BackendChoice::Auto => match GpuBackend::new(AdapterPolicy::Hardware) {
            Ok(g) => Ok(Selected {
                note: Some(format!(
                    "celltwin: backend auto: using the GPU engine on {}",
                    g.device()
                )),
                backend: Box::new(g),
            }),
            Err(e) => {
                let cpu = CpuBackend::new(threads);
                let why = match e {
                    EngineError::NoGpu(m) | EngineError::Gpu(m) => m,
                    other => other.to_string(),
                };
                Ok(Selected {
                    note: Some(format!(
                        "celltwin: backend auto: {why}; using the CPU engine ({} threads). \
                         --backend gpu runs on a software GPU too",
                        cpu.threads()
                    )),
                    backend: Box::new(cpu),
                })
            }
        },
    }
}
