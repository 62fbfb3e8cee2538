//! The desktop app (issue 5 builds it out).

/// Open the app on a scene. Until the app lands this says how to run headless.
pub fn launch(_scene: Option<&str>) -> Result<(), String> {
    Err(
        "the desktop app is not part of this build yet; run `celltwin run` for a headless summary"
            .into(),
    )
}
