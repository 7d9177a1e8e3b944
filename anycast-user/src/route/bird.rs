//! Telling the node's BIRD the state: an include file,
//! `define ANYCAST_STATE = 0|1|2;` (announce, drain, withdraw), then
//! `birdc configure`; BIRD's export filter prepends on 1 and rejects on 2.
//! BIRD reads the include whenever it starts or is reconfigured, so what
//! it was told survives a restart or a reload.

use std::path::{Path, PathBuf};

use super::{
    control::{RoutingDaemonError, run},
    state::State,
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BirdControl {
    pub include: PathBuf,
    pub socket: PathBuf,
}

impl BirdControl {
    pub async fn tell(&self, state: State) -> Result<(), RoutingDaemonError> {
        write_include(&self.include, state)?;
        let mut birdc = tokio::process::Command::new("birdc");
        birdc.arg("-s").arg(&self.socket).arg("configure");
        let text = run("birdc", &mut birdc).await?;
        if !text.contains("Reconfigured") && !text.contains("Reconfiguration in progress") {
            return Err(RoutingDaemonError::Refused { program: "birdc", output: text });
        }
        Ok(())
    }
}

/// Writes BIRD's include atomically (a half-written file would fail
/// `birdc configure`).
fn write_include(path: &Path, state: State) -> Result<(), RoutingDaemonError> {
    let error = |source| RoutingDaemonError::Include { path: path.to_path_buf(), source };
    let temporary = path.with_extension("tmp");
    let text = format!(
        "# Written by anycastd: 0 announce, 1 drain (prepend), 2 withdraw.\ndefine ANYCAST_STATE = {};\n",
        state.bird_value()
    );
    std::fs::write(&temporary, text).map_err(error)?;
    std::fs::rename(&temporary, path).map_err(error)
}
