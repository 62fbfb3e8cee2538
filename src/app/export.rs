//! Export: the plots as PNG (egui's viewport screenshot, cropped to the central panel, written with
//! the `png` crate) and the summary as JSON + CSV (`summary::write_out_dir`, the CLI's `--out`).

use super::CellTwinApp;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Default)]
/// What the exports need across frames: where the plots are, and the screenshot's outcome.
pub struct ExportState {
    /// The central panel in points, where the plots are.
    pub plots_rect: Option<egui::Rect>,
    /// Filled by the screenshot callback (another thread may write it).
    pub done: Arc<Mutex<Option<Result<PathBuf, String>>>>,
}

/// Write RGBA pixels as a PNG.
pub fn write_png(path: &Path, width: usize, height: usize, rgba: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), width as u32, height as u32);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().map_err(|e| e.to_string())?;
    w.write_image_data(rgba).map_err(|e| e.to_string())?;
    w.finish().map_err(|e| e.to_string())
}

/// Crop a screenshot to a rect in points.
pub fn crop(img: &egui::ColorImage, rect: Option<egui::Rect>, ppp: f32) -> (usize, usize, Vec<u8>) {
    let [w, h] = img.size;
    let (x0, y0, x1, y1) = match rect {
        Some(r) => (
            ((r.left() * ppp).max(0.0) as usize).min(w),
            ((r.top() * ppp).max(0.0) as usize).min(h),
            ((r.right() * ppp).ceil() as usize).min(w),
            ((r.bottom() * ppp).ceil() as usize).min(h),
        ),
        None => (0, 0, w, h),
    };
    let (cw, ch) = (x1.saturating_sub(x0), y1.saturating_sub(y0));
    let mut out = Vec::with_capacity(cw * ch * 4);
    for y in y0..y1 {
        for px in &img.pixels[y * w + x0..y * w + x1] {
            out.extend_from_slice(&px.to_array());
        }
    }
    (cw, ch, out)
}

/// Ask egui for a screenshot of the next frame; the callback writes `<export_dir>/celltwin_plots.png`.
pub fn request_png(app: &mut CellTwinApp, ctx: &egui::Context) {
    let path = PathBuf::from(&app.export_dir).join("celltwin_plots.png");
    let rect = app.export.plots_rect;
    let ppp = ctx.pixels_per_point();
    let done = app.export.done.clone();
    let wake = ctx.clone();
    ctx.request_screenshot(move |img| {
        let (w, h, rgba) = crop(&img, rect, ppp);
        let res = write_png(&path, w, h, &rgba).map(|()| path.clone());
        if let Ok(mut d) = done.lock() {
            *d = Some(res);
        }
        wake.request_repaint();
    });
    app.note("taking a screenshot of the plots…", false);
}

/// summary.json and the CSVs of the current run into the export directory.
pub fn write_summary(app: &mut CellTwinApp) {
    let Some(s) = app.current.clone() else {
        app.note("nothing to export yet", true);
        return;
    };
    let dir = PathBuf::from(&app.export_dir);
    match crate::summary::write_out_dir(&s, &dir) {
        Ok(()) => {
            let what = if app.current_preview {
                " (the preview; the full run is still going)"
            } else {
                ""
            };
            app.note(
                format!("wrote summary.json and CSVs to {}{what}", dir.display()),
                false,
            )
        }
        Err(e) => app.note(format!("cannot write {}: {e}", dir.display()), true),
    }
}

/// Report a finished screenshot in the status bar.
pub fn handle_results(app: &mut CellTwinApp, _ctx: &egui::Context) {
    let res = app.export.done.lock().ok().and_then(|mut d| d.take());
    match res {
        Some(Ok(p)) => app.note(format!("wrote {}", p.display()), false),
        Some(Err(e)) => app.note(format!("PNG export failed: {e}"), true),
        None => {}
    }
}
