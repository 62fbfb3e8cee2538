//! The app's colours, in one place: what the controls and the plots both paint with.

use egui::Color32;

/// Colour of a value that differs from the loaded scene.
pub const CHANGED: Color32 = Color32::from_rgb(255, 170, 60);

/// Colours of pinned runs 1 and 2.
pub const PIN_COLOURS: [Color32; 2] = [
    Color32::from_rgb(255, 200, 60),
    Color32::from_rgb(200, 120, 255),
];
/// The current run.
pub const CURRENT: Color32 = Color32::from_rgb(90, 160, 255);
/// True (not measured) values, and gains.
pub const TRUE_COL: Color32 = Color32::from_rgb(170, 220, 170);
/// Scrap and losses.
pub const SCRAP: Color32 = Color32::from_rgb(220, 60, 50);
/// Spec limits.
pub const LIMIT: Color32 = Color32::from_rgb(240, 90, 80);
