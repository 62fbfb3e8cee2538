//! The native window: the app as eframe's `App`, the engine on eframe's own GPU device, and
//! [`launch`]. Apart from the app itself because the tests make it headless and never open one.

use super::{CellTwinApp, files, worker};

impl eframe::App for CellTwinApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.ui_contents(ui);
    }

    /// The session (scene, paths, view choices) for the next launch; eframe keeps the window's
    /// size and place and egui's memory (open groups, theme) itself.
    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, files::SESSION_KEY, &self.session());
    }
}

/// On a hardware GPU the engine computes on eframe's own device, so the plots and the simulation
/// share one GPU and no second device is opened. A software adapter (llvmpipe) is slower than the
/// CPU engine, so there the CPU engine runs (the default factory picks it).
fn gpu_factory(cc: &eframe::CreationContext<'_>) -> Option<worker::BackendFactory> {
    let rs = cc.wgpu_render_state.as_ref()?;
    if rs.adapter.get_info().device_type == eframe::wgpu::DeviceType::Cpu {
        return None;
    }
    let (adapter, device, queue) = (rs.adapter.clone(), rs.device.clone(), rs.queue.clone());
    Some(std::sync::Arc::new(
        move || match crate::gpu::GpuBackend::from_device(&adapter, &device, &queue) {
            Ok(g) => Ok(Box::new(g) as Box<dyn crate::engine::Backend>),
            Err(e) => {
                eprintln!(
                    "celltwin: the GPU engine cannot use eframe's device ({e}); using the CPU engine"
                );
                Ok(Box::new(crate::engine::cpu::CpuBackend::new(None))
                    as Box<dyn crate::engine::Backend>)
            }
        },
    ))
}

/// Open the app on a scene (a file or built-in name; None: the embedded default).
///
/// On a machine with no display this returns an error pointing to `celltwin run` instead of
/// starting eframe; an error from eframe itself is returned too, never a panic.
pub fn launch(scene: Option<&str>) -> Result<(), String> {
    let loaded = crate::scene::load(scene, &[]).map_err(|e| e.to_string())?;
    let source = scene.unwrap_or("nmc21700_mature").to_string();
    let named = scene.is_some();
    let has_display = |v: &str| std::env::var_os(v).is_some_and(|s| !s.is_empty());
    if cfg!(target_os = "linux") && !has_display("DISPLAY") && !has_display("WAYLAND_DISPLAY") {
        return Err(
            "no display (neither DISPLAY nor WAYLAND_DISPLAY is set): the desktop app needs one. \
             For a headless summary run `celltwin run [SCENE]` (see `celltwin run --help`)"
                .into(),
        );
    }
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(format!("celltwin — {}", loaded.name))
            .with_inner_size([1600.0, 1000.0])
            .with_min_inner_size([900.0, 600.0]),
        renderer: eframe::Renderer::Wgpu,
        ..Default::default()
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        eframe::run_native(
            "celltwin",
            options,
            Box::new(move |cc| {
                let factory = gpu_factory(cc).unwrap_or_else(worker::default_factory);
                let mut app = CellTwinApp::new(loaded, source, factory);
                // A scene named on the command line wins over the last session's.
                if let Some(session) = files::stored_session(cc.storage) {
                    app.restore_session(session, !named);
                }
                Ok(Box::new(app))
            }),
        )
    }));
    match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!(
            "cannot open the app window: {e}. For a headless summary run `celltwin run [SCENE]`"
        )),
        Err(_) => Err("the app window failed to start (see the message above). \
             For a headless summary run `celltwin run [SCENE]`"
            .into()),
    }
}
