//! Undo and redo of scene edits (Ctrl+Z, Ctrl+Shift+Z or Ctrl+Y; ⌘ on macOS), with egui's
//! [`Undoer`]: a slider drag or a typed value becomes one undo point once the scene has been
//! still for half a second, so undo steps back over whole edits, not frames of a drag.
//!
//! Loading a scene (built-in, file, drop, session) starts a new history: undo works within one
//! scene's edits, and "reset" on each control goes back to the loaded values.

use crate::scene::Scene;
use egui::util::undoer::{Settings, Undoer};
use egui::{Key, KeyboardShortcut, Modifiers};

/// Redo: Ctrl+Shift+Z (checked before undo, which it would otherwise also match).
pub const REDO: KeyboardShortcut =
    KeyboardShortcut::new(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::Z);
/// Redo, the Windows habit.
pub const REDO_Y: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Y);
/// Undo: Ctrl+Z.
pub const UNDO: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Z);

/// The undo points of the scene being edited.
pub struct History {
    undoer: Undoer<Scene>,
}

impl Default for History {
    fn default() -> History {
        History {
            undoer: Undoer::with_settings(Settings {
                max_undos: 100,
                // A drag pauses for less than this between moves; a finished edit waits longer.
                stable_time: 0.5,
                auto_save_interval: 10.0,
            }),
        }
    }
}

impl History {
    /// Note the scene as it is at `time` (seconds, egui's clock); called once a frame.
    pub fn feed(&mut self, time: f64, scene: &Scene) {
        self.undoer.feed_state(time, scene);
    }

    /// Whether undo would change the scene.
    pub fn can_undo(&self, scene: &Scene) -> bool {
        self.undoer.has_undo(scene)
    }

    /// Whether redo would change the scene.
    pub fn can_redo(&self, scene: &Scene) -> bool {
        self.undoer.has_redo(scene)
    }

    /// Step the scene back one undo point; false if there is none.
    pub fn undo(&mut self, scene: &mut Scene) -> bool {
        match self.undoer.undo(scene) {
            Some(s) => {
                *scene = s.clone();
                true
            }
            None => false,
        }
    }

    /// Step the scene forward again after an undo; false if there is nothing to redo.
    pub fn redo(&mut self, scene: &mut Scene) -> bool {
        match self.undoer.redo(scene) {
            Some(s) => {
                *scene = s.clone();
                true
            }
            None => false,
        }
    }
}

/// Undo/redo by keyboard, unless a text field has the focus (it has its own undo for the text).
pub fn shortcuts(history: &mut History, scene: &mut Scene, ctx: &egui::Context) {
    if ctx.text_edit_focused() {
        return;
    }
    let (redo, undo) = ctx.input_mut(|i| {
        let redo = i.consume_shortcut(&REDO) || i.consume_shortcut(&REDO_Y);
        (redo, !redo && i.consume_shortcut(&UNDO))
    });
    if redo {
        history.redo(scene);
    } else if undo {
        history.undo(scene);
    }
}
