//! Scene files in and out of the app, the way a desktop user expects them: native open/save
//! dialogs (rfd) that never block a frame, a scene file dropped on the window, and the session
//! (scene, paths, view choices) kept across launches in eframe's storage.
//!
//! The path field in the top bar stays the way in everywhere: where no dialog can open (Linux
//! with no desktop portal on the session bus — a bare X server, ssh, CI) the dialog buttons are
//! greyed and say so.

use super::CellTwinApp;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

/// What a native dialog was opened for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialogKind {
    /// Pick a scene TOML to load.
    Open,
    /// Pick where to save the edited scene.
    Save,
}

/// The native dialogs: whether they can open here, and the one in flight (at most one).
pub struct Dialogs {
    /// False where no dialog can open; the buttons are greyed and the path field is the way in.
    pub available: bool,
    pending: Option<(DialogKind, mpsc::Receiver<Option<PathBuf>>)>,
}

impl Dialogs {
    /// Dialogs as this machine allows them ([`dialogs_available`]).
    pub fn detect() -> Dialogs {
        Dialogs {
            available: dialogs_available(),
            pending: None,
        }
    }

    /// No dialogs at all (headless tests: a dialog would wait for a user who is not there).
    pub fn none() -> Dialogs {
        Dialogs {
            available: false,
            pending: None,
        }
    }

    /// Whether a dialog is open (its button is greyed until it closes).
    pub fn is_open(&self) -> bool {
        self.pending.is_some()
    }
}

/// Whether a native file dialog can open. Windows and macOS always have one; elsewhere rfd asks
/// the xdg desktop portal over the session D-Bus, so without a session bus there is none.
pub fn dialogs_available() -> bool {
    if cfg!(any(target_os = "windows", target_os = "macos")) {
        return true;
    }
    std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty())
}

/// Open a native dialog. The dialog's future is made here, on the UI thread (macOS wants its
/// panels started there), and awaited on a thread of its own, so no frame waits for the user.
pub fn open_dialog(app: &mut CellTwinApp, kind: DialogKind, ctx: &egui::Context) {
    if !app.dialogs.available || app.dialogs.is_open() {
        return;
    }
    let current = PathBuf::from(&app.file_path);
    let dir = current.parent().filter(|d| d.is_dir()).map_or_else(
        || std::env::current_dir().unwrap_or_default(),
        Path::to_path_buf,
    );
    let dialog = rfd::AsyncFileDialog::new()
        .add_filter("celltwin scene", &["toml"])
        .set_directory(dir);
    let (tx, rx) = mpsc::channel();
    let wake = ctx.clone();
    match kind {
        DialogKind::Open => {
            let task = dialog.pick_file();
            std::thread::spawn(move || {
                let picked = pollster::block_on(task).map(|f| f.path().to_path_buf());
                let _ = tx.send(picked);
                wake.request_repaint();
            });
        }
        DialogKind::Save => {
            let name = current
                .file_name()
                .map_or_else(|| "scene.toml".into(), |n| n.to_string_lossy().into_owned());
            let task = dialog.set_file_name(name).save_file();
            std::thread::spawn(move || {
                let picked = pollster::block_on(task).map(|f| f.path().to_path_buf());
                let _ = tx.send(picked);
                wake.request_repaint();
            });
        }
    }
    app.dialogs.pending = Some((kind, rx));
}

/// Take in a closed dialog's answer: load or save the picked path (a cancel does nothing).
pub fn poll_dialog(app: &mut CellTwinApp) {
    let Some((kind, rx)) = &app.dialogs.pending else {
        return;
    };
    let kind = *kind;
    let answer = match rx.try_recv() {
        Ok(answer) => answer,
        Err(mpsc::TryRecvError::Empty) => return,
        // The dialog thread ended without an answer: the dialog could not open.
        Err(mpsc::TryRecvError::Disconnected) => {
            app.dialogs.pending = None;
            app.note(
                "the file dialog could not open; type the path instead",
                true,
            );
            return;
        }
    };
    app.dialogs.pending = None;
    if let Some(path) = answer {
        app.file_path = path.display().to_string();
        match kind {
            DialogKind::Open => load_file(app, &path),
            DialogKind::Save => save_file(app, &path),
        }
    }
}

/// Load a scene file as the new base scene, or say why not.
pub fn load_file(app: &mut CellTwinApp, path: &Path) {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string());
    load_text(app, path, text);
}

/// Load a scene from its text (read from `path`), or say why not.
fn load_text(app: &mut CellTwinApp, path: &Path, text: Result<String, String>) {
    let shown = path.display().to_string();
    match text.and_then(|t| crate::scene::from_toml_str(&t).map_err(|e| e.to_string())) {
        Ok(s) => {
            app.load_scene(s, shown.clone());
            app.file_path = shown.clone();
            app.note(format!("loaded {shown}"), false);
        }
        Err(e) => app.note(format!("cannot load {shown}: {e}"), true),
    }
}

/// A dropped `.json` is a Battery Parameter eXchange cell: import it onto its nearest preset
/// (`celltwin import-bpx`), and say what came from the preset.
pub fn import_bpx(app: &mut CellTwinApp, path: &Path) {
    let shown = path.display().to_string();
    match crate::bpx::import_file(&shown) {
        Ok(import) => {
            let preset = import.preset;
            app.load_scene(import.scene, format!("{shown} (BPX)"));
            app.note(
                format!(
                    "imported BPX {shown} onto {preset}: capacity, porosity and fill from BPX; \
                     DCIR, K-value and process spreads from the preset (`celltwin import-bpx` \
                     lists every value)"
                ),
                false,
            );
        }
        Err(e) => app.note(format!("cannot import {shown}: {e}"), true),
    }
}

/// Save the edited scene as TOML (the file `celltwin run` reads), or say why not.
pub fn save_file(app: &mut CellTwinApp, path: &Path) {
    let shown = path.display().to_string();
    match toml::to_string(&app.scene)
        .map_err(|e| e.to_string())
        .and_then(|t| std::fs::write(path, t).map_err(|e| e.to_string()))
    {
        Ok(()) => app.note(format!("saved {shown}"), false),
        Err(e) => app.note(format!("cannot save {shown}: {e}"), true),
    }
}

/// A file dropped on the window loads like "Open" (the first, if several are dropped); a `.json`
/// is imported as a BPX cell.
/// While files hover over the window, a banner says what a drop will do.
pub fn handle_drops(app: &mut CellTwinApp, ctx: &egui::Context) {
    let (hovering, dropped) = ctx.input(|i| {
        (
            !i.raw.hovered_files.is_empty(),
            i.raw.dropped_files.first().cloned(),
        )
    });
    if let Some(file) = dropped {
        let path = file.path();
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            import_bpx(app, path);
        } else {
            let text = file
                .bytes()
                .and_then(|b| String::from_utf8(b).map_err(|e| e.to_string()));
            load_text(app, path, text);
        }
    }
    if hovering {
        let screen = ctx.content_rect();
        let painter = ctx.layer_painter(egui::LayerId::new(
            egui::Order::Foreground,
            egui::Id::unique("drop_banner"),
        ));
        painter.rect_filled(screen, 0.0, egui::Color32::from_black_alpha(160));
        painter.text(
            screen.center(),
            egui::Align2::CENTER_CENTER,
            "Drop a scene TOML (or a BPX cell .json) to load it",
            egui::FontId::proportional(24.0),
            egui::Color32::WHITE,
        );
    }
}

/// eframe storage key of the session.
pub const SESSION_KEY: &str = "celltwin_session";

/// What the app keeps across launches. Scenes travel as TOML, the format the files use, so a
/// session from an older build whose scene no longer validates is dropped with a note rather
/// than loaded half-right.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Session {
    /// The scene being edited, as TOML.
    pub scene_toml: String,
    /// The scene as loaded (what "reset" goes back to), as TOML.
    pub base_toml: String,
    /// Where the base came from (built-in name or file).
    pub base_source: String,
    /// The path field of the top bar.
    pub file_path: String,
    /// The export directory field.
    pub export_dir: String,
    /// Histograms on a log share axis.
    pub hist_log: bool,
}

impl CellTwinApp {
    /// The session to keep (eframe calls `save` on exit and every few minutes).
    pub fn session(&self) -> Session {
        Session {
            scene_toml: toml::to_string(&self.scene).unwrap_or_default(),
            base_toml: toml::to_string(&self.base).unwrap_or_default(),
            base_source: self.base_source.clone(),
            file_path: self.file_path.clone(),
            export_dir: self.export_dir.clone(),
            hist_log: self.hist_log,
        }
    }

    /// Take back a kept session: the paths and view choices always, the scenes when `scenes` is
    /// set (a launch without a scene argument) and they still parse and validate.
    pub fn restore_session(&mut self, s: Session, scenes: bool) {
        if !s.file_path.is_empty() {
            self.file_path = s.file_path;
        }
        if !s.export_dir.is_empty() {
            self.export_dir = s.export_dir;
        }
        self.hist_log = s.hist_log;
        if !scenes {
            return;
        }
        let parse = |t: &str| crate::scene::from_toml_str(t).map_err(|e| e.to_string());
        match (parse(&s.base_toml), parse(&s.scene_toml)) {
            (Ok(base), Ok(scene)) => {
                let source = s.base_source;
                self.load_scene(base, source.clone());
                self.scene = scene;
                self.note(
                    format!(
                        "resumed the last session ({source}); the Scene menu has the built-ins"
                    ),
                    false,
                );
            }
            (Err(e), _) | (_, Err(e)) => {
                self.note(
                    format!("the last session's scene was not resumed: {e}"),
                    true,
                );
            }
        }
    }
}

/// The kept session, if eframe has one for this app.
pub fn stored_session(storage: Option<&dyn eframe::Storage>) -> Option<Session> {
    eframe::get_value(storage?, SESSION_KEY)
}
